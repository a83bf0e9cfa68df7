"""Expressions of a worked solution: named numbers combined by a few operations.

An expression is a tree whose leaves are :class:`Value` (a number, with the :class:`Sym` that
names it, or none for a constant) and whose nodes are :class:`Apply`. One tree gives both the
formula (the leaves' names) and the numbers substituted (the leaves' values); the renderers in
app.render write either. A sum may hold only some of its terms: ``total`` says how many it has,
and the renderers elide the ones left out before its last term.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

SymName = Literal[
    "x",
    "t",
    "z",
    "a",
    "w",
    "b",
    "da",
    "delta",
    "gw",
    "gb",
    "L",
    "penalty",
    "rate",
    "lr",
    "momentum",
    "dampening",
    "weight_decay",
    "beta1",
    "beta2",
    "eps",
    "step",
    "g",
    "buf",
    "m",
    "v",
    "vmax",
    "bc1",
    "bc2",
]
OpName = Literal[
    "add", "sub", "mul", "div", "neg", "square", "pow", "sqrt", "exp", "log", "tanh", "max", "abs"
]


@dataclass(frozen=True)
class Sym:
    """A named quantity: ``layer`` and ``index`` count from 0 as in the JSON; ``sample`` is set
    for per-sample values of a batch written next to other samples' ones."""

    name: SymName
    layer: int | None = None
    index: tuple[int, ...] = ()
    sample: int | None = None


@dataclass(frozen=True)
class Value:
    """A number in a formula: an operand (named by ``sym``) or a constant (``sym`` is None)."""

    value: float
    sym: Sym | None = None


@dataclass(frozen=True)
class Apply:
    """``op`` applied to ``args``; a sum (``add``) of ``total`` terms shows the first ones and
    the last one of ``args`` when ``total`` exceeds ``len(args)``."""

    op: OpName
    args: tuple["Expr", ...]
    total: int = 0

    @property
    def elided(self) -> int:
        """How many terms of a sum are left out."""
        return max(0, self.total - len(self.args))


Expr = Value | Apply


def operands(expr: Expr) -> Iterator[Value]:
    """The named leaves of ``expr``, left to right, each once."""
    seen: set[Sym] = set()
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Apply):
            stack.extend(reversed(node.args))
        elif node.sym is not None and node.sym not in seen:
            seen.add(node.sym)
            yield node


def add(terms: list[Expr], max_terms: int) -> Expr:
    """The sum of ``terms``, keeping the first ``max_terms − 1`` and the last when longer."""
    if len(terms) == 1:
        return terms[0]
    if len(terms) <= max_terms:
        return Apply("add", tuple(terms), len(terms))
    return Apply("add", (*terms[: max_terms - 1], terms[-1]), len(terms))


def op(name: OpName, *args: Expr) -> Apply:
    """``name`` applied to ``args``."""
    return Apply(name, args, len(args))


def const(value: float) -> Value:
    """A constant of a formula (shown as its number in both forms)."""
    return Value(value)
