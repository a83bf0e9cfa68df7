"""A student's values, keyed by /check's paths (``layers[0].z``, ``network.layers[1].bias``), as
/check's ``claimed``. The standard library alone: the exercise notebook carries this module's
source in its check() cell, and ``backprop grade`` uses it as it is, so both read a student's
values the same way. A blank is ``...`` (Python's Ellipsis), alone or anywhere in a list.

/check judges a number at the precision it is written with, and a float forgets its trailing
zeros (``0.470`` is ``0.47``): so each number is read from the text of the cell that assigns it,
as a ``Decimal`` of that text, which the client sends as written."""

import ast
import json
from decimal import Decimal, InvalidOperation
from typing import Any


def filled(value: object) -> bool:
    """Whether a value holds no blank: a number, or lists of numbers with no ``...``."""
    if value is ...:
        return False
    if isinstance(value, list):
        return bool(value) and all(filled(item) for item in value)
    return True


def claimed_from(values: dict[str, object]) -> dict[str, object]:
    """The filled values as /check's ``claimed``: ``{"layers[1].z": v}`` becomes
    ``{"layers": [{}, {"z": v}]}``; a value with a blank is left out."""
    claimed: dict[str, object] = {}
    for path, value in values.items():
        if not filled(value):
            continue
        parts = path.replace("]", "").replace("[", ".").split(".")
        owner: dict[str, object] = claimed
        for at, part in enumerate(parts[:-1]):
            if part.isdigit():
                continue
            if parts[at + 1].isdigit():
                index = int(parts[at + 1])
                items = owner.setdefault(part, [])
                assert isinstance(items, list)
                items.extend({} for _ in range(index + 1 - len(items)))
                owner = items[index]
            else:
                inner = owner.setdefault(part, {})
                assert isinstance(inner, dict)
                owner = inner
        owner[parts[-1]] = value
    return claimed


def _written(node: ast.expr, source: str) -> Any:
    """A literal's value with each number a ``Decimal`` of its text (``...`` stays a blank);
    ValueError for anything else."""
    if isinstance(node, ast.List | ast.Tuple):
        return [_written(item, source) for item in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _written(node.operand, source)
        if isinstance(value, Decimal):
            return value.copy_negate() if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant):
        if node.value is ...:
            return ...
        if isinstance(node.value, int | float) and not isinstance(node.value, bool):
            try:
                return Decimal(ast.get_source_segment(source, node) or "")
            except InvalidOperation:
                return node.value  # 0x10, 1e400: the number Python reads
    raise ValueError("not a literal of numbers")


def values_of(source: str) -> dict[str, Any]:
    """The values a notebook's code cell assigns (``values["path"] = literal``), each number as
    written; a statement that is not such an assignment of a literal is skipped, a cell that is
    not Python too."""
    found: dict[str, Any] = {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and target.value.id == "values"
            and isinstance(target.slice, ast.Constant)
            and isinstance(target.slice.value, str)
        ):
            try:
                found[target.slice.value] = _written(node.value, source)
            except (ValueError, RecursionError):
                try:
                    found[target.slice.value] = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    continue
    return found


def _same(written: Any, value: Any) -> bool:
    """Whether a value as written is the value held (a later cell may have changed it)."""
    if isinstance(written, list) and isinstance(value, list | tuple):
        return len(written) == len(value) and all(map(_same, written, value))
    if isinstance(written, Decimal) and isinstance(value, int | float):
        return float(written) == value
    return written is value or (type(written) is type(value) and written == value)


def as_written(values: dict[str, Any], sources: list[str]) -> dict[str, Any]:
    """``values`` with each number as written in ``sources``, the cells run in order (IPython's
    ``In``): the last cell that assigns a path gives its text when it holds the same numbers;
    a value assigned otherwise stays as it is."""
    written: dict[str, Any] = {}
    for source in sources:
        written |= values_of(source)
    return {
        path: written[path] if path in written and _same(written[path], value) else value
        for path, value in values.items()
    }


def json_text(value: Any) -> str:
    """``value`` as JSON, a ``Decimal`` as its text (the standard library writes no Decimal)."""
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else "null"
    if isinstance(value, dict):
        items = (f"{json.dumps(str(key))}: {json_text(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(json_text(item) for item in value) + "]"
    return json.dumps(value)
