"""The worked solution of one training step: every number of backprop as a formula with operands.

:func:`explain` runs the engine's own forward pass, loss, backward pass and optimizer step, then
writes each number they produced as a :class:`Step`: the formula of its computation (an
expression whose leaves are the operands, see :mod:`app.nn.expr`) and the engine's result, so a
step's result is bit for bit what /backward and /train return. Per-sample values are written for
one sample of the batch; batch sums and means are written over the samples.

Step ids name what a step computes, with layers and units counted from 0 as in the JSON:
``forward.{l}.z.{i}``, ``forward.{l}.a.{i}``, ``loss.sample``, ``loss``,
``loss.penalty`` (with regularization), ``output_delta.{l}.da.{i}``,
``output_delta.{l}.delta.{i}``, ``backward.{l}.da.{j}``,
``backward.{l}.delta.{j}``, ``backward.{l}.weights.{i}.{j}``, ``backward.{l}.bias.{i}``,
``update.bc1``, ``update.bc2`` (Adam's bias corrections), and per parameter
``update.{l}.weights.{i}.{j}`` (the new value) after its intermediates ``….g``, ``….buf``,
``….g.nesterov``, ``….m``, ``….v``, ``….vmax`` and ``….decay``.

A series of alike steps (a layer's units, its weight gradients, its bias updates, …) longer than
``max_steps`` items is written as its first ``max_steps − 1`` items and its last, with an
:class:`Elided` entry between them counting what is left out; only the items shown are built, so a
784-128-10 network is explained in milliseconds. Its id is the series' id with ``.elided``:
``forward.{l}`` (z and a per unit), ``forward.{l}.z``/``.a`` (softmax), ``….delta``, ``….da``,
``backward.{l}.weights``, ``backward.{l}.bias``, ``update.{l}.weights``, ``update.{l}.bias``.
"""

from collections.abc import Callable, Iterator
from functools import partial
from itertools import chain

import numpy as np

from app.nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE, ActivationName
from app.nn.errors import NonFiniteError, quiet_floating
from app.nn.explain_steps import (
    Entry,
    Series,
    Stage,
    Step,
    bounded,
    entry_symbol,
    layer_name,
    unit_symbol,
)
from app.nn.explain_update import Update
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
from app.nn.optimizers import Optimizer, OptimizerState
from app.nn.regularization import Regularization
from app.nn.types import Array

MAX_STEPS = 10
"""Items of a series written out by default: a 10-class output layer in full, a 128-unit one not."""


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
        max_steps: int,
        regularization: Regularization | None = None,
    ) -> None:
        self.params, self.x, self.t, self.loss_name = params, x, t, loss
        self.loss, self.s, self.max_terms = LOSSES[loss], sample, max_terms
        self.max_steps, self.regularization = max_steps, regularization
        self.n, self.last = len(x), len(params.layers) - 1
        self.fwd, self.value = evaluate(params, x, t, self.loss)
        self.grads = compute_gradients(params, self.fwd, t, self.loss)
        if regularization is not None:
            self.penalty = regularization.penalty(params)
            regularization.add_gradient(params, self.grads)
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

    def series(
        self,
        series_id: str,
        stage: Stage,
        layer: int,
        count: int,
        what: str,
        how: str,
        symbol: Callable[[int], Sym],
        item: Callable[[int], list[Step]],
    ) -> Iterator[Entry]:
        """The ``count`` items of a series in ``layer``'s section, bounded by ``max_steps``."""
        section = layer_name(self.params, layer)
        return bounded(
            Series(series_id, stage, section, what, how, symbol, item), count, self.max_steps
        )

    def forward(self) -> Iterator[Entry]:
        """Layer by layer, each unit's z then its a (softmax: every z, then every a)."""
        for layer, (W, _) in enumerate(self.params.layers):
            name, units = self.params.activations[layer], W.shape[0]
            z_sym, a_sym = partial(unit_symbol, "z", layer), partial(unit_symbol, "a", layer)
            z = f"z = Σ w·{'x' if layer == 0 else 'a'} + b"
            if name != "softmax":
                how = f"each {z}, then a = {name}(z), the same way"
                item = partial(self._unit_steps, layer)
                yield from self.series(
                    f"forward.{layer}", "forward", layer, units, "units", how, z_sym, item
                )
                continue
            # every a of a softmax needs every z
            item = partial(self._one, self.z_step, layer)
            how = f"each {z} the same way"
            yield from self.series(
                f"forward.{layer}.z", "forward", layer, units, "z", how, z_sym, item
            )
            item = partial(self._one, self.a_step, layer)
            how = "each a = e^z / Σ e^z the same way"
            yield from self.series(
                f"forward.{layer}.a", "forward", layer, units, "a", how, a_sym, item
            )

    def _unit_steps(self, layer: int, i: int) -> list[Step]:
        section = layer_name(self.params, layer)
        return [self.z_step(layer, i, section), self.a_step(layer, i, section)]

    def _one(self, write: Callable[[int, int, str], Step], layer: int, i: int) -> list[Step]:
        return [write(layer, i, layer_name(self.params, layer))]

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
            _join(ACTIVATIONS[name].formula if name != "identity" else "identity: a = z", note),
        )

    def activation(self, layer: int, i: int, name: ActivationName) -> tuple[Expr, str]:
        """The formula of ``f(z)`` for unit ``i`` and what it leaves unsaid."""
        z = self.z(layer, i)
        if name == "relu":
            return op("max", const(0.0), z), ""
        if name == "leaky_relu":
            if z.value > 0:
                return z, "z > 0"
            return op("mul", const(LEAKY_RELU_SLOPE), z), "z ≤ 0"
        if name == "sigmoid":
            return op("div", const(1.0), op("add", const(1.0), op("exp", op("neg", z)))), ""
        if name == "tanh":
            return op("tanh", z), ""
        if name == "softmax":
            total = self.sum(self.fwd.z[layer].shape[1], lambda k: op("exp", self.z(layer, k)))
            return op("div", op("exp", z), total), _elided(total)
        return z, ""

    def losses(self) -> Iterator[Step]:
        """The loss: of the one sample, or of the written sample and then the batch mean; then
        the regularization penalty, if any."""
        yield from self.data_losses()
        if self.regularization is not None:
            yield self.penalty_step(self.regularization)

    def penalty_step(self, rule: Regularization) -> Step:
        """The penalty: the rate times the sum of the term over every weight of every layer."""
        shapes = [W.shape for W, _ in self.params.layers]
        starts = np.cumsum([0] + [units * inputs for units, inputs in shapes])

        def term(k: int) -> Expr:
            layer = int(np.searchsorted(starts, k, side="right")) - 1
            i, j = divmod(k - int(starts[layer]), shapes[layer][1])
            w = _val(self.params.layers[layer][0][i, j], "w", layer, i, j)
            return op("abs", w) if rule.name == "l1" else op("mul", const(0.5), op("square", w))

        total = self.sum(int(starts[-1]), term)
        formula = op("mul", _val(rule.rate, "rate"), total)
        note = _join(
            f"{rule.name} regularization: rate·Σ{rule.regularizer.term} over every weight, not the "
            "biases; reported beside the loss, its gradient is added to the weights'",
            _elided(formula),
        )
        return Step("loss.penalty", "loss", "", Sym("penalty"), formula, self.penalty, note)

    def data_losses(self) -> Iterator[Step]:
        """The data loss: of the one sample, or of the written sample and then the batch mean."""
        formula = self.sample_loss()
        note = _join(
            f"{self.loss_name}: {self.loss.note or self.loss.formula}",
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

    def output_delta(self) -> Iterator[Entry]:
        """``∂L/∂z`` of the last layer: directly from the loss, or through ``∂L/∂a``."""
        last, name = self.last, self.params.activations[self.last]
        units = self.fwd.z[last].shape[1]
        direct = self.loss.from_logits or name == "identity"
        part: SymName = "delta" if direct else "da"
        what = "output deltas" if direct else "∂L/∂a of the outputs"
        yield from self.series(
            f"output_delta.{last}.{part}",
            "output_delta",
            last,
            units,
            what,
            "each from its output and target the same way",
            partial(unit_symbol, part, last),
            self._output_item,
        )
        if not direct:
            yield from self.deltas(last, "output_delta")

    def _output_item(self, i: int) -> list[Step]:
        """Output ``i``'s δ from the loss, or its ∂L/∂a for the δ to follow."""
        last, name = self.last, self.params.activations[self.last]
        section = layer_name(self.params, last)
        n, size = self.n, self.n * self.fwd.z[last].shape[1]
        diff = op("sub", self.a(last, i), self.target(i))

        if self.loss.from_logits:
            count = size if self.loss_name == "binary_cross_entropy" else n
            formula = op("div", diff, const(float(count))) if count > 1 else diff
            return [self._delta_of("output_delta", last, i, formula, self.loss.logits_note)]
        if self.loss_name == "mean_squared_error":
            dy: Expr = op("div", op("mul", const(2.0), diff), const(float(size)))
            note = "∂/∂y of the mean of (y − t)²: 2·(y − t) / (samples × outputs)"
        else:
            dy = op("div", diff, const(float(n))) if n > 1 else diff
            note = "∂/∂y ½·(y − t)² = y − t" + (" (over samples: their mean)" if n > 1 else "")
        if name == "identity":
            return [
                self._delta_of(
                    "output_delta", last, i, dy, _join(note, "identity output: δ = ∂L/∂a")
                )
            ]
        return [
            Step(
                f"output_delta.{last}.da.{i}",
                "output_delta",
                section,
                Sym("da", last, (i,)),
                dy,
                float(self.da[last][self.s, i]),
                note,
            )
        ]

    def deltas(self, layer: int, stage: Stage) -> Iterator[Entry]:
        """Each unit's δ = ∂L/∂a · f'(z) at ``layer``, from its ∂L/∂a already written."""
        units = self.fwd.z[layer].shape[1]
        how = f"each ∂L/∂a · {self.params.activations[layer]}'(z) the same way"
        item = partial(self._delta_step, layer, stage)
        yield from self.series(
            f"{stage}.{layer}.delta",
            stage,
            layer,
            units,
            "deltas",
            how,
            partial(unit_symbol, "delta", layer),
            item,
        )

    def _delta_step(self, layer: int, stage: Stage, j: int) -> list[Step]:
        da = _val(self.da[layer][self.s, j], "da", layer, j)
        formula, note = self.derivative(layer, j, self.params.activations[layer], da)
        return [self._delta_of(stage, layer, j, formula, _join(note, _elided(formula)))]

    def _delta_of(self, stage: Stage, layer: int, j: int, formula: Expr, note: str) -> Step:
        """Unit ``j``'s δ, the engine's ∂L/∂z, written as ``formula``."""
        return Step(
            f"{stage}.{layer}.delta.{j}",
            stage,
            layer_name(self.params, layer),
            Sym("delta", layer, (j,)),
            formula,
            float(self.dz[layer][self.s, j]),
            note,
        )

    def derivative(self, layer: int, j: int, name: ActivationName, da: Value) -> tuple[Expr, str]:
        """``δ = ∂L/∂a · f'(z)`` of unit ``j``, and the derivative in words."""
        z, a = self.fwd.z[layer][self.s, j], self.a(layer, j)
        words = ACTIVATIONS[name].derivative
        if name == "identity":
            return da, "identity: δ = ∂L/∂a"
        if name in ("relu", "leaky_relu"):
            if z > 0:
                return op("mul", da, const(1.0)), f"{name}'(z) = 1, as z > 0"
            if name == "relu":
                return op(
                    "mul", da, const(0.0)
                ), "unit off (z ≤ 0): relu'(z) = 0, so no gradient flows back through it"
            slope = const(LEAKY_RELU_SLOPE)
            return op("mul", da, slope), f"z ≤ 0: leaky_relu'(z) = {LEAKY_RELU_SLOPE}"
        if name == "sigmoid":
            return op("mul", da, op("mul", a, op("sub", const(1.0), a))), words
        if name == "tanh":
            return op("mul", da, op("sub", const(1.0), op("square", a))), words
        units = self.fwd.z[layer].shape[1]
        dot = self.sum(
            units,
            lambda k: op("mul", _val(self.da[layer][self.s, k], "da", layer, k), self.a(layer, k)),
        )
        return op("mul", a, op("sub", da, dot)), words

    def backward(self) -> Iterator[Entry]:
        """From the last layer to the first: its δ (below the last), then its gradients."""
        for layer in range(self.last, -1, -1):
            if layer < self.last:
                yield from self.hidden_da(layer)
                yield from self.deltas(layer, "backward")
            yield from self.gradients(layer)

    def hidden_da(self, layer: int) -> Iterator[Entry]:
        """Each unit's ``∂L/∂a = Σ δ_next·W_next`` at a hidden ``layer``."""
        units = self.params.layers[layer + 1][0].shape[1]
        how = "each Σ δ·w over the next layer's units the same way"
        item = partial(self._da_step, layer)
        symbol = partial(unit_symbol, "da", layer)
        yield from self.series(
            f"backward.{layer}.da", "backward", layer, units, "∂L/∂a", how, symbol, item
        )

    def _da_step(self, layer: int, j: int) -> list[Step]:
        formula = self.sum(
            self.params.layers[layer + 1][0].shape[0], partial(self._back_term, layer, j)
        )
        return [
            Step(
                f"backward.{layer}.da.{j}",
                "backward",
                layer_name(self.params, layer),
                Sym("da", layer, (j,)),
                formula,
                float(self.da[layer][self.s, j]),
                _elided(formula),
            )
        ]

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

    def gradients(self, layer: int) -> Iterator[Entry]:
        """``∂L/∂W = δ·a_prev`` and ``∂L/∂b = δ``, summed over a batch's samples."""
        units, inputs = self.params.layers[layer][0].shape
        a = "x" if layer == 0 else "a"
        yield from self.series(
            f"backward.{layer}.weights",
            "backward",
            layer,
            units * inputs,
            "weight gradients",
            f"each δ·{a} the same way",
            partial(entry_symbol, "gw", layer, inputs),
            partial(self._weight_gradient, layer, inputs),
        )
        yield from self.series(
            f"backward.{layer}.bias",
            "backward",
            layer,
            units,
            "bias gradients",
            "each δ the same way",
            partial(unit_symbol, "gb", layer),
            partial(self._bias_gradient, layer),
        )

    def _batch_note(self, formula: Expr) -> str:
        return _join(
            f"summed over the batch's {self.n} samples" if self.n > 1 else "", _elided(formula)
        )

    def _weight_gradient(self, layer: int, inputs: int, k: int) -> list[Step]:
        i, j = divmod(k, inputs)
        formula = self._over_samples(partial(self._weight_term, layer, i, j))
        note = self._batch_note(formula)
        rule = self.regularization
        if rule is not None:
            w = self.params.layers[layer][0][i, j]
            rate = _val(rule.rate, "rate")
            if rule.name == "l1":
                slope = float(np.sign(w))
                term = op("mul", rate, const(slope))
                sign = f"{slope:g}".replace("-", "−")
                words = f"plus the l1 penalty's rate·sign(w), sign(w) = {sign}"
            else:
                term = op("mul", rate, _val(w, "w", layer, i, j))
                words = "plus the l2 penalty's rate·w"
            formula = Apply("add", (formula, term), 2)
            note = _join(note, words)
        return [
            Step(
                f"backward.{layer}.weights.{i}.{j}",
                "backward",
                layer_name(self.params, layer),
                Sym("gw", layer, (i, j)),
                formula,
                float(self.grads.layers[layer][0][i, j]),
                note,
            )
        ]

    def _bias_gradient(self, layer: int, i: int) -> list[Step]:
        formula = self._over_samples(partial(self._delta, layer, i))
        return [
            Step(
                f"backward.{layer}.bias.{i}",
                "backward",
                layer_name(self.params, layer),
                Sym("gb", layer, (i,)),
                formula,
                float(self.grads.layers[layer][1][i]),
                self._batch_note(formula),
            )
        ]

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
    max_steps: int = MAX_STEPS,
    regularization: Regularization | None = None,
) -> Iterator[Entry]:
    """Every step of one forward pass, loss, backward pass and update, in the order of the
    computation; per-sample values for ``sample``; sums longer than ``max_terms`` and series
    longer than ``max_steps`` elided.

    The numbers are computed here, at once (a non-finite one raises :class:`NonFiniteError`
    before any step is read); the steps are built one at a time as they are read, so that a
    caller writing each out as it comes holds one step's expression at a time, and may stop
    between two steps. With ``regularization`` the penalty follows the loss and each weight's
    gradient, and so its update, is that of loss + penalty."""
    solution = _Solution(params, x, t, loss, sample, max_terms, max_steps, regularization)
    before = optimizer.init(params.flat.size) if state is None else state
    after, updated = before.copy(), params.empty_like()
    optimizer.step(after, params.flat, solution.grads.flat, updated.flat)
    if not np.isfinite(updated.flat).all():
        raise NonFiniteError("update")
    update = Update(params, solution.grads, updated, optimizer, (before, after), max_steps)
    return _quietly(
        chain(
            solution.forward(),
            solution.losses(),
            solution.output_delta(),
            solution.backward(),
            update.steps(),
        )
    )


def _quietly(entries: Iterator[Entry]) -> Iterator[Entry]:
    """``entries``, each built with NumPy's overflow warnings off as :func:`quiet_floating`
    does (the state is set around each build, never left set while the caller runs)."""
    while True:
        with np.errstate(over="ignore", invalid="ignore"):
            entry = next(entries, None)
        if entry is None:
            return
        yield entry


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
        case ("optimizer_state", "momentum_buffer", int(layer), str(part)):
            return f"update.{layer}.{part}.{'.'.join(map(str, entry))}.buf", 0
    return "loss", 0
