"""Pieces of the exported scripts: Python literals of validated numbers, laid out as ruff formats
them, and the parts both scripts share (data, settings, state buffers).

Generated code holds only numbers (validated floats and ints in their shortest form that reads
back as the same value) and names from fixed tables (activations, losses, optimizers, buffers):
never a string of a request.
"""

from collections.abc import Sequence

import orjson

from app.schemas.base import as_rows
from app.schemas.export import DATA_FILENAME, DATA_KEYS, FILENAMES, NetworkExport, TrainExport
from app.schemas.network import Network

LINE_LENGTH = 100
"""ruff's line length in this project, which the scripts are checked with."""
INDENT = "    "
INPUTS, TARGETS = 'data["inputs"]', 'data["targets"]'
VALIDATION_INPUTS, VALIDATION_TARGETS = 'held_out["inputs"]', 'held_out["targets"]'

Value = float | int | bool | None | Sequence["Value"]


def number(value: float | int | bool | None) -> str:
    """A number as Python source that reads back as the same value (None and booleans too):
    ``repr``, the shortest form that round-trips (validated numbers are Python floats and ints),
    with the exponent's sign dropped when it is ``+`` as ruff formats it (``1e308``)."""
    return repr(value).replace("e+", "e")


def _is_scalar(value: Value) -> bool:
    return value is None or isinstance(value, float | int | bool)


def _numbers(values: Sequence[Value]) -> list[str]:
    """A row of numbers as Python literals. A list of validated floats (or of ints: a row is
    never mixed) goes through orjson, which writes the same shortest round-trip forms as
    ``repr`` (``1e-7`` for ``1e-07``) 20 times as fast: that is what a large data set costs."""
    if isinstance(values, list) and values and type(values[0]) in (float, int):
        return orjson.dumps(values)[1:-1].decode().replace("e+", "e").split(",")
    return [number(value) for value in values]  # type: ignore[arg-type]


def _inline(value: Value) -> str:
    """``value`` on one line."""
    if value is None or isinstance(value, float | int | bool):
        return number(value)
    if not value or _is_scalar(value[0]):
        items = ", ".join(_numbers(value))
    else:
        items = ", ".join(_inline(item) for item in value)
    return f"({items})" if isinstance(value, tuple) else f"[{items}]"


def literal(value: Value, indent: int = 0, taken: int = 0, after: int = 0) -> str:
    """``value`` as ruff formats it: on one line when it fits after ``taken`` characters at
    ``indent`` levels and before ``after`` more, else one item per line with a trailing comma."""
    if value is None or isinstance(value, float | int | bool):
        return number(value)
    flat = not value or _is_scalar(value[0])
    parts = _numbers(value) if flat else [_inline(item) for item in value]
    opening, closing = ("(", ")") if isinstance(value, tuple) else ("[", "]")
    inline = f"{opening}{', '.join(parts)}{closing}"
    if len(INDENT) * indent + taken + len(inline) + after <= LINE_LENGTH:
        return inline
    inner = INDENT * (indent + 1)
    room = LINE_LENGTH - len(inner) - 1
    lines = [
        part if len(part) <= room else literal(item, indent + 1, 0, 1)
        for item, part in zip(value, parts, strict=True)
    ]
    items = "".join(f"{inner}{line},\n" for line in lines)
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


PRINTS = """Prints one JSON line per recorded epoch, {"epoch": e, "loss": ...} (the mean of the
epoch's batch losses, each computed before its batch's update), then how the run ended,
{"status": ..., "epochs_run": ..., "final_loss": ...} as in /train's answer, then the network
as one JSON line in the API's network format. A number that is not finite is printed as null.
Like /train it stops at the first epoch whose updates make the network not finite (a z or the
loss on the data, or the optimizer's state, overflows or is NaN), goes back to the network
before that epoch, prints that epoch's line if it was not printed, and ends with status
diverged and diverged_at_epoch."""
VALIDATES = """With validation data each epoch line also holds validation_loss (and
validation_accuracy for the classification losses) of the parameters at the epoch's start,
null if not finite, and the end line final_validation_loss (and final_validation_accuracy), and
best_epoch with patience: the network printed is the best one when the run early_stopped."""
NETWORK_ONLY = "Prints the network as one JSON line in the API's network format."


def prints(request: TrainExport | NetworkExport) -> str:
    """What the script prints, for its docstring."""
    if isinstance(request, NetworkExport):
        return NETWORK_ONLY
    return PRINTS if request.validation is None else f"{PRINTS}\n{VALIDATES}"


def header(request: TrainExport | NetworkExport, title: str, needs: str, imports: str) -> str:
    """The script's docstring (``title``, then how to run it and what it prints) and its
    imports: json, math when it trains (to print a number that is not finite as null), sys and
    pathlib when it reads a data file, then ``imports``."""
    reads_file = isinstance(request, TrainExport) and not request.include_data
    run = f"Exported by backprop-api (POST /export). Needs {needs} only: python "
    lines = [
        f'"""{title}',
        "",
        run + FILENAMES[request.format],
        prints(request),
        '"""',
        "",
        "import json",
        *(["import math"] if isinstance(request, TrainExport) else []),
        *(["import sys", "from pathlib import Path"] if reads_file else []),
        "",
        imports,
    ]
    return "\n".join(lines)


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
    request: TrainExport, names: tuple[str, str, str, str], array: str, from_file: str
) -> list[str]:
    """The lines that define the inputs and targets, then the validation inputs and targets if
    any (``names``, rows, one per sample): embedded numbers given to ``array``, or the data
    file's lists put into ``from_file`` (a format string that makes a 2-D float64 array of
    ``{}``)."""
    x, t, x_val, t_val = names
    validation = request.validation
    if request.include_data:
        lines = [
            "# The data: one row per sample.",
            f"{x} = {call(array, as_rows(request.inputs), 0, len(x) + 3)}",
            f"{t} = {call(array, as_rows(request.targets), 0, len(t) + 3)}",
        ]
        if validation is not None:
            lines += [
                "# The validation data: the network is measured on it, never trained on it.",
                f"{x_val} = {call(array, as_rows(validation.inputs), 0, len(x_val) + 3)}",
                f"{t_val} = {call(array, as_rows(validation.targets), 0, len(t_val) + 3)}",
            ]
        return lines
    keys = ", ".join(f'"{key}"' for key in DATA_KEYS if key != "validation" or validation)
    lines = [
        f"# The data: {keys} as in a /train body, from {DATA_FILENAME} next to this",
        "# script or from the file named as its first argument; one row per sample.",
        f"DATA_FILE = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("
        f'"{DATA_FILENAME}")',
        "data = json.loads(DATA_FILE.read_text())",
        f"{x} = {from_file.format(INPUTS)}",
        f"{t} = {from_file.format(TARGETS)}",
    ]
    if validation is not None:
        lines += [
            'held_out = data["validation"]  # the validation data',
            f"{x_val} = {from_file.format(VALIDATION_INPUTS)}",
            f"{t_val} = {from_file.format(VALIDATION_TARGETS)}",
        ]
    return lines


NOT_FINITE = '''

class NonFiniteError(Exception):
    """A z or the loss (or the optimizer's state) is not finite, float64 overflow or NaN: the
    updates of the epoch under way diverged, and the run stops there as /train does."""
'''
"""The exception that ends a run that diverged, in both scripts."""

SHOW = '''

def show(line{line_type}){returns}:
    """Print a line of JSON, a number that is not finite as null as /train writes it (JSON has
    no NaN or Infinity)."""
    values = {{
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in line.items()
    }}
    print(json.dumps(values))
'''
"""The function both scripts print their epoch and end lines with (``line_type`` and
``returns``: the PyTorch script's annotations)."""


def stop_lines(request: TrainExport) -> list[str]:
    """The stopping rules on the validation loss as constants, with validation data only."""
    if request.validation is None:
        return []
    stop = request.stop
    patience = f"PATIENCE = {stop.patience if stop else None}"
    return [
        assign("VALIDATION_LOSS_BELOW", stop.validation_loss_below if stop else None),
        f"{patience}  # early stopping: epochs in a row with no lower validation loss",
    ]


def join(blocks: list[str]) -> str:
    """The script of top-level ``blocks`` (statements, or definitions of functions and classes):
    two blank lines around a definition, one between statements, as ruff formats them."""
    parts = [block.strip("\n") for block in blocks if block.strip("\n")]
    defines = [any(f"\n{word} " in f"\n{part}" for word in ("def", "class")) for part in parts]
    pieces = [parts[0]]
    for index in range(1, len(parts)):
        pieces.append("\n\n\n" if defines[index - 1] or defines[index] else "\n\n")
        pieces.append(parts[index])
    return "".join(pieces) + "\n"
