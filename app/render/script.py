"""Pieces of the exported scripts: Python literals of validated numbers, laid out as ruff formats
them, and the parts both scripts share (data, settings, state buffers).

Generated code holds only numbers (``repr`` of validated floats and ints, which round-trips) and
names from fixed tables (activations, losses, optimizers, buffers): never a string of a request.
"""

from collections.abc import Sequence
from itertools import pairwise

from app.schemas.base import as_rows
from app.schemas.export import DATA_FILENAME
from app.schemas.network import Network
from app.schemas.training import TrainRequest

LINE_LENGTH = 100
"""ruff's line length in this project, which the scripts are checked with."""
INDENT = "    "
INPUTS, TARGETS = 'data["inputs"]', 'data["targets"]'

Value = float | int | bool | None | Sequence["Value"]


def number(value: float | int | bool | None) -> str:
    """A number as Python source that reads back as the same value (None and booleans too)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _inline(value: Value) -> str:
    """``value`` on one line."""
    if value is None or isinstance(value, float | int | bool):
        return number(value)
    items = ", ".join(_inline(item) for item in value)
    return f"({items})" if isinstance(value, tuple) else f"[{items}]"


def literal(value: Value, indent: int = 0, taken: int = 0, after: int = 0) -> str:
    """``value`` as ruff formats it: on one line when it fits after ``taken`` characters at
    ``indent`` levels and before ``after`` more, else one item per line with a trailing comma."""
    inline = _inline(value)
    if value is None or isinstance(value, float | int | bool):
        return inline
    if len(INDENT) * indent + taken + len(inline) + after <= LINE_LENGTH:
        return inline
    inner = INDENT * (indent + 1)
    items = "".join(f"{inner}{literal(item, indent + 1, 0, 1)},\n" for item in value)
    opening, closing = ("(", ")") if isinstance(value, tuple) else ("[", "]")
    return f"{opening}\n{items}{INDENT * indent}{closing}"


def call(function: str, value: Value, indent: int = 0, taken: int = 0, after: int = 0) -> str:
    """``function(value)`` as ruff formats it: on one line when it fits, else the argument on
    lines of its own."""
    inline = f"{function}({_inline(value)})"
    if len(INDENT) * indent + taken + len(inline) + after <= LINE_LENGTH:
        return inline
    argument = literal(value, indent + 1)
    return f"{function}(\n{INDENT * (indent + 1)}{argument}\n{INDENT * indent})"


def assign(name: str, value: Value) -> str:
    """``name = value`` at module level."""
    return f"{name} = {literal(value, 0, len(name) + 3)}"


def state_dict(network: Network) -> dict[str, Value]:
    """The network's parameters by PyTorch state_dict name: layer k's Linear is module 2k of the
    nn.Sequential and its activation module 2k + 1 (nn.Identity for identity)."""
    names: dict[str, Value] = {}
    for index, layer in enumerate(network.layers):
        names[f"{2 * index}.weight"] = layer.weights
        names[f"{2 * index}.bias"] = layer.bias
    return names


def dict_literal(values: dict[str, Value], indent: int = 0) -> str:
    """A dict of fixed string keys (state_dict or buffer names) to values, one key per line."""
    inner = INDENT * (indent + 1)
    lines = [
        f'{inner}"{key}": {literal(value, indent + 1, len(key) + 4, 1)},'
        for key, value in values.items()
    ]
    return "{\n" + "\n".join(lines) + "\n" + INDENT * indent + "}"


def data_lines(
    request: TrainRequest, include: bool, names: tuple[str, str], array: str, from_file: str
) -> list[str]:
    """The lines that define the inputs and targets (``names``, rows, one per sample): embedded
    numbers given to ``array``, or the data file's lists put into ``from_file`` (a format string
    that makes a 2-D float64 array of ``{}``)."""
    x, t = names
    if include:
        return [
            "# The data: one row per sample.",
            f"{x} = {call(array, as_rows(request.inputs), 0, len(x) + 3)}",
            f"{t} = {call(array, as_rows(request.targets), 0, len(t) + 3)}",
        ]
    return [
        f'# The data: {{"inputs": ..., "targets": ...}} from {DATA_FILENAME} next to this script,',
        "# or from the file named as its first argument; one row per sample.",
        f"DATA_FILE = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("
        f'"{DATA_FILENAME}")',
        "data = json.loads(DATA_FILE.read_text())",
        f"{x} = {from_file.format(INPUTS)}",
        f"{t} = {from_file.format(TARGETS)}",
    ]


def join(blocks: list[str]) -> str:
    """The script of top-level ``blocks`` (statements, or definitions): two blank lines around a
    definition, one between statements, as ruff formats them."""
    parts = [block.strip("\n") for block in blocks if block.strip("\n")]
    text = parts[0]
    for before, after in pairwise(parts):
        defines = any(line.startswith("def ") for line in f"{before}\n{after}".split("\n"))
        text += ("\n\n\n" if defines else "\n\n") + after
    return text + "\n"
