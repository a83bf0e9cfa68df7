"""The worked solution as JSON: each step as ExplainStep's JSON, or the steps of a run left out
as ExplainElision's, with the names and formulas of the text format and exact values."""

from collections.abc import Iterable
from typing import Any

import orjson

from app.nn.explain_steps import Elided, Entry
from app.nn.expr import operands
from app.render.explain import text


def step(entry: Entry, digits: int) -> dict[str, Any]:
    """One step as ExplainStep's JSON (names as in the text format, values exact), or the steps
    of a run left out as ExplainElision's."""
    if isinstance(entry, Elided):
        return {
            "id": entry.id,
            "stage": entry.stage,
            "section": entry.section,
            "what": entry.what,
            "first": text.symbol(entry.first),
            "last": text.symbol(entry.last),
            "elided_items": entry.items,
            "elided_steps": entry.steps,
            "note": text.line(entry, digits),
        }
    return {
        "id": entry.id,
        "stage": entry.stage,
        "section": entry.section,
        "symbol": text.symbol(entry.target),
        "formula": text.expression(entry.formula, False, digits),
        "operands": [
            {"symbol": text.symbol(value.sym), "value": value.value}
            for value in operands(entry.formula)
            if value.sym is not None
        ],
        "result": entry.result,
        "note": entry.note,
    }


def render(steps: Iterable[Entry], digits: int) -> bytes:
    """ExplainResponse's JSON, each step serialized as it comes: the bytes orjson writes for the
    whole answer at once, without holding every step's dict."""
    return b'{"steps":[' + b",".join(orjson.dumps(step(s, digits)) for s in steps) + b"]}"
