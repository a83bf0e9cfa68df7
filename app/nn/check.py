"""Check a hand derivation as a teacher marks one: each claimed value against the correct one and
against the value the student's own earlier claims give, in the order of backprop.

A claim is keyed by its JSON path in the request's ``claimed``: ``("layers", i, "z" | "a")``,
``("outputs",)``, ``("loss",)``, ``("gradients", i, "weights" | "bias")`` and
``("network", "layers", i, "weights" | "bias")``, the parameters after one SGD step
``w − η·∂L/∂w``. Per-sample values (z, a, outputs) are ``(samples, units)`` arrays, the loss a
0-d array. A matrix claim may come transposed: it is wrong. A claim of any other wrong shape is
given as ``malformed``: it is wrong, and the values after it are computed as if it were not there.

Precision (:class:`Precision`): by default a claimed number ``c`` is right when
``|c − v| ≤ max(min(unit, sig), 1e-6·max(1, |v|))``, where ``unit`` is one unit of the last
decimal place ``c`` is written with (so the correct value rounded or truncated is right), ``sig``
one unit in the ``min_significant``-th significant figure of ``v`` (a bare ``0`` or ``1`` is no
free pass) and the last term today's default tolerance (a full-precision value summed in another
order is right). With a ``tolerance`` it is ``|c − v| ≤ tolerance·max(1, |v|)``.

Verdicts: ``correct`` when every number is within precision of the correct value, or of the value
recomputed from the student's own claimed inputs to that step when those are all correct (a z
computed from a rounded a); ``carried_forward`` when it is within precision of that recomputed
value only and some input follows from a wrong claim (it points to the earliest such claim);
``wrong`` otherwise. The recomputation (:class:`_Student`) is the engine's arithmetic fed with
claims: z from the claimed a of the layer before, a from the claimed z, the loss and the output δ
from the claimed outputs (the last z for a loss from logits), a weight gradient from the δ and
the a of the layer before, δ of a layer from the δ of the next (and its z and a), updated
parameters from the claimed gradients; a value not claimed is recomputed in turn. A layer's δ is
its claimed bias gradient for one sample; for a batch (the bias gradient sums δ over samples)
it is recomputed.

Checks follow the computation: ``forward`` (each layer's z, then its a, then the outputs),
``loss``, ``output_delta`` (the last layer's bias gradient, which is ``δ = ∂L/∂z`` summed over
samples), ``backward`` from the last layer to the first (each layer's weights gradient, then the
bias gradient of the layer before, its δ), ``update`` from the first layer to the last. A wrong
claim gets a hint: the usual mistake whose value it matches at the claim's precision (the correct
computation with that one mistake made; all of them when several give that value), else the
formula of its step.

With a ``regularization`` penalty the gradients claimed are those of loss + penalty: each weight's
gains the penalty's gradient (``rate·sign(w)`` or ``rate·w``, from the weights sent), recomputed
from the student's δ and a like the rest; leaving it out is a usual mistake.
"""

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Final, Literal

import numpy as np

from app.nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE, ActivationName
from app.nn.errors import quiet_floating
from app.nn.explain_steps import Stage
from app.nn.losses import LOSSES, LossName
from app.nn.network import (
    Parameters,
    backpropagate,
    check_gradients_finite,
    check_update_finite,
    compute_gradients,
    evaluate,
    loss_gradient,
)
from app.nn.optimizers import SGD
from app.nn.regularization import Regularization
from app.nn.types import Array

Key = tuple[str | int, ...]
Verdict = Literal["correct", "carried_forward", "wrong"]
PER_SAMPLE = frozenset({"layers", "outputs"})

DEFAULT_TOLERANCE: Final = 1e-6
"""The floor of the default precision, and once the only rule: a value printed with 8 decimals,
as NumPy prints, or summed in another order, is right."""
MIN_SIGNIFICANT: Final = 3
"""The significant figures of the correct value a claim must get right by default."""
SLACK: Final = 1e-9
"""The relative room on an allowance: a claim exactly one unit off is right though the
difference of two decimals comes out a hair over the unit in binary."""

MISSING_HALF = "the ½ is missing: ∂/∂y ½·(y − t)² = y − t (the square's 2 cancels the ½)"
UPDATE_SIGN = "sign error in the update: w ← w − η·∂L/∂w, a step against the gradient"


def decimals(text: str) -> int:
    """The decimal places of a number as written: ``"0.470"`` 3, ``"12"`` 0, ``"1.5e-3"`` 4.

    An integer's trailing zeros are not taken as written digits (``"1200"`` is -2, a unit of
    100, as ``"1.2e3"``), except a lone ``"0"``.
    """
    mantissa, _, exponent = text.lower().lstrip("+-").partition("e")
    whole, point, fraction = mantissa.partition(".")
    if point:
        places = len(fraction)
    else:
        digits = whole.lstrip("0")
        places = len(digits.rstrip("0")) - len(digits) if digits else 0
    return places - int(exponent or 0)


def written_decimals(value: float) -> int:
    """The decimal places of ``value``'s shortest repr, the way it would be written: the same as
    the number's text apart from trailing zeros (``0.470`` reads as ``0.47``)."""
    text = repr(abs(value))
    return decimals(text.removesuffix(".0"))


def units_of(values: Array) -> Array:
    """One unit of each number's last decimal place, read from its shortest repr."""
    places = np.vectorize(written_decimals, otypes=[np.float64])(values)
    return np.asarray(10.0**-places, dtype=np.float64)


@dataclass(frozen=True)
class Precision:
    """How close a claimed number must be (see the module docstring): a fixed relative
    ``tolerance``, or (None) the precision the number is written with."""

    tolerance: float | None = None
    min_significant: int = MIN_SIGNIFICANT

    def allowed(self, value: Array, unit: Array) -> Array:
        """The largest ``|claimed − value|`` allowed for each number written to ``unit``."""
        magnitude = np.abs(value)
        scale = np.maximum(1.0, magnitude)
        if self.tolerance is not None:
            return self.tolerance * scale
        with np.errstate(divide="ignore"):
            figure = np.floor(np.log10(magnitude)) - (self.min_significant - 1)
        return np.maximum(np.minimum(unit, 10.0**figure), DEFAULT_TOLERANCE * scale)

    def near(self, claimed: Array, value: Array, unit: Array) -> bool:
        """Whether every claimed number is within its allowance of ``value``."""
        if claimed.shape != value.shape:
            return False
        allowed = self.allowed(value, unit) * (1 + SLACK)
        with np.errstate(over="ignore", invalid="ignore"):  # an infinite difference is not near
            return bool(np.all(np.abs(claimed - value) <= allowed))


@dataclass(frozen=True)
class Check:
    """One claimed value, the correct one and the verdict (a hint when it is wrong)."""

    stage: Stage
    key: Key
    claimed: Array | None
    """None when the claim is malformed (see the module docstring)."""
    correct: Array
    verdict: Verdict
    error: float | None
    allowed: Array | None
    """The largest ``|claimed − correct|`` allowed for each number; None when the claim's shape
    is not the value's."""
    carried_from: Key | None
    """For a carried-forward value: the earliest wrong claim it follows from."""
    hint: str | None
    wrong_entry: tuple[int, ...] | None
    """The index of the claim's first entry over its allowance (its first entry when its shape
    is not the value's); None when the claim is not wrong."""

    @property
    def right(self) -> bool:
        """Whether the verdict is correct."""
        return self.verdict == "correct"

    @property
    def malformed(self) -> bool:
        """Whether the claim's shape is neither the value's nor its transpose."""
        return self.claimed is None

    @property
    def per_sample(self) -> bool:
        """Whether the value has one row per sample (z, a, outputs)."""
        return self.key[0] in PER_SAMPLE


def order(layers: int) -> Iterator[tuple[Stage, Key]]:
    """Every claimable value of a network of ``layers`` layers, in the order of the computation."""
    for index in range(layers):
        yield "forward", ("layers", index, "z")
        yield "forward", ("layers", index, "a")
    yield "forward", ("outputs",)
    yield "loss", ("loss",)
    last = layers - 1
    yield "output_delta", ("gradients", last, "bias")
    for index in range(last, -1, -1):
        yield "backward", ("gradients", index, "weights")
        if index:
            yield "backward", ("gradients", index - 1, "bias")
    for index in range(layers):
        yield "update", ("network", "layers", index, "weights")
        yield "update", ("network", "layers", index, "bias")


def _scaled_errors(claimed: Array, correct: Array) -> Array:
    """Each entry's ``|claimed − correct| / max(1, |correct|)``, computed without overflow."""
    scale = np.maximum(1.0, np.abs(correct))
    return np.abs(claimed / scale - correct / scale)


def error(claimed: Array, correct: Array) -> float:
    """The largest ``|claimed − correct| / max(1, |correct|)``."""
    return float(np.max(_scaled_errors(claimed, correct)))


def _first_over(claimed: Array, correct: Array, allowed: Array) -> tuple[int, ...]:
    """The index of the first entry over its allowance (row-major)."""
    over = np.argwhere(~(np.abs(claimed - correct) <= allowed * (1 + SLACK)))
    return tuple(int(k) for k in over[0]) if len(over) else (0,) * correct.ndim


def _pick(tensors: Parameters, index: int, part: str) -> Array:
    """Layer ``index``'s ``"weights"`` or ``"bias"``."""
    W, b = tensors.layers[index]
    return b if part == "bias" else W


class _Truth:
    """The correct values of one SGD step, each computed when first needed."""

    def __init__(
        self,
        params: Parameters,
        x: Array,
        t: Array,
        loss: LossName,
        learning_rate: float,
        regularization: Regularization | None = None,
    ) -> None:
        self.params, self.x, self.t, self.loss_name = params, x, t, loss
        self.loss, self.learning_rate = LOSSES[loss], learning_rate
        self.regularization = regularization
        self.fwd, self.value = evaluate(params, x, t, self.loss)

    @cached_property
    def grads(self) -> Parameters:
        grads = compute_gradients(self.params, self.fwd, self.t, self.loss)
        if self.regularization is not None:
            np.add(grads.flat, self.penalty_gradients.flat, out=grads.flat)
        check_gradients_finite(grads)
        return grads

    @cached_property
    def penalty_gradients(self) -> Parameters:
        """The penalty's gradients (zero for the biases, and for all without regularization)."""
        gradients = self.params.with_flat(np.zeros_like(self.params.flat))
        if self.regularization is not None:
            self.regularization.add_gradient(self.params, gradients)
        return gradients

    @cached_property
    def updated(self) -> Parameters:
        updated, sgd = self.params.empty_like(), SGD(self.learning_rate)
        sgd.step(sgd.init(updated.flat.size), self.params.flat, self.grads.flat, updated.flat)
        check_update_finite(updated)
        return updated

    @cached_property
    def deltas(self) -> tuple[list[Array], list[Array]]:
        """Per sample ``∂L/∂a`` and ``δ = ∂L/∂z`` of every layer (the backward pass unsummed).

        For a loss from logits the last layer's ``∂L/∂a`` is its δ: its activation is skipped.
        """
        dy = loss_gradient(self.fwd, self.t, self.loss)
        deltas = backpropagate(self.params, self.fwd, dy, self.loss.from_logits)
        return [da for da, _ in deltas], [dz for _, dz in deltas]

    def correct(self, key: Key) -> Array:
        """The correct value at ``key``."""
        match key:
            case ("layers", int(index), "z"):
                return self.fwd.z[index]
            case ("layers", int(index), _):
                return self.fwd.a[index]
            case ("outputs",):
                return self.fwd.outputs
            case ("loss",):
                return np.array(self.value)
            case ("gradients", int(index), str(part)):
                return _pick(self.grads, index, part)
            case ("network", "layers", int(index), str(part)):
                return _pick(self.updated, index, part)
        raise KeyError(key)

    def input_of(self, index: int) -> Array:
        """What layer ``index`` reads: the inputs or the previous layer's a."""
        return self.fwd.a[index - 1] if index else self.x


def _prev(index: int) -> str:
    return f"layer {index - 1}'s a" if index else "the inputs"


def _forward_mistakes(truth: _Truth, key: Key) -> Iterator[tuple[Array, str]]:
    params, fwd = truth.params, truth.fwd
    last = len(params.layers) - 1
    index = last if key == ("outputs",) else int(key[1])
    W, b = params.layers[index]
    name = params.activations[index]
    a_prev = truth.input_of(index)
    if key[-1] == "z":
        yield a_prev @ W.T, f"the bias is missing: z = W·{_prev(index)} + b"
        if index and params.activations[index - 1] != "identity":
            z_prev = fwd.z[index - 1]
            yield (
                z_prev @ W.T + b,
                f"layer {index - 1}'s z is used where its a belongs: z = W·{_prev(index)} + b",
            )
        if W.shape[0] == W.shape[1]:
            yield a_prev @ W + b, "W is transposed: z = W·x + b, one row of W per unit"
    elif name != "identity":
        yield fwd.z[index], f"the activation is not applied: a = {ACTIVATIONS[name].formula}"


def _loss_mistakes(truth: _Truth) -> Iterator[tuple[Array, str]]:
    value, samples = truth.value, len(truth.x)
    if truth.loss_name == "half_squared_error":
        yield np.array(2.0 * value), "the ½ is missing: the loss is ½·Σ(y − t)² per sample"
    if truth.loss_name == "mean_squared_error":
        yield np.array(0.5 * value), "mean_squared_error has no ½: the mean of (y − t)²"
    if samples > 1:
        yield (
            np.array(samples * value),
            "summed over the samples: a batch's loss is the mean of the samples' losses",
        )


def _derivative_skipped(name: ActivationName) -> str:
    if name == "relu":
        return "the ReLU derivative is applied where z ≤ 0: relu'(z) is 1 where z > 0, else 0"
    if name == "leaky_relu":
        return (
            f"the leaky ReLU derivative is applied as 1 where z ≤ 0: it is {LEAKY_RELU_SLOPE} there"
        )
    return f"the derivative {name}'(z) is missing: δ = ∂L/∂a ⊙ {name}'(z)"


def _delta_variants(truth: _Truth, index: int) -> Iterator[tuple[Array, str]]:
    """Layer ``index``'s δ with one usual mistake of the backward pass made at that layer."""
    params, fwd = truth.params, truth.fwd
    das, dzs = truth.deltas
    name = params.activations[index]
    last = len(params.layers) - 1
    if name != "identity" and not (truth.loss.from_logits and index == last):
        yield das[index], _derivative_skipped(name)
    if index < last:
        W_next = params.layers[index + 1][0]
        if W_next.shape[0] == W_next.shape[1]:
            da = dzs[index + 1] @ W_next.T
            yield (
                ACTIVATIONS[name].backward(fwd.z[index], fwd.a[index], da),
                f"layer {index + 1}'s W is not transposed: δ{index} = "
                f"(W{index + 1}ᵀ·δ{index + 1}) ⊙ f'(z{index})",
            )


def _gradient_mistakes(truth: _Truth, key: Key, correct: Array) -> Iterator[tuple[Array, str]]:
    index, part = int(key[1]), str(key[2])
    difference, samples = truth.loss.difference, len(truth.x)
    yield -correct, f"the sign is flipped: the loss's derivative is {difference}, not the reverse"
    if truth.loss_name == "half_squared_error":
        yield 2.0 * correct, MISSING_HALF
    elif truth.loss_name == "mean_squared_error":
        yield 0.5 * correct, "the 2 of ∂/∂y (y − t)² = 2·(y − t) is missing"
    if samples > 1:
        yield samples * correct, "summed over the samples: the loss is their mean, and so is ∂L"
    a_prev = truth.input_of(index)
    for delta, hint in _delta_variants(truth, index):
        yield (delta.sum(axis=0) if part == "bias" else delta.T @ a_prev), hint
    rule = truth.regularization
    if part == "weights" and rule is not None:
        penalty = rule.regularizer.slope
        yield (
            correct - _pick(truth.penalty_gradients, index, part),
            f"the {rule.name} penalty's gradient is missing: each weight's gains "
            f"rate·{penalty} with rate = {rule.rate}",
        )
    if part == "weights" and index:
        dz = truth.deltas[1][index]
        if truth.params.activations[index - 1] != "identity":
            yield (
                dz.T @ truth.fwd.z[index - 1],
                f"layer {index - 1}'s z is used where its a belongs: ∂L/∂W = δ·a_prevᵀ",
            )
        if a_prev.shape == truth.x.shape:
            yield dz.T @ truth.x, f"the inputs are used where {_prev(index)} belongs"


def _update_mistakes(truth: _Truth, key: Key) -> Iterator[tuple[Array, str]]:
    index, part = int(key[2]), str(key[3])
    w, g = _pick(truth.params, index, part), _pick(truth.grads, index, part)
    lr = truth.learning_rate
    yield w + lr * g, UPDATE_SIGN
    yield w - g, f"the learning rate is missing: w ← w − η·∂L/∂w with η = {lr}"
    yield w, "not updated: w ← w − η·∂L/∂w"
    yield -lr * g, "this is the step −η·∂L/∂w: the new value is w − η·∂L/∂w"


def _mistakes(truth: _Truth, key: Key, correct: Array) -> Iterator[tuple[Array, str]]:
    """Values of the usual mistakes at ``key``, each with its hint, likeliest first."""
    if correct.ndim == 2 and correct.shape[0] == correct.shape[1]:
        yield correct.T, _transposed(key)
    if key[0] in PER_SAMPLE:
        yield from _forward_mistakes(truth, key)
    elif key == ("loss",):
        yield from _loss_mistakes(truth)
    elif key[0] == "gradients":
        yield from _gradient_mistakes(truth, key, correct)
    else:
        yield from _update_mistakes(truth, key)


def _transposed(key: Key) -> str:
    if key[0] in PER_SAMPLE:
        return "transposed: one row per sample, one column per unit"
    if key[0] == "gradients":
        return "transposed: ∂L/∂W = δ·a_prevᵀ has W's shape, one row per unit"
    return "transposed: W has one row per unit, one column per input"


def _formula(truth: _Truth, stage: Stage, key: Key) -> str:
    """The formula of the step at ``key``, as a reminder when no usual mistake matches."""
    params = truth.params
    if stage == "forward":
        index = len(params.layers) - 1 if key == ("outputs",) else int(key[1])
        if key[-1] == "z":
            return f"z = W·{_prev(index)} + b with layer {index}'s W (one row per unit) and b"
        prefix = "the outputs are the last layer's a" if key == ("outputs",) else "a"
        return f"{prefix} = {ACTIVATIONS[params.activations[index]].formula} of layer {index}'s z"
    if stage == "loss":
        return f"the {truth.loss_name} loss is {truth.loss.formula}"
    if stage == "output_delta":
        return (
            f"δ = ∂L/∂z of the last layer = {truth.loss.output_delta}; its bias gradient "
            "is δ summed over samples"
        )
    if stage == "backward":
        index = int(key[1])
        if key[2] == "weights":
            prev = _prev(index)
            formula = f"∂L/∂W{index} = δ{index}·a_prevᵀ, a_prev = {prev}, summed over samples"
            rule = truth.regularization
            if rule is None:
                return formula
            return f"{formula}, plus the {rule.name} penalty's rate·{rule.regularizer.slope}"
        name = params.activations[index]
        return (
            f"δ{index} = (W{index + 1}ᵀ·δ{index + 1}) ⊙ {name}'(z{index}); the bias gradient is "
            "δ summed over samples"
        )
    return f"w ← w − η·∂L/∂w with η = {truth.learning_rate} and this step's gradient"


Near = Callable[[Array, Array], bool]
"""Whether a claim is within its precision of a value."""


def _hint(truth: _Truth, stage: Stage, key: Key, claimed: Array, correct: Array, near: Near) -> str:
    """The usual mistakes the wrong claim matches at its precision (two can give one value), else
    the formula of its step."""
    if claimed.shape != correct.shape:
        hint = _transposed(key)
        if near(claimed.T, correct):
            return hint
        return f"{hint}; transposed back it is wrong too: {_formula(truth, stage, key)}"
    matches = [hint for value, hint in _mistakes(truth, key, correct) if near(claimed, value)]
    return " — or ".join(dict.fromkeys(matches)) or _formula(truth, stage, key)


def _activate(name: ActivationName, z: Array) -> Array:
    activation = ACTIVATIONS[name]
    if activation.is_identity:
        return z
    a = np.empty_like(z)
    for op in activation.forward_ops(z, a):
        op()
    return a


class _Student:
    """The step's values as the student's claims make them: a value is its claim (when of the
    value's shape and judged), else the engine's arithmetic on the student's values of its inputs;
    each with the wrong claims it follows from (its roots)."""

    def __init__(self, truth: _Truth, claims: Mapping[Key, Array]) -> None:
        self.truth, self.claims = truth, claims
        self.last = len(truth.params.layers) - 1
        self.rank = {key: place for place, (_, key) in enumerate(order(self.last + 1))}
        self.judged: dict[Key, frozenset[Key]] = {}
        self.values: dict[Key, Array] = {}
        self.roots: dict[Key, frozenset[Key]] = {}

    def inputs(self, key: Key) -> list[Key]:
        """The values the step at ``key`` is computed from."""
        last, from_logits = self.last, self.truth.loss.from_logits
        match key:
            case ("layers", int(index), "z"):
                return [("layers", index - 1, "a")] if index else []
            case ("layers", int(index), _):
                return [("layers", index, "z")]
            case ("outputs",):
                return [("layers", last, "a")]
            case ("loss",):
                return [("layers", last, "z") if from_logits else ("outputs",)]
            case ("delta", int(index)) if index == last:
                if from_logits:
                    return [("layers", last, "z")]
                return [("outputs",), ("layers", last, "z")]
            case ("delta", int(index)):
                return [("delta", index + 1), ("layers", index, "z"), ("layers", index, "a")]
            case ("gradients", int(index), "bias"):
                # δ's own inputs: the student's δ of one sample is this very claim.
                return self.inputs(("delta", index))
            case ("gradients", int(index), _):
                return [("delta", index)] + ([("layers", index - 1, "a")] if index else [])
            case ("network", "layers", int(index), str(part)):
                return [("gradients", index, part)]
        raise KeyError(key)

    def _claim_of(self, key: Key) -> Key | None:
        """The judged claim that stands for ``key``'s value, if any (one sample's δ is its bias
        gradient)."""
        if key[0] == "delta":
            index = int(key[1])
            bias: Key = ("gradients", index, "bias")
            return bias if len(self.truth.x) == 1 and bias in self.judged else None
        return key if key in self.judged else None

    def value(self, key: Key) -> Array:
        """The student's value at ``key``."""
        if key not in self.values:
            claim = self._claim_of(key)
            if claim is None:
                self.values[key] = self.recomputed(key)
                self.roots[key] = self.input_roots(key)
            else:
                self.values[key] = np.reshape(self.claims[claim], self.truth_shape(key))
                self.roots[key] = self.judged[claim]
        return self.values[key]

    def truth_shape(self, key: Key) -> tuple[int, ...]:
        """The shape of the value at ``key``: a δ has one row per sample."""
        if key[0] == "delta":
            return self.truth.fwd.z[int(key[1])].shape
        return self.truth.correct(key).shape

    def input_roots(self, key: Key) -> frozenset[Key]:
        """The wrong claims the inputs of ``key`` follow from."""
        roots: frozenset[Key] = frozenset()
        for item in self.inputs(key):
            self.value(item)
            roots |= self.roots[item]
        return roots

    def recomputed(self, key: Key) -> Array:
        """The value at ``key`` computed from the student's values of its inputs."""
        truth, params, v = self.truth, self.truth.params, self.value
        match key:
            case ("layers", int(index), "z"):
                W, b = params.layers[index]
                return (v(("layers", index - 1, "a")) if index else truth.x) @ W.T + b
            case ("layers", int(index), _):
                return _activate(params.activations[index], v(("layers", index, "z")))
            case ("outputs",):
                return v(("layers", self.last, "a"))
            case ("loss",):
                return np.array(truth.loss.value(v(self.inputs(key)[0]), truth.t))
            case ("delta", int(index)):
                return self._delta(index)
            case ("gradients", int(index), "bias"):
                total: Array = self._delta(index).sum(axis=0)
                return total
            case ("gradients", int(index), _):
                a_prev = v(("layers", index - 1, "a")) if index else truth.x
                gradient: Array = v(("delta", index)).T @ a_prev
                if truth.regularization is not None:
                    gradient += truth.penalty_gradients.layers[index][0]
                return gradient
            case ("network", "layers", int(index), str(part)):
                w = _pick(params, index, part)
                return w - truth.learning_rate * v(("gradients", index, part))
        raise KeyError(key)

    def _delta(self, index: int) -> Array:
        truth, v = self.truth, self.value
        name = truth.params.activations[index]
        z = v(("layers", index, "z"))
        if index == self.last:
            if truth.loss.from_logits:
                return truth.loss.gradient(z, truth.t)
            outputs = v(("outputs",))
            return ACTIVATIONS[name].backward(z, outputs, truth.loss.gradient(outputs, truth.t))
        W_next = truth.params.layers[index + 1][0]
        da = v(("delta", index + 1)) @ W_next
        return ACTIVATIONS[name].backward(z, v(("layers", index, "a")), da)


def _judge(
    student: _Student, stage: Stage, key: Key, claimed: Array, unit: Array, precision: Precision
) -> Check:
    """The verdict on one claim (of any shape) and what goes with it."""
    truth, correct = student.truth, student.truth.correct(key)

    def near(c: Array, value: Array) -> bool:
        # A transposed claim is compared transposed back, its units with it.
        return precision.near(c, value, unit if unit.shape == c.shape else unit.T)

    if claimed.shape != correct.shape:
        hint = _hint(truth, stage, key, claimed, correct, near)
        return Check(
            stage, key, claimed, correct, "wrong", None, None, None, hint, (0,) * correct.ndim
        )
    roots = student.input_roots(key)
    verdict: Verdict = "wrong"
    if near(claimed, correct) or (not roots and near(claimed, student.recomputed(key))):
        verdict = "correct"
    elif roots and near(claimed, student.recomputed(key)):
        verdict = "carried_forward"
    student.judged[key] = {
        "correct": frozenset(),
        "carried_forward": roots,
        "wrong": frozenset({key}),
    }[verdict]
    allowed = precision.allowed(correct, unit)
    found = error(claimed, correct)
    if verdict == "wrong":
        hint = _hint(truth, stage, key, claimed, correct, near)
        wrong_at = _first_over(claimed, correct, allowed)
        return Check(stage, key, claimed, correct, verdict, found, allowed, None, hint, wrong_at)
    source = min(roots, key=student.rank.__getitem__) if verdict == "carried_forward" else None
    return Check(stage, key, claimed, correct, verdict, found, allowed, source, None, None)


@quiet_floating
def check(
    params: Parameters,
    x: Array,
    t: Array,
    loss: LossName,
    learning_rate: float,
    claims: Mapping[Key, Array],
    tolerance: float | None = None,
    *,
    min_significant: int = MIN_SIGNIFICANT,
    units: Mapping[Key, Array] | None = None,
    malformed: Collection[Key] = (),
    regularization: Regularization | None = None,
) -> list[Check]:
    """Every claim checked in the order of the computation (see the module docstring).

    ``units`` holds one unit of the last decimal place of each claimed number as written (read
    from its shortest repr where missing); ``malformed`` the claims whose shape is neither the
    value's nor its transpose; ``regularization`` the penalty whose gradient the weights'
    gradients include.
    """
    truth = _Truth(params, x, t, loss, learning_rate, regularization)
    precision = Precision(tolerance, min_significant)
    student = _Student(truth, claims)
    units = units or {}
    checks = []
    for stage, key in order(len(params.layers)):
        if key in malformed:
            correct = truth.correct(key)
            wrong_at = (0,) * correct.ndim
            checks.append(
                Check(stage, key, None, correct, "wrong", None, None, None, None, wrong_at)
            )
        elif key in claims:
            claimed = claims[key]
            unit = units[key] if key in units else units_of(claimed)
            checks.append(_judge(student, stage, key, claimed, unit, precision))
    return checks
