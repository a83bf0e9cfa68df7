"""What the Markdown and text renderings share: stage titles, precedence and number rounding."""

from app.nn.explain_steps import Elided, Stage
from app.nn.expr import Apply, Expr, Value

STAGE_TITLES: dict[Stage, str] = {
    "forward": "Forward pass",
    "loss": "Loss",
    "output_delta": "Output delta",
    "backward": "Backward pass",
    "update": "Update",
}
PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "square": 4, "pow": 4}
ATOM = 5
"""The precedence of numbers, names and function calls: they never need parentheses."""


def precedence(expr: Expr) -> int:
    """How tightly ``expr`` binds: an operand of a tighter operation needs parentheses."""
    if isinstance(expr, Value):
        return ATOM
    return PRECEDENCE.get(expr.op, ATOM)


def rounded(value: float, digits: int) -> tuple[str, str | None]:
    """``value`` to ``digits`` significant digits: the mantissa and the power of ten, if any."""
    text = f"{value:.{digits}g}"
    if "e" not in text:
        return text, None
    mantissa, exponent = text.split("e")
    return mantissa, str(int(exponent))


def elision(entry: Elided, first: str, last: str) -> str:
    """The words for the items of a run left out, ``first`` and ``last`` naming the first and
    the last of them."""
    names = first if entry.items == 1 else f"{first} to {last}"
    more = f"{entry.items:,} more" + (" of the" if entry.items == 1 else "")
    steps = f"{entry.steps:,} step" + ("" if entry.steps == 1 else "s")
    return (
        f"… {more} {entry.what} ({names}), {entry.how}: {steps} not written out "
        "(a larger max_steps writes them)"
    )


def shown_terms(expr: Apply) -> tuple[list[Expr], Expr | None]:
    """A sum's terms before the elision mark, and the last term after it (if terms are elided)."""
    if not expr.elided:
        return list(expr.args), None
    return list(expr.args[:-1]), expr.args[-1]
