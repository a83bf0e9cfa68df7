"""The entries of a worked solution: a :class:`Step` (one number as its formula and result), an
:class:`Elided` series of alike steps left out, how a :class:`Series` of them is bounded, the
:data:`Stage` each belongs to (the stages :mod:`app.nn.check` checks claims in too), and the
symbols they are written with. Shared by the step's computation (:mod:`app.nn.explain`), its
update (:mod:`app.nn.explain_update`), the check of a hand derivation and the renderers."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from app.nn.expr import Expr, Sym, SymName
from app.nn.network import Parameters

Stage = Literal["forward", "loss", "output_delta", "backward", "update"]
"""The stages of one training step in the order of the computation: the worked solution's
sections and the order /check checks claims in."""


@dataclass(frozen=True)
class Step:
    """One number of the computation: ``target = formula = result``; ``section`` names the
    layer it belongs to, ``note`` says in words what the formula does not, and ``assign``
    marks an update (written with ←)."""

    id: str
    stage: Stage
    section: str
    target: Sym
    formula: Expr
    result: float
    note: str = ""
    assign: bool = False


@dataclass(frozen=True)
class Elided:
    """Items of a series left out: ``items`` more ``what`` from ``first`` to ``last``, ``steps``
    steps in all, each computed as ``how`` says."""

    id: str
    stage: Stage
    section: str
    what: str
    items: int
    steps: int
    first: Sym
    last: Sym
    how: str


Entry = Step | Elided


@dataclass(frozen=True)
class Series:
    """A series of alike items: its id prefix, where it is written, and how to build item ``k``."""

    id: str
    stage: Stage
    section: str
    what: str
    how: str
    symbol: Callable[[int], Sym]
    item: Callable[[int], list[Step]]


def bounded(series: Series, count: int, max_steps: int) -> Iterator[Entry]:
    """The ``count`` items of ``series``: all, or the first ``max_steps − 1``, an :class:`Elided`
    entry and the last; the items left out are never built (every item has as many steps)."""
    if count <= max_steps:
        for k in range(count):
            yield from series.item(k)
        return
    per = 0
    for k in range(max_steps - 1):
        steps = series.item(k)
        per = len(steps)
        yield from steps
    items = count - max_steps
    first, last = max_steps - 1, count - 2
    yield Elided(
        f"{series.id}.elided",
        series.stage,
        series.section,
        series.what,
        items,
        items * per,
        series.symbol(first),
        series.symbol(last),
        series.how,
    )
    yield from series.item(count - 1)


def unit_symbol(name: SymName, layer: int, i: int) -> Sym:
    """Unit ``i`` of a layer's ``name`` (z, a, δ, a bias, …)."""
    return Sym(name, layer, (i,))


def entry_symbol(name: SymName, layer: int, columns: int, k: int) -> Sym:
    """Entry ``k`` of a layer's weights (row by row) as ``name``."""
    return Sym(name, layer, divmod(k, columns))


def layer_name(params: Parameters, layer: int) -> str:
    """The heading of a layer's steps: its number from 1 and its activation."""
    return f"Layer {layer + 1} ({params.activations[layer]})"
