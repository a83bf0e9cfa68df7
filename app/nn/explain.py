"""The worked solution of one training step: every number of backprop as a formula with operands.

:func:`explain` runs the engine's own forward pass, loss, backward pass and optimizer step, then
writes each number they produced as a :class:`Step`: the formula of its computation (an
expression whose leaves are the operands, see :mod:`app.nn.expr`) and the engine's result, so a
step's result is bit for bit what /backward and /train return. Per-sample values are written for
one sample of the batch; batch sums and means are written over the samples.

Step ids name what a step computes, with layers and units counted from 0 as in the JSON:
``forward.{l}.z.{i}``, ``forward.{l}.a.{i}``, ``loss.sample``, ``loss``,
``output_delta.{l}.da.{i}``, ``output_delta.{l}.delta.{i}``, ``backward.{l}.da.{j}``,
``backward.{l}.delta.{j}``, ``backward.{l}.weights.{i}.{j}``, ``backward.{l}.bias.{i}``,
``update.bc1``, ``update.bc2`` (Adam's bias corrections), and per parameter
``update.{l}.weights.{i}.{j}`` (the new value) after its intermediates ``….g``, ``….buf``,
``….m``, ``….v``, ``….vmax`` and ``….decay``.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np

from app.nn.activations import ActivationName
from app.nn.check import FORMULA, LOSS_FORMULA
from app.nn.errors import NonFiniteError, quiet_floating
from app.nn.expr import Apply, Expr, Sym, SymName, Value, add, const, op
from app.nn.losses import LOSSES, LossName
from app.nn.network import (
    Parameters,
    backpropagate,
    check_gradients_finite,
    compute_gradients,
    evaluate,
    loss_gradient,
)
from app.nn.optimizers import SGD, Adam, BufferName, Optimizer, OptimizerState
from app.nn.types import Array

Stage = Literal["forward", "loss", "output_delta", "backward", "update"]

DERIVATIVE: dict[ActivationName, str] = {
    "identity": "identity'(z) = 1",
    "relu": "relu'(z) = 1 where z > 0",
    "leaky_relu": "leaky_relu'(z) = 1 where z > 0",
    "sigmoid": "σ'(z) = a·(1 − a)",
    "tanh": "tanh'(z) = 1 − a²",
    "softmax": "through softmax: δⱼ = aⱼ·(∂L/∂aⱼ − Σₖ ∂L/∂aₖ·aₖ)",
}
FROM_LOGITS_NOTE: dict[LossName, str] = {
    "binary_cross_entropy": "sigmoid with binary cross-entropy: ∂L/∂z = (σ(z) − t) / "
    "(samples × outputs), σ' cancels",
    "cross_entropy": "softmax with cross-entropy: ∂L/∂z = (softmax(z) − t) / samples, the "
    "softmax's Jacobian cancels",
}
LOSS_NOTE: dict[LossName, str] = {
    "binary_cross_entropy": "−[t·log σ(z) + (1 − t)·log(1 − σ(z))] written stably as "
    "max(z, 0) − z·t + log(1 + e^−|z|), averaged over the outputs",
    "cross_entropy": "−Σ t·log softmax(z) = log Σ e^z − Σ t·z, as the targets sum to 1",
}


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


def _val(value: float | np.floating, name: SymName, layer: int | None = None, *index: int) -> Value:
    return Value(float(value), Sym(name, layer, tuple(index)))


def _terms(count: int, max_terms: int, term: Callable[[int], Expr]) -> Expr:
    """The sum of ``term(k)`` for ``k < count``, built only for the terms shown."""
    if count <= max_terms:
        return add([term(k) for k in range(count)], max_terms)
    shown = [term(k) for k in range(max_terms - 1)] + [term(count - 1)]
    return Apply("add", tuple(shown), count)


def _elided(expr: Expr) -> str:
    """Words for a sum with terms left out."""
    total = _total(expr)
    return f"{total} terms summed" if total else ""


def _total(expr: Expr) -> int:
    if not isinstance(expr, Apply):
        return 0
    if expr.op == "add" and expr.elided:
        return expr.total
    return max((_total(arg) for arg in expr.args), default=0)


def _join(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


def _layer_name(params: Parameters, layer: int) -> str:
    return f"Layer {layer + 1} ({params.activations[layer]})"


class _Solution:
    """The engine's numbers of one step and the writing of them."""

    def __init__(
        self,
        params: Parameters,
        x: Array,
        t: Array,
        loss: LossName,
        sample: int,
        max_terms: int,
    ) -> None:
        self.params, self.x, self.t, self.loss_name = params, x, t, loss
        self.loss, self.s, self.max_terms = LOSSES[loss], sample, max_terms
        self.n, self.last = len(x), len(params.layers) - 1
        self.fwd, self.value = evaluate(params, x, t, self.loss)
        self.grads = compute_gradients(params, self.fwd, t, self.loss)
        check_gradients_finite(self.grads)
        dy = loss_gradient(self.fwd, t, self.loss)
        deltas = backpropagate(params, self.fwd, dy, self.loss.from_logits)
        self.da = [da for da, _ in deltas]
        self.dz = [dz for _, dz in deltas]

    def sum(self, count: int, term: Callable[[int], Expr]) -> Expr:
        """The sum of ``term(k)`` for ``k < count``, elided beyond ``max_terms``."""
        return _terms(count, self.max_terms, term)

    def prev(self, layer: int, j: int, sample: int | None = None) -> Value:
        """Input ``j`` of ``layer``: ``x`` for the first layer, else the previous layer's a."""
        s = self.s if sample is None else sample
        if layer == 0:
            return Value(float(self.x[s, j]), Sym("x", None, (j,), sample))
        return Value(float(self.fwd.a[layer - 1][s, j]), Sym("a", layer - 1, (j,), sample))

    def z(self, layer: int, i: int) -> Value:
        """Unit ``i``'s z at ``layer`` for the written sample, named."""
        return _val(self.fwd.z[layer][self.s, i], "z", layer, i)

    def a(self, layer: int, i: int) -> Value:
        """Unit ``i``'s a at ``layer`` for the written sample, named."""
        return _val(self.fwd.a[layer][self.s, i], "a", layer, i)

    def target(self, i: int) -> Value:
        """Target ``i`` of the written sample, named."""
        return _val(self.t[self.s, i], "t", None, i)

    def forward(self) -> Iterator[Step]:
        """Layer by layer, each unit's z then its a (softmax: every z, then every a)."""
        for layer, (W, _) in enumerate(self.params.layers):
            section, name = _layer_name(self.params, layer), self.params.activations[layer]
            z_steps = [self.z_step(layer, i, section) for i in range(W.shape[0])]
            a_steps = [self.a_step(layer, i, section) for i in range(W.shape[0])]
            if name == "softmax":  # every a needs every z
                yield from z_steps
                yield from a_steps
            else:
                for z_step, a_step in zip(z_steps, a_steps, strict=True):
                    yield z_step
                    yield a_step

    def z_step(self, layer: int, i: int, section: str) -> Step:
        """``z = Σ w·a_prev + b`` of unit ``i``."""
        W, b = self.params.layers[layer]
        weighted = self.sum(
            W.shape[1],
            lambda j: op("mul", _val(W[i, j], "w", layer, i, j), self.prev(layer, j)),
        )
        formula = add([weighted, _val(b[i], "b", layer, i)], 2)
        return Step(
            f"forward.{layer}.z.{i}",
            "forward",
            section,
            Sym("z", layer, (i,)),
            formula,
            float(self.fwd.z[layer][self.s, i]),
            _elided(formula),
        )

    def a_step(self, layer: int, i: int, section: str) -> Step:
        """``a = f(z)`` of unit ``i``, the function named in the note."""
        name = self.params.activations[layer]
        formula, note = self.activation(layer, i, name)
        return Step(
            f"forward.{layer}.a.{i}",
            "forward",
            section,
            Sym("a", layer, (i,)),
            formula,
            float(self.fwd.a[layer][self.s, i]),
            _join(FORMULA[name] if name != "identity" else "identity: a = z", note),
        )

    def activation(self, layer: int, i: int, name: ActivationName) -> tuple[Expr, str]:
        """The formula of ``f(z)`` for unit ``i`` and what it leaves unsaid."""
        z = self.z(layer, i)
        if name == "relu":
            return op("max", const(0.0), z), ""
        if name == "leaky_relu":
            if z.value > 0:
                return z, "z > 0"
            return op("mul", const(0.01), z), "z ≤ 0"
        if name == "sigmoid":
            return op("div", const(1.0), op("add", const(1.0), op("exp", op("neg", z)))), ""
        if name == "tanh":
            return op("tanh", z), ""
        if name == "softmax":
            total = self.sum(self.fwd.z[layer].shape[1], lambda k: op("exp", self.z(layer, k)))
            return op("div", op("exp", z), total), _elided(total)
        return z, ""

    def losses(self) -> Iterator[Step]:
        """The loss: of the one sample, or of the written sample and then the batch mean."""
        formula = self.sample_loss()
        note = _join(
            f"{self.loss_name}: {LOSS_NOTE.get(self.loss_name, LOSS_FORMULA[self.loss_name])}",
            _elided(formula),
        )
        if self.n == 1:
            yield Step("loss", "loss", "", Sym("L"), formula, self.value, note)
            return
        yield Step(
            "loss.sample",
            "loss",
            "",
            Sym("L", sample=self.s),
            formula,
            self.loss.value(self._loss_input()[self.s : self.s + 1], self.t[self.s : self.s + 1]),
            f"sample {self.s}: {note}",
        )
        per_sample = self.sum(
            self.n,
            lambda k: Value(
                self.loss.value(self._loss_input()[k : k + 1], self.t[k : k + 1]),
                Sym("L", sample=k),
            ),
        )
        mean = op("div", per_sample, const(float(self.n)))
        yield Step(
            "loss",
            "loss",
            "",
            Sym("L"),
            mean,
            self.value,
            _join(f"the batch loss is the mean over the {self.n} samples", _elided(mean)),
        )

    def _loss_input(self) -> Array:
        return self.fwd.z[-1] if self.loss.from_logits else self.fwd.outputs

    def sample_loss(self) -> Expr:
        """The written sample's loss, in the stable form the engine computes."""
        last, outputs = self.last, self.fwd.z[-1].shape[1]
        if self.loss_name in ("half_squared_error", "mean_squared_error"):
            squares = self.sum(
                outputs,
                lambda i: op("square", op("sub", self.a(last, i), self.target(i))),
            )
            if self.loss_name == "half_squared_error":
                return op("mul", const(0.5), squares)
            return op("div", squares, const(float(outputs))) if outputs > 1 else squares
        if self.loss_name == "binary_cross_entropy":
            terms = self.sum(outputs, lambda i: self._bce(self.z(last, i), self.target(i)))
            return op("div", terms, const(float(outputs))) if outputs > 1 else terms
        logsumexp = op("log", self.sum(outputs, lambda i: op("exp", self.z(last, i))))
        return op(
            "sub",
            logsumexp,
            self.sum(outputs, lambda i: op("mul", self.target(i), self.z(last, i))),
        )

    @staticmethod
    def _bce(z: Value, t: Value) -> Expr:
        stable = op("log", op("add", const(1.0), op("exp", op("neg", op("abs", z)))))
        return op("add", op("sub", op("max", z, const(0.0)), op("mul", z, t)), stable)

    def output_delta(self) -> Iterator[Step]:
        """``∂L/∂z`` of the last layer: directly from the loss, or through ``∂L/∂a``."""
        last, name = self.last, self.params.activations[self.last]
        section = _layer_name(self.params, last)
        units = self.fwd.z[last].shape[1]
        n, size = self.n, self.n * units
        for i in range(units):
            diff = op("sub", self.a(last, i), self.target(i))
            if self.loss.from_logits:
                count = size if self.loss_name == "binary_cross_entropy" else n
                formula = op("div", diff, const(float(count))) if count > 1 else diff
                yield Step(
                    f"output_delta.{last}.delta.{i}",
                    "output_delta",
                    section,
                    Sym("delta", last, (i,)),
                    formula,
                    float(self.dz[last][self.s, i]),
                    FROM_LOGITS_NOTE[self.loss_name],
                )
                continue
            if self.loss_name == "mean_squared_error":
                dy: Expr = op("div", op("mul", const(2.0), diff), const(float(size)))
                note = "∂/∂y of the mean of (y − t)²: 2·(y − t) / (samples × outputs)"
            else:
                dy = op("div", diff, const(float(n))) if n > 1 else diff
                note = "∂/∂y ½·(y − t)² = y − t" + (" (over samples: their mean)" if n > 1 else "")
            if name == "identity":
                yield Step(
                    f"output_delta.{last}.delta.{i}",
                    "output_delta",
                    section,
                    Sym("delta", last, (i,)),
                    dy,
                    float(self.dz[last][self.s, i]),
                    _join(note, "identity output: δ = ∂L/∂a"),
                )
                continue
            yield Step(
                f"output_delta.{last}.da.{i}",
                "output_delta",
                section,
                Sym("da", last, (i,)),
                dy,
                float(self.da[last][self.s, i]),
                note,
            )
        if not self.loss.from_logits and name != "identity":
            yield from self.deltas(last, "output_delta")

    def deltas(self, layer: int, stage: Stage) -> Iterator[Step]:
        """Each unit's δ = ∂L/∂a · f'(z) at ``layer``, from its ∂L/∂a already written."""
        name, section = self.params.activations[layer], _layer_name(self.params, layer)
        units = self.fwd.z[layer].shape[1]
        for j in range(units):
            da = _val(self.da[layer][self.s, j], "da", layer, j)
            formula, note = self.derivative(layer, j, name, da)
            yield Step(
                f"{stage}.{layer}.delta.{j}",
                stage,
                section,
                Sym("delta", layer, (j,)),
                formula,
                float(self.dz[layer][self.s, j]),
                _join(note, _elided(formula)),
            )

    def derivative(self, layer: int, j: int, name: ActivationName, da: Value) -> tuple[Expr, str]:
        """``δ = ∂L/∂a · f'(z)`` of unit ``j``, and the derivative in words."""
        z, a = self.fwd.z[layer][self.s, j], self.a(layer, j)
        if name == "identity":
            return da, "identity: δ = ∂L/∂a"
        if name in ("relu", "leaky_relu"):
            if z > 0:
                return op("mul", da, const(1.0)), f"{name}'(z) = 1, as z > 0"
            if name == "relu":
                return op(
                    "mul", da, const(0.0)
                ), "unit off (z ≤ 0): relu'(z) = 0, so no gradient flows back through it"
            return op("mul", da, const(0.01)), "z ≤ 0: leaky_relu'(z) = 0.01"
        if name == "sigmoid":
            return op("mul", da, op("mul", a, op("sub", const(1.0), a))), DERIVATIVE[name]
        if name == "tanh":
            return op("mul", da, op("sub", const(1.0), op("square", a))), DERIVATIVE[name]
        units = self.fwd.z[layer].shape[1]
        dot = self.sum(
            units,
            lambda k: op("mul", _val(self.da[layer][self.s, k], "da", layer, k), self.a(layer, k)),
        )
        return op("mul", a, op("sub", da, dot)), DERIVATIVE[name]

    def backward(self) -> Iterator[Step]:
        """From the last layer to the first: its δ (below the last), then its gradients."""
        for layer in range(self.last, -1, -1):
            if layer < self.last:
                yield from self.hidden_da(layer)
                yield from self.deltas(layer, "backward")
            yield from self.gradients(layer)

    def hidden_da(self, layer: int) -> Iterator[Step]:
        """Each unit's ``∂L/∂a = Σ δ_next·W_next`` at a hidden ``layer``."""
        W_next = self.params.layers[layer + 1][0]
        section = _layer_name(self.params, layer)
        for j in range(W_next.shape[1]):
            formula = self.sum(W_next.shape[0], partial(self._back_term, layer, j))
            yield Step(
                f"backward.{layer}.da.{j}",
                "backward",
                section,
                Sym("da", layer, (j,)),
                formula,
                float(self.da[layer][self.s, j]),
                _elided(formula),
            )

    def _back_term(self, layer: int, j: int, i: int) -> Expr:
        """Unit ``i`` of the next layer's share of ``∂L/∂a`` of unit ``j``: ``δ_i·W_ij``."""
        W_next = self.params.layers[layer + 1][0]
        return op(
            "mul",
            _val(self.dz[layer + 1][self.s, i], "delta", layer + 1, i),
            _val(W_next[i, j], "w", layer + 1, i, j),
        )

    def _weight_term(self, layer: int, i: int, j: int, sample: int | None) -> Expr:
        """Sample ``sample``'s share of ``∂L/∂W_ij``: ``δ_i·a_prev_j``."""
        return op("mul", self._delta(layer, i, sample), self.prev(layer, j, sample))

    def _delta(self, layer: int, i: int, sample: int | None) -> Value:
        s = self.s if sample is None else sample
        return Value(float(self.dz[layer][s, i]), Sym("delta", layer, (i,), sample))

    def gradients(self, layer: int) -> Iterator[Step]:
        """``∂L/∂W = δ·a_prev`` and ``∂L/∂b = δ``, summed over a batch's samples."""
        gW, gb = self.grads.layers[layer]
        section = _layer_name(self.params, layer)
        batch = f"summed over the batch's {self.n} samples" if self.n > 1 else ""
        for i in range(gW.shape[0]):
            for j in range(gW.shape[1]):
                formula = self._over_samples(partial(self._weight_term, layer, i, j))
                yield Step(
                    f"backward.{layer}.weights.{i}.{j}",
                    "backward",
                    section,
                    Sym("gw", layer, (i, j)),
                    formula,
                    float(gW[i, j]),
                    _join(batch, _elided(formula)),
                )
        for i in range(gb.shape[0]):
            formula = self._over_samples(partial(self._delta, layer, i))
            yield Step(
                f"backward.{layer}.bias.{i}",
                "backward",
                section,
                Sym("gb", layer, (i,)),
                formula,
                float(gb[i]),
                _join(batch, _elided(formula)),
            )

    def _over_samples(self, term: Callable[[int | None], Expr]) -> Expr:
        if self.n == 1:
            return term(None)
        return self.sum(self.n, term)


@quiet_floating
def explain(
    params: Parameters,
    x: Array,
    t: Array,
    loss: LossName,
    optimizer: Optimizer,
    state: OptimizerState | None,
    sample: int,
    max_terms: int,
) -> list[Step]:
    """Every step of one forward pass, loss, backward pass and update, in the order of the
    computation; per-sample values for ``sample``; sums longer than ``max_terms`` elided."""
    solution = _Solution(params, x, t, loss, sample, max_terms)
    before = optimizer.init(params.flat.size) if state is None else state
    after, updated = before.copy(), params.empty_like()
    optimizer.step(after, params.flat, solution.grads.flat, updated.flat)
    if not np.isfinite(updated.flat).all():
        raise NonFiniteError("update")
    update = _Update(params, solution.grads, updated, optimizer, before, after)
    return [
        *solution.forward(),
        *solution.losses(),
        *solution.output_delta(),
        *solution.backward(),
        *update.steps(),
    ]


Index = tuple[int, ...]


class _Update:
    """The optimizer step written out per parameter, intermediates computed as the engine does."""

    def __init__(
        self,
        params: Parameters,
        grads: Parameters,
        updated: Parameters,
        optimizer: Optimizer,
        before: OptimizerState,
        after: OptimizerState,
    ) -> None:
        self.params, self.grads, self.updated = params, grads, updated
        self.optimizer, self.before, self.after = optimizer, before, after

    def _buffer(self, state: OptimizerState, name: BufferName) -> Parameters:
        return self.params.with_flat(state.buffers[name])

    def steps(self) -> Iterator[Step]:
        """Adam's bias corrections, then parameter by parameter in the network's order."""
        if isinstance(self.optimizer, Adam):
            yield from self._corrections(self.optimizer)
        for layer in range(len(self.params.layers)):
            section = _layer_name(self.params, layer)
            for part in ("weights", "bias"):
                shape = self.params.layers[layer][0 if part == "weights" else 1].shape
                for index in np.ndindex(*shape):
                    yield from self._element(layer, part, tuple(int(k) for k in index), section)

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
                yield ctx.step("g", op("add", g, op("mul", mu, buf)), value, "Nesterov: g + μ·buf")
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

    def step(self, name: SymName, formula: Expr, result: float, note: str) -> Step:
        return Step(
            f"{self.base}.{name}",
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


def step_of(key: tuple[str | int, ...], entry: tuple[int, ...], layers: int) -> tuple[str, int]:
    """The id of the step that computes number ``entry`` of the value at /check's ``key`` (see
    app.nn.check) in a network of ``layers`` layers, and the sample that step is written for."""
    match key:
        case ("layers", int(layer), str(part)):
            return f"forward.{layer}.{part}.{entry[1]}", entry[0]
        case ("outputs",):
            return f"forward.{layers - 1}.a.{entry[1]}", entry[0]
        case ("gradients", int(layer), str(part)):
            return f"backward.{layer}.{part}.{'.'.join(map(str, entry))}", 0
        case ("network", "layers", int(layer), str(part)):
            return f"update.{layer}.{part}.{'.'.join(map(str, entry))}", 0
    return "loss", 0
