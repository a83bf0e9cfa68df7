"""The optimizer step of a worked solution written out per parameter (SGD with momentum, dampening,
Nesterov and weight decay; Adam and AdamW with AMSGrad), each intermediate computed as the
engine computes it, so each result is bit for bit the updated network /train returns."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from app.nn.explain_steps import Entry, Series, Step, bounded, entry_symbol, layer_name, unit_symbol
from app.nn.expr import Expr, Sym, SymName, Value, const, op
from app.nn.network import Parameters
from app.nn.optimizers import SGD, Adam, BufferName, Optimizer, OptimizerState

Index = tuple[int, ...]


class Update:
    """The optimizer step written out per parameter, intermediates computed as the engine does."""

    def __init__(
        self,
        params: Parameters,
        grads: Parameters,
        updated: Parameters,
        optimizer: Optimizer,
        states: tuple[OptimizerState, OptimizerState],
        max_steps: int,
    ) -> None:
        self.params, self.grads, self.updated = params, grads, updated
        self.optimizer, (self.before, self.after) = optimizer, states
        self.max_steps = max_steps

    def _buffer(self, state: OptimizerState, name: BufferName) -> Parameters:
        return self.params.with_flat(state.buffers[name])

    def steps(self) -> Iterator[Entry]:
        """Adam's bias corrections, then parameter by parameter in the network's order."""
        if isinstance(self.optimizer, Adam):
            yield from self._corrections(self.optimizer)
        for layer, (W, _) in enumerate(self.params.layers):
            section = layer_name(self.params, layer)
            units, inputs = W.shape
            weights = Series(
                f"update.{layer}.weights",
                "update",
                section,
                "weight updates",
                "each the same way",
                partial(entry_symbol, "w", layer, inputs),
                partial(self._weight, layer, inputs, section),
            )
            yield from bounded(weights, units * inputs, self.max_steps)
            biases = Series(
                f"update.{layer}.bias",
                "update",
                section,
                "bias updates",
                "each the same way",
                partial(unit_symbol, "b", layer),
                partial(self._bias, layer, section),
            )
            yield from bounded(biases, units, self.max_steps)

    def _weight(self, layer: int, inputs: int, section: str, k: int) -> list[Step]:
        return list(self._element(layer, "weights", divmod(k, inputs), section))

    def _bias(self, layer: int, section: str, i: int) -> list[Step]:
        return list(self._element(layer, "bias", (i,), section))

    def _corrections(self, adam: Adam) -> Iterator[Step]:
        k = self.after.step
        bc1, bc2 = 1.0 - adam.beta1**k, (1.0 - adam.beta2**k) ** 0.5
        step = Value(float(k), Sym("step"))
        yield Step(
            "update.bc1",
            "update",
            "Bias corrections",
            Sym("bc1"),
            op("sub", const(1.0), op("pow", Value(adam.beta1, Sym("beta1")), step)),
            bc1,
            f"step {k}: the first moment's bias correction",
        )
        yield Step(
            "update.bc2",
            "update",
            "Bias corrections",
            Sym("bc2"),
            op("sqrt", op("sub", const(1.0), op("pow", Value(adam.beta2, Sym("beta2")), step))),
            bc2,
            f"step {k}: the square root of the second moment's bias correction",
        )

    def _element(self, layer: int, part: str, index: Index, section: str) -> Iterator[Step]:
        which = 0 if part == "weights" else 1

        def at(tensors: Parameters) -> float:
            return float(tensors.layers[layer][which][index])

        def sym(name: SymName) -> Sym:
            return Sym(name, layer, index)

        base = f"update.{layer}.{part}.{'.'.join(map(str, index))}"
        w, grad = at(self.params), at(self.grads)
        ctx = _Element(base, section, sym, sym("w" if part == "weights" else "b"), w)
        g = Value(grad, sym("gw" if part == "weights" else "gb"))
        if isinstance(self.optimizer, SGD):
            yield from self._sgd(self.optimizer, ctx, g, at)
        elif isinstance(self.optimizer, Adam):
            yield from self._adam(self.optimizer, ctx, g, at)

    def _sgd(
        self, sgd: SGD, ctx: "_Element", g: Value, at: Callable[[Parameters], float]
    ) -> Iterator[Step]:
        w = ctx.w
        if sgd.weight_decay:
            value = g.value + sgd.weight_decay * w.value
            formula = op("add", g, op("mul", Value(sgd.weight_decay, Sym("weight_decay")), w))
            yield ctx.step("g", formula, value, "weight decay adds λ·w to the gradient")
            g = Value(value, ctx.sym("g"))
        if sgd.momentum:
            new = at(self._buffer(self.after, "momentum_buffer"))
            mu = Value(sgd.momentum, Sym("momentum"))
            if self.before.step == 0:
                yield ctx.step("buf", g, new, "first step: the momentum buffer starts as g")
            else:
                old = Value(at(self._buffer(self.before, "momentum_buffer")), ctx.sym("buf"))
                fresh: Expr = g
                if sgd.dampening:
                    damp = op("sub", const(1.0), Value(sgd.dampening, Sym("dampening")))
                    fresh = op("mul", damp, g)
                yield ctx.step("buf", op("add", op("mul", mu, old), fresh), new, "momentum")
            buf = Value(new, ctx.sym("buf"))
            if sgd.nesterov:
                value = g.value + sgd.momentum * new
                formula = op("add", g, op("mul", mu, buf))
                yield ctx.step("g", formula, value, "Nesterov: g + μ·buf", ".nesterov")
                g = Value(value, ctx.sym("g"))
            else:
                g = buf
        lr = Value(sgd.learning_rate, Sym("lr"))
        yield ctx.final(op("sub", w, op("mul", lr, g)), at(self.updated), "")

    def _adam(
        self, adam: Adam, ctx: "_Element", g: Value, at: Callable[[Parameters], float]
    ) -> Iterator[Step]:
        w, lr = ctx.w, Value(adam.learning_rate, Sym("lr"))
        if adam.decoupled:
            value = w.value * (1.0 - adam.learning_rate * adam.weight_decay)
            wd = Value(adam.weight_decay, Sym("weight_decay"))
            formula = op("mul", w, op("sub", const(1.0), op("mul", lr, wd)))
            note = "AdamW: decoupled weight decay w·(1 − η·λ)"
            yield Step(
                f"{ctx.base}.decay", "update", ctx.section, ctx.target, formula, value, note, True
            )
            w = Value(value, ctx.target)
        elif adam.weight_decay:
            value = g.value + adam.weight_decay * w.value
            wd = Value(adam.weight_decay, Sym("weight_decay"))
            yield ctx.step("g", op("add", g, op("mul", wd, w)), value, "weight decay adds λ·w")
            g = Value(value, ctx.sym("g"))
        m_old = Value(at(self._buffer(self.before, "exp_avg")), ctx.sym("m"))
        v_old = Value(at(self._buffer(self.before, "exp_avg_sq")), ctx.sym("v"))
        b1, b2 = Value(adam.beta1, Sym("beta1")), Value(adam.beta2, Sym("beta2"))
        m_new = at(self._buffer(self.after, "exp_avg"))
        v_new = at(self._buffer(self.after, "exp_avg_sq"))
        one = const(1.0)
        m_formula = op("add", m_old, op("mul", op("sub", one, b1), op("sub", g, m_old)))
        yield ctx.step("m", m_formula, m_new, "first moment")
        v_formula = op("add", op("mul", b2, v_old), op("mul", op("sub", one, b2), op("square", g)))
        yield ctx.step("v", v_formula, v_new, "second moment")
        v = Value(v_new, ctx.sym("v"))
        if adam.amsgrad:
            old = Value(at(self._buffer(self.before, "max_exp_avg_sq")), ctx.sym("vmax"))
            new = at(self._buffer(self.after, "max_exp_avg_sq"))
            yield ctx.step("vmax", op("max", old, v), new, "AMSGrad: the running maximum of v")
            v = Value(new, ctx.sym("vmax"))
        k = self.after.step
        bc1 = Value(1.0 - adam.beta1**k, Sym("bc1"))
        bc2 = Value((1.0 - adam.beta2**k) ** 0.5, Sym("bc2"))
        denom = op("add", op("div", op("sqrt", v), bc2), Value(adam.eps, Sym("eps")))
        formula = op(
            "sub", w, op("mul", op("div", lr, bc1), op("div", Value(m_new, ctx.sym("m")), denom))
        )
        yield ctx.final(formula, at(self.updated), "")


@dataclass(frozen=True)
class _Element:
    """The parameter an update step writes: its step ids, section and symbols."""

    base: str
    section: str
    sym: Callable[[SymName], Sym]
    target: Sym
    value: float

    @property
    def w(self) -> Value:
        """The parameter before the update."""
        return Value(self.value, self.target)

    def step(
        self, name: SymName, formula: Expr, result: float, note: str, suffix: str = ""
    ) -> Step:
        """An intermediate of this parameter's update; ``suffix`` tells apart two of one name."""
        return Step(
            f"{self.base}.{name}{suffix}",
            "update",
            self.section,
            self.sym(name),
            formula,
            result,
            note,
            True,
        )

    def final(self, formula: Expr, result: float, note: str) -> Step:
        return Step(self.base, "update", self.section, self.target, formula, result, note, True)
