"""Worked solutions in Markdown with KaTeX-compatible LaTeX between ``$``.

Layers and units are numbered from 1 as on a blackboard: ``w^{(1)}_{13}`` is layer 1's weight
from input 3 to unit 1 (the JSON's ``layers[0].weights[0][2]``). Each stage is a heading, each
layer a subheading and each step one list item: its formula, the numbers substituted (rounded
to ``digits`` significant digits) and the result, then its note in words.
"""

from collections.abc import Iterable

from app.nn.explain_steps import Elided, Entry, Step
from app.nn.expr import Apply, Expr, Sym, Value
from app.render.explain.shared import ATOM, STAGE_TITLES, elision, precedence, rounded, shown_terms

GREEK = {
    "lr": r"\eta",
    "momentum": r"\mu",
    "dampening": r"\tau",
    "weight_decay": r"\lambda",
    "beta1": r"\beta_1",
    "beta2": r"\beta_2",
    "eps": r"\epsilon",
    "step": "k",
    "bc1": "c_1",
    "bc2": "c_2",
    "L": "L",
    "penalty": r"\Omega",
    "rate": r"\mathrm{rate}",
}
BUFFERS = {"g": "g", "buf": r"\mathrm{buf}", "m": "m", "v": "v", "vmax": r"\hat{v}"}
CALLS = {"exp": "e^", "log": r"\log", "tanh": r"\tanh"}


def number(value: float, digits: int) -> str:
    """``value`` rounded, in LaTeX (``1.5\\times 10^{-7}`` for small and large magnitudes)."""
    mantissa, exponent = rounded(value, digits)
    return mantissa if exponent is None else rf"{mantissa}\times 10^{{{exponent}}}"


def _sub(index: tuple[int, ...]) -> str:
    comma = "," if any(i >= 9 for i in index) else ""
    return "_{" + comma.join(str(i + 1) for i in index) + "}"


def _param(sym: Sym) -> str:
    base = "w" if len(sym.index) == 2 else "b"
    return f"{base}^{{({(sym.layer or 0) + 1})}}{_sub(sym.index)}"


def _partial(of: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {of}}}"


def symbol(sym: Sym) -> str:
    """The LaTeX name of ``sym``: ``z^{(1)}_{1}``, ``\\delta^{(2)}_{1}``, ``\\eta``."""
    layer = "" if sym.layer is None else f"^{{({sym.layer + 1})}}"
    match sym.name:
        case "x" | "t":
            text = f"{sym.name}{_sub(sym.index)}"
        case "z" | "a":
            text = f"{sym.name}{layer}{_sub(sym.index)}"
        case "delta":
            text = rf"\delta{layer}{_sub(sym.index)}"
        case "da":
            text = _partial(f"a{layer}{_sub(sym.index)}")
        case "w" | "b":
            text = _param(sym)
        case "gw" | "gb":
            text = _partial(_param(sym))
        case "g" | "buf" | "m" | "v" | "vmax":
            text = f"{BUFFERS[sym.name]}_{{{_param(sym)}}}"
        case _:
            text = GREEK[sym.name]
    return text if sym.sample is None else f"{{{text}}}^{{[{sym.sample + 1}]}}"


def expression(expr: Expr, values: bool, digits: int, bare: bool = False) -> str:
    """``expr`` in LaTeX with its operands' names, or (``values``) their rounded numbers; a
    negative number is put in parentheses unless ``bare`` (a function's argument)."""
    if isinstance(expr, Value):
        if expr.sym is not None and not values:
            return symbol(expr.sym)
        text = number(expr.value, digits)
        return f"({text})" if text.startswith("-") and not bare else text
    calls = expr.op in CALLS or expr.op in ("max", "abs", "sqrt")
    args = [expression(arg, values, digits, calls) for arg in expr.args]

    def wrapped(k: int, tighter: int) -> str:
        if precedence(expr.args[k]) < tighter:
            return rf"\left({args[k]}\right)"
        return args[k]

    match expr.op:
        case "add":
            return _sum(expr, values, digits)
        case "sub":
            return f"{args[0]} - {wrapped(1, 2)}"
        case "mul":
            return r" \cdot ".join(wrapped(k, 2) for k in range(len(args)))
        case "div":
            return rf"\frac{{{args[0]}}}{{{args[1]}}}"
        case "neg":
            return f"-{wrapped(0, 4)}"
        case "square" | "pow":
            power = "2" if expr.op == "square" else args[1]
            return f"{{{wrapped(0, ATOM)}}}^{{{power}}}"
        case "sqrt":
            return rf"\sqrt{{{args[0]}}}"
        case "max":
            return rf"\max\left({args[0]}, {args[1]}\right)"
        case "abs":
            return rf"\left|{args[0]}\right|"
        case "exp":
            return f"e^{{{args[0]}}}"
    return rf"{CALLS[expr.op]}\left({args[0]}\right)"


def _sum(expr: Apply, values: bool, digits: int) -> str:
    head, last = shown_terms(expr)
    terms = [expression(term, values, digits) for term in head]
    if last is not None:
        terms += [r"\dots", expression(last, values, digits)]
    return " + ".join(terms)


def formula(step: Step, digits: int) -> str:
    """The LaTeX of one step: ``target = formula = numbers = result`` (or ``←`` for updates)."""
    text = symbol(step.target) + (r" \leftarrow " if step.assign else " = ")
    text += expression(step.formula, False, digits)
    if isinstance(step.formula, Apply):
        text += " = " + expression(step.formula, True, digits)
    return text + f" = {number(step.result, digits)}"


def item(step: Entry, digits: int) -> str:
    """One list item: a step's formula between ``$`` and its note, or the words for the steps
    of a run left out."""
    if isinstance(step, Elided):
        return "- " + elision(step, f"${symbol(step.first)}$", f"${symbol(step.last)}$")
    note = f" — {step.note}" if step.note else ""
    return f"- ${formula(step, digits)}${note}"


def render(steps: Iterable[Entry], digits: int, title: str = "Worked solution") -> str:
    """The whole worked solution as a Markdown document."""
    out = [f"# {title}"]
    stage, section = None, None
    for step in steps:
        if step.stage != stage:
            stage, section = step.stage, None
            out += ["", f"## {STAGE_TITLES[step.stage]}"]
        if step.section and step.section != section:
            section = step.section
            out += ["", f"### {step.section}"]
        if not out[-1].startswith("- "):
            out.append("")
        out.append(item(step, digits))
    return "\n".join(out) + "\n"
