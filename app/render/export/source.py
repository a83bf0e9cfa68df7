"""Python source as ruff formats it, for the exported scripts: literals of validated numbers
(shortest forms that read back as the same values), calls, assignments and whole scripts laid
out to pass ``ruff format --check`` with the project's settings."""

from collections.abc import Sequence

import orjson

LINE_LENGTH = 100
"""ruff's line length in this project, which the scripts are checked with."""
INDENT = "    "

PythonValue = float | int | bool | None | Sequence["PythonValue"]
"""A value a script writes as a literal: a number, None, a boolean, or a list or tuple of them
(not the engine's :class:`app.nn.expr.Value`, a number in a formula)."""


def number(value: float | int | bool | None) -> str:
    """A number as Python source that reads back as the same value (None and booleans too):
    ``repr``, the shortest form that round-trips (validated numbers are Python floats and ints),
    with the exponent's sign dropped when it is ``+`` as ruff formats it (``1e308``)."""
    return repr(value).replace("e+", "e")


def _is_scalar(value: PythonValue) -> bool:
    return value is None or isinstance(value, float | int | bool)


def _numbers(values: Sequence[PythonValue]) -> list[str]:
    """A row of numbers as Python literals. A list of validated floats (or of ints: a row is
    never mixed) goes through orjson, which writes the same shortest round-trip forms as
    ``repr`` (``1e-7`` for ``1e-07``) 20 times as fast: that is what a large data set costs."""
    if isinstance(values, list) and values and type(values[0]) in (float, int):
        return orjson.dumps(values)[1:-1].decode().replace("e+", "e").split(",")
    return [number(value) for value in values]  # type: ignore[arg-type]


def _inline(value: PythonValue) -> str:
    """``value`` on one line."""
    if value is None or isinstance(value, float | int | bool):
        return number(value)
    if not value or _is_scalar(value[0]):
        items = ", ".join(_numbers(value))
    else:
        items = ", ".join(_inline(item) for item in value)
    return f"({items})" if isinstance(value, tuple) else f"[{items}]"


def literal(value: PythonValue, indent: int = 0, taken: int = 0, after: int = 0) -> str:
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


def call(function: str, value: PythonValue, indent: int = 0, taken: int = 0, after: int = 0) -> str:
    """``function(value)`` as ruff formats it: on one line when it fits, else the argument on
    lines of its own."""
    inline = f"{function}({_inline(value)})"
    if len(INDENT) * indent + taken + len(inline) + after <= LINE_LENGTH:
        return inline
    argument = literal(value, indent + 1)
    return f"{function}(\n{INDENT * (indent + 1)}{argument}\n{INDENT * indent})"


def assign(name: str, value: PythonValue) -> str:
    """``name = value`` at module level."""
    return f"{name} = {literal(value, 0, len(name) + 3)}"


def dict_literal(values: dict[str, PythonValue], indent: int = 0) -> str:
    """A dict of fixed string keys (state_dict or buffer names) to values, one key per line."""
    inner = INDENT * (indent + 1)
    lines = [
        f'{inner}"{key}": {literal(value, indent + 1, len(key) + 4, 1)},'
        for key, value in values.items()
    ]
    return "{\n" + "\n".join(lines) + "\n" + INDENT * indent + "}"


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
