"""Worked solutions in plain Unicode for a terminal: ``z1[0] = W1[0,0]·x[0] + … = 0.1·(−1) + …``.

Layers are numbered from 1 (the inputs are layer 0), units from 0 as in NumPy: ``W1[0,2]`` is
layer 1's weight from input 2 to unit 0. Numbers are rounded to ``digits`` significant digits;
negative ones are put in parentheses, so every right-hand side is an expression a calculator reads.
"""

from collections.abc import Iterable

from app.nn.explain_steps import Elided, Entry
from app.nn.expr import Apply, Expr, Sym, Value
from app.render.explain.shared import ATOM, STAGE_TITLES, elision, precedence, rounded, shown_terms

GREEK = {
    "lr": "η",
    "momentum": "μ",
    "dampening": "τ",
    "weight_decay": "λ",
    "beta1": "β1",
    "beta2": "β2",
    "eps": "ε",
    "step": "k",
    "bc1": "c1",
    "bc2": "c2",
    "L": "L",
    "penalty": "Ω",
    "rate": "rate",
}
CALLS = {"sqrt": "√", "exp": "exp", "log": "log", "tanh": "tanh"}


def number(value: float, digits: int) -> str:
    """``value`` rounded, with a Unicode minus (``1.5e−07`` for small and large magnitudes)."""
    mantissa, exponent = rounded(value, digits)
    text = mantissa if exponent is None else f"{mantissa}e{exponent}"
    return text.replace("-", "−")


def _index(index: tuple[int, ...]) -> str:
    return "[" + ",".join(str(i) for i in index) + "]"


def _param(sym: Sym) -> str:
    base = "W" if len(sym.index) == 2 else "b"
    return f"{base}{(sym.layer or 0) + 1}{_index(sym.index)}"


def symbol(sym: Sym) -> str:
    """The plain name of ``sym``: ``z1[0]``, ``W2[0,1]``, ``∂L/∂b1[0]``, ``m(W1[0,0])``, ``η``."""
    layer = "" if sym.layer is None else str(sym.layer + 1)
    match sym.name:
        case "x" | "t":
            text = f"{sym.name}{_index(sym.index)}"
        case "z" | "a":
            text = f"{sym.name}{layer}{_index(sym.index)}"
        case "delta":
            text = f"δ{layer}{_index(sym.index)}"
        case "da":
            text = f"∂L/∂a{layer}{_index(sym.index)}"
        case "w" | "b":
            text = _param(sym)
        case "gw" | "gb":
            text = f"∂L/∂{_param(sym)}"
        case "g" | "buf" | "m" | "v" | "vmax":
            text = f"{sym.name}({_param(sym)})"
        case _:
            text = GREEK[sym.name]
    return text if sym.sample is None else f"{text}(s{sym.sample})"


def expression(expr: Expr, values: bool, digits: int, bare: bool = False) -> str:
    """``expr`` with its operands' names, or (``values``) with their rounded numbers; a negative
    number is put in parentheses unless ``bare`` (a function's argument)."""
    if isinstance(expr, Value):
        if expr.sym is not None and not values:
            return symbol(expr.sym)
        text = number(expr.value, digits)
        return f"({text})" if text.startswith("−") and not bare else text
    calls = expr.op in CALLS or expr.op in ("max", "abs", "sqrt")
    args = [expression(arg, values, digits, calls) for arg in expr.args]

    def wrapped(k: int, tighter: int) -> str:
        return f"({args[k]})" if precedence(expr.args[k]) < tighter else args[k]

    match expr.op:
        case "add":
            return _sum(expr, values, digits)
        case "sub":
            return f"{args[0]} − {wrapped(1, 2)}"
        case "mul":
            return "·".join(wrapped(k, 2) for k in range(len(args)))
        case "div":
            return f"{wrapped(0, 2)}/{wrapped(1, ATOM)}"
        case "neg":
            return f"−{wrapped(0, 4)}"
        case "square":
            return f"{wrapped(0, ATOM)}²"
        case "pow":
            return f"{wrapped(0, ATOM)}^{wrapped(1, ATOM)}"
        case "max":
            return f"max({args[0]}, {args[1]})"
        case "abs":
            return f"|{args[0]}|"
    return f"{CALLS[expr.op]}({args[0]})"


def _sum(expr: Apply, values: bool, digits: int) -> str:
    head, last = shown_terms(expr)
    terms = [expression(term, values, digits) for term in head]
    if last is not None:
        terms += ["…", expression(last, values, digits)]
    return " + ".join(terms)


def line(step: Entry, digits: int) -> str:
    """One step: ``target = formula = numbers = result`` (an operand alone is not repeated as a
    number), then its note in parentheses; or the words for the steps of a run left out."""
    if isinstance(step, Elided):
        return elision(step, symbol(step.first), symbol(step.last))
    text = symbol(step.target) + (" ← " if step.assign else " = ")
    text += expression(step.formula, False, digits)
    if isinstance(step.formula, Apply):
        text += " = " + expression(step.formula, True, digits)
    text += f" = {number(step.result, digits)}"
    return f"{text}   ({step.note})" if step.note else text


def render(steps: Iterable[Entry], digits: int) -> str:
    """The whole worked solution: a title per stage, a subtitle per layer, one line per step."""
    out: list[str] = []
    stage, section = None, None
    for step in steps:
        if step.stage != stage:
            stage, section = step.stage, None
            title = STAGE_TITLES[step.stage]
            out += [*([""] if out else []), title, "=" * len(title)]
        if step.section and step.section != section:
            section = step.section
            out += ["", section, "-" * len(section)]
        out.append(line(step, digits))
    return "\n".join(out) + "\n"
