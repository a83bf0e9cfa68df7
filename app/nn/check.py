"""Check a hand derivation: each claimed value against the correct one, in the order of backprop.

A claim is keyed by its JSON path in the request's ``claimed``: ``("layers", i, "z" | "a")``,
``("outputs",)``, ``("loss",)``, ``("gradients", i, "weights" | "bias")`` and
``("network", "layers", i, "weights" | "bias")``, the parameters after one SGD step
``w − η·∂L/∂w``. Per-sample values (z, a, outputs) are ``(samples, units)`` arrays, the loss a
0-d array. A claim is right when every entry has ``|claimed − correct| ≤ tol · max(1, |correct|)``.
A matrix claim may come transposed (the caller lets no other wrong shape through): it is wrong.

Checks follow the computation: ``forward`` (each layer's z, then its a, then the outputs),
``loss``, ``output_delta`` (the last layer's bias gradient, which is ``δ = ∂L/∂z`` summed over
samples), ``backward`` from the last layer to the first (each layer's weights gradient, then the
bias gradient of the layer before, its δ), ``update`` from the first layer to the last. A wrong
claim gets a hint: the usual mistake whose value it matches (the correct computation with that one
mistake made; all of them when several give that value), else the formula of its step.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

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
from app.nn.types import Array

Key = tuple[str | int, ...]
PER_SAMPLE = frozenset({"layers", "outputs"})

MISSING_HALF = "the ½ is missing: ∂/∂y ½·(y − t)² = y − t (the square's 2 cancels the ½)"
UPDATE_SIGN = "sign error in the update: w ← w − η·∂L/∂w, a step against the gradient"


@dataclass(frozen=True)
class Check:
    """One claimed value, the correct one and the verdict (a hint when it is wrong)."""

    stage: Stage
    key: Key
    claimed: Array
    correct: Array
    error: float | None
    hint: str | None
    wrong_entry: tuple[int, ...] | None
    """The index of the claim's first entry over the tolerance (its first entry when it is
    transposed); None when the claim is right."""

    @property
    def right(self) -> bool:
        """Whether the claim is within the tolerance."""
        return self.hint is None

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


def _measured(
    claimed: Array, correct: Array, tolerance: float
) -> tuple[float | None, tuple[int, ...] | None]:
    """The claim's error (None when its shape differs: it is transposed) and its first wrong
    entry (see :attr:`Check.wrong_entry`)."""
    if claimed.shape != correct.shape:
        return None, (0,) * correct.ndim
    errors = _scaled_errors(claimed, correct)
    found = float(np.max(errors))
    if not found > tolerance:
        return found, None
    return found, tuple(int(k) for k in np.argwhere(errors > tolerance)[0])


def _pick(tensors: Parameters, index: int, part: str) -> Array:
    """Layer ``index``'s ``"weights"`` or ``"bias"``."""
    W, b = tensors.layers[index]
    return b if part == "bias" else W


class _Truth:
    """The correct values of one SGD step, each computed when first needed."""

    def __init__(
        self, params: Parameters, x: Array, t: Array, loss: LossName, learning_rate: float
    ) -> None:
        self.params, self.x, self.t, self.loss_name = params, x, t, loss
        self.loss, self.learning_rate = LOSSES[loss], learning_rate
        self.fwd, self.value = evaluate(params, x, t, self.loss)

    @cached_property
    def grads(self) -> Parameters:
        grads = compute_gradients(self.params, self.fwd, self.t, self.loss)
        check_gradients_finite(grads)
        return grads

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
            return f"∂L/∂W{index} = δ{index}·a_prevᵀ, a_prev = {prev}, summed over samples"
        name = params.activations[index]
        return (
            f"δ{index} = (W{index + 1}ᵀ·δ{index + 1}) ⊙ {name}'(z{index}); the bias gradient is "
            "δ summed over samples"
        )
    return f"w ← w − η·∂L/∂w with η = {truth.learning_rate} and this step's gradient"


def _close(claimed: Array, value: Array, tolerance: float) -> bool:
    return claimed.shape == value.shape and error(claimed, value) <= tolerance


def _hint(
    truth: _Truth, stage: Stage, key: Key, claimed: Array, correct: Array, tolerance: float
) -> str:
    """The usual mistakes the wrong claim matches (two can give one value), else the formula of
    its step."""
    if claimed.shape != correct.shape:
        hint = _transposed(key)
        if _close(claimed.T, correct, tolerance):
            return hint
        return f"{hint}; transposed back it is wrong too: {_formula(truth, stage, key)}"
    matches = [
        hint for value, hint in _mistakes(truth, key, correct) if _close(claimed, value, tolerance)
    ]
    return " — or ".join(dict.fromkeys(matches)) or _formula(truth, stage, key)


@quiet_floating
def check(
    params: Parameters,
    x: Array,
    t: Array,
    loss: LossName,
    learning_rate: float,
    claims: Mapping[Key, Array],
    tolerance: float,
) -> list[Check]:
    """Every claim checked in the order of the computation (see the module docstring)."""
    truth = _Truth(params, x, t, loss, learning_rate)
    checks = []
    for stage, key in order(len(params.layers)):
        if key not in claims:
            continue
        claimed, correct = claims[key], truth.correct(key)
        found, entry = _measured(claimed, correct, tolerance)
        hint = None if entry is None else _hint(truth, stage, key, claimed, correct, tolerance)
        checks.append(Check(stage, key, claimed, correct, found, hint, entry))
    return checks
