"""Check a hand derivation as a teacher marks one: each claimed value against the correct one and
against the value the student's own earlier claims give, in the order of backprop.

A claim is keyed by its JSON path in the request's ``claimed``: ``("layers", i, "z" | "a")``,
``("outputs",)``, ``("loss",)``, ``("gradients", i, "weights" | "bias")`` and
``("network", "layers", i, "weights" | "bias")``, the parameters after one SGD step
``w − η·∂L/∂w``, and with momentum ``("optimizer_state", "momentum_buffer", i, "weights" |
"bias")``, the new velocity ``v ← μ·v + ∂L/∂w`` (torch.optim.SGD's buffer: ``∂L/∂w`` itself at
the first step) that the step ``w − η·v`` takes. Per-sample values (z, a, outputs) are
``(samples, units)`` arrays, the loss a 0-d array. A matrix claim may come transposed: it is
wrong. A claim of any other wrong shape is given as ``malformed``: it is wrong, and the values
after it are computed as if it were not there.

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
from the claimed outputs (a loss from logits too: log y as the student takes it), a weight
gradient from the δ and the a of the layer before, δ of a layer from the δ of the next (and its z
and a), the velocity from the claimed gradients, updated parameters from the claimed velocity (the
claimed gradients without momentum); a value not claimed is recomputed in turn.
A layer's δ is its claimed bias gradient for one sample; for a batch (the bias gradient sums δ
over samples) it is recomputed.

Checks follow the computation: ``forward`` (each layer's z, then its a, then the outputs),
``loss``, ``output_delta`` (the last layer's bias gradient, which is ``δ = ∂L/∂z`` summed over
samples), ``backward`` from the last layer to the first (each layer's weights gradient, then the
bias gradient of the layer before, its δ), ``update`` from the first layer to the last (each
layer's velocity, then its parameters). A wrong
claim is marked with every usual mistake (:data:`MistakeId`) whose value it matches at the
claim's precision (the correct computation with that one mistake made; several can give one
value), each with a text naming the numbers; its hint is their texts, else the formula of its
step. Texts count layers, units and samples from 1 as the worked solution does (``layer 1's δ
(unit 2)``, ``δ⁽¹⁾``, ``W⁽²⁾``); keys index the JSON from 0.

With a ``regularization`` penalty the gradients claimed are those of loss + penalty: each weight's
gains the penalty's gradient (``rate·sign(w)`` or ``rate·w``, from the weights sent), recomputed
from the student's δ and a like the rest; leaving it out is a usual mistake.
"""

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from time import monotonic
from typing import Final, Literal, NamedTuple

import numpy as np

from app.nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE, ActivationName
from app.nn.errors import DeadlineError, quiet_floating
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
from app.nn.optimizers import SGD, OptimizerState
from app.nn.regularization import Regularization
from app.nn.types import Array

Key = tuple[str | int, ...]
Entry = tuple[int, ...]
Verdict = Literal["correct", "carried_forward", "wrong"]
MistakeId = Literal[
    "missing_bias",
    "z_for_a",
    "activation_not_applied",
    "wrong_activation",
    "derivative_at_a",
    "derivative_shortcut_on_z",
    "missing_derivative",
    "weights_not_transposed",
    "updated_weights_in_backprop",
    "missing_half",
    "extra_half",
    "sign_flipped",
    "sum_not_mean",
    "mean_not_sum",
    "transposed",
    "wrong_layer_input",
    "inputs_for_a",
    "update_sign",
    "learning_rate_missing",
    "weights_not_updated",
    "bias_not_updated",
    "step_only",
    "penalty_gradient_missing",
    "momentum_missing",
    "momentum_factor_missing",
    "old_velocity",
]
"""The usual mistakes, each named by a stable id (docs/explain-and-check.md describes each)."""
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
    text = repr(abs(float(value)))
    return decimals(text.removesuffix(".0"))


SHORTEST_FIGURES: Final = 11
"""The significant figures :func:`units_of` looks for in a number; a number written with more has
a unit below every allowance's floor, ``DEFAULT_TOLERANCE·max(1, |v|)``, and gets one there."""


EXACT_INTEGERS: Final = 2.0**53
"""Past it, dividing a float by a power of ten is inexact, so rounding it tells nothing."""


def units_of(values: Array) -> Array:
    """One unit of each number's last decimal place as its shortest repr writes it, in
    whole-array passes (per number only beyond :data:`EXACT_INTEGERS`): the fewest decimals
    ``d``, from the number's first significant figure on, for which ``v`` rounded to ``d``
    decimals is ``v``. A number of more
    than :data:`SHORTEST_FIGURES` figures gets the unit of that many, which changes no allowance
    (see :meth:`Precision.allowed`); a lone 0 has no decimals.
    """
    v = np.abs(np.asarray(values, dtype=np.float64))
    todo = np.isfinite(v) & (v != 0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
        first = -np.floor(np.log10(np.where(todo, v, 1.0)))
        places = np.where(todo, first + SHORTEST_FIGURES - 1, 0.0)
        for extra in range(SHORTEST_FIGURES):
            d = first + extra
            step = 10.0 ** np.abs(d)
            rounded = np.where(d >= 0, np.rint(v * step) / step, np.rint(v / step) * step)
            exact = todo & (rounded == v)
            places[exact] = d[exact]
            todo &= ~exact
            if not todo.any():
                break
    beyond = np.flatnonzero(np.isfinite(v) & (v >= EXACT_INTEGERS))
    for i in beyond:  # v / 10**k is inexact there: these few are read from their repr
        places.flat[i] = min(written_decimals(v.flat[i]), first.flat[i] + SHORTEST_FIGURES - 1)
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
        """Whether every claimed number is within its allowance of ``value``. Nothing is near a
        value that is not finite (one recomputed from a student's numbers can be: log 0 of an
        output rounded to 0), whose allowance would be infinite too."""
        if claimed.shape != value.shape or not np.all(np.isfinite(value)):
            return False
        allowed = self.allowed(value, unit) * (1 + SLACK)
        with np.errstate(over="ignore", invalid="ignore"):  # an infinite difference is not near
            return bool(np.all(np.abs(claimed - value) <= allowed))


@dataclass(frozen=True)
class Mistake:
    """A usual mistake that, made alone, gives a wrong claim's value at its precision: its id,
    and what was done against what should have been, with the numbers of one entry."""

    id: MistakeId
    text: str


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
    """For a wrong value: the texts of its mistakes, else the formula of its step."""
    mistakes: tuple[Mistake, ...]
    """For a wrong value: every usual mistake that gives it (several can coincide)."""
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


def order(layers: int, momentum: bool = False) -> Iterator[tuple[Stage, Key]]:
    """Every claimable value of a network of ``layers`` layers, in the order of the computation
    (with ``momentum``, each layer's velocity before its update)."""
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
        if momentum:
            yield "update", ("optimizer_state", "momentum_buffer", index, "weights")
            yield "update", ("optimizer_state", "momentum_buffer", index, "bias")
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


def _velocity_key(key: Key) -> Key:
    """The velocity of the parameter the update at ``key`` changes."""
    return ("optimizer_state", "momentum_buffer", key[-2], key[-1])


class _Truth:
    """The correct values of one SGD step, each computed when first needed."""

    def __init__(
        self,
        params: Parameters,
        x: Array,
        t: Array,
        loss: LossName,
        optimizer: SGD,
        regularization: Regularization | None = None,
        state: OptimizerState | None = None,
    ) -> None:
        self.params, self.x, self.t, self.loss_name = params, x, t, loss
        self.loss, self.optimizer = LOSSES[loss], optimizer
        self.learning_rate, self.momentum = optimizer.learning_rate, optimizer.momentum
        self.state = state if state is not None else optimizer.init(params.flat.size)
        self.regularization = regularization
        self.fwd, self.value = evaluate(params, x, t, self.loss)
        self.last_variants: list[list[_Variant]] | None = None
        """The last layer's usual backward mistakes, back-propagated (see ``_from_last``)."""

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
    def stepped(self) -> tuple[Parameters, Parameters]:
        """The parameters after the step and the new velocity (zeros without momentum)."""
        updated, after = self.params.empty_like(), self.state.copy()
        self.optimizer.step(after, self.params.flat, self.grads.flat, updated.flat)
        check_update_finite(updated)
        velocity = after.buffers.get("momentum_buffer", np.zeros_like(self.params.flat))
        return updated, self.params.with_flat(velocity)

    def old_velocity(self, index: int, part: str) -> Array:
        """The velocity before the step (zero at the first step)."""
        if self.first_step:
            return np.zeros_like(_pick(self.params, index, part))
        return _pick(self.params.with_flat(self.state.buffers["momentum_buffer"]), index, part)

    @property
    def first_step(self) -> bool:
        """Whether the velocity starts here (torch.optim.SGD's buffer is the gradient)."""
        return self.state.step == 0

    def decayed(self, index: int, part: str, g: Array) -> Array:
        """The gradient ``g`` with the optimizer's weight decay ``λ·w`` added."""
        decay = self.optimizer.weight_decay
        return g + decay * _pick(self.params, index, part) if decay else g

    def velocity(self, index: int, part: str, g: Array) -> Array:
        """The new velocity from gradient ``g``: ``μ·v + (1 − dampening)·g``, ``g`` at first."""
        g = self.decayed(index, part, g)
        if self.first_step:
            return g
        dampening = self.optimizer.dampening
        return self.momentum * self.old_velocity(index, part) + (1.0 - dampening) * g

    def direction(self, index: int, part: str, g: Array, velocity: Array) -> Array:
        """What the step multiplies by η: the velocity (Nesterov: ``g + μ·v``), or without
        momentum the gradient."""
        if not self.momentum:
            return self.decayed(index, part, g)
        if self.optimizer.nesterov:
            return self.decayed(index, part, g) + self.momentum * velocity
        return velocity

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
                return _pick(self.stepped[0], index, part)
            case ("optimizer_state", "momentum_buffer", int(index), str(part)):
                return _pick(self.stepped[1], index, part)
        raise KeyError(key)

    def input_of(self, index: int) -> Array:
        """What layer ``index`` reads: the inputs or the previous layer's a."""
        return self.fwd.a[index - 1] if index else self.x


SUPERSCRIPTS: Final = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _layer(index: int) -> str:
    """Layer ``index`` (the JSON's, from 0) in a text, counted from 1 as the worked solution
    counts it: ``layer 1`` for ``layers[0]``."""
    return f"layer {index + 1}"


def _named(symbol: str, index: int) -> str:
    """Layer ``index``'s ``symbol`` (the JSON's, from 0) as the worked solution names it, counted
    from 1: ``δ⁽¹⁾``, ``W⁽²⁾``."""
    return f"{symbol}⁽{str(index + 1).translate(SUPERSCRIPTS)}⁾"


def _prev(index: int) -> str:
    return f"{_layer(index - 1)}'s a" if index else "the inputs"


def _n(value: float | Array) -> str:
    """A number in a mistake's text: four significant figures, a true minus sign."""
    return f"{float(value):.4g}".replace("-", "−")


def _factor(value: float | Array) -> str:
    """A number as a factor of a product: in parentheses when negative, ``0.01·(−1.885)``."""
    text = _n(value)
    return f"({text})" if text.startswith("−") else text


class _Variant(NamedTuple):
    """The value one usual mistake gives, and its text at a claim's first wrong entry."""

    id: MistakeId
    value: Array
    text: Callable[[Entry], str]


def _differ_most(value: Array, correct: Array) -> Entry:
    """The entry where a mistake's value is furthest from the correct one."""
    flat = int(np.argmax(np.abs(value - correct)))
    return tuple(int(k) for k in np.unravel_index(flat, correct.shape))


def _forward_mistakes(truth: _Truth, key: Key) -> Iterator[_Variant]:
    params, fwd = truth.params, truth.fwd
    last = len(params.layers) - 1
    index = last if key == ("outputs",) else int(key[1])
    W, b = params.layers[index]
    name = params.activations[index]
    a_prev, prev = truth.input_of(index), _prev(index)
    z, a = fwd.z[index], fwd.a[index]
    no_bias = a_prev @ W.T
    if key[-1] == "z":
        yield _Variant(
            "missing_bias",
            no_bias,
            lambda e: (
                f"the bias is missing: z = W·{prev} + b = {_n(no_bias[e])} + "
                f"{_n(b[e[-1]])} = {_n(z[e])}, not W·{prev} = {_n(no_bias[e])}"
            ),
        )
        if index and params.activations[index - 1] != "identity":
            from_z = fwd.z[index - 1] @ W.T + b
            yield _Variant(
                "z_for_a",
                from_z,
                lambda e: (
                    f"{_layer(index - 1)}'s z is used where its a belongs: z = W·{prev} + b "
                    f"= {_n(z[e])}, not W·z + b = {_n(from_z[e])}"
                ),
            )
        if W.shape[0] == W.shape[1]:
            flipped = a_prev @ W + b
            yield _Variant(
                "transposed",
                flipped,
                lambda e: (
                    f"W is transposed: z = W·x + b, one row of W per unit: {_n(z[e])}, "
                    f"not Wᵀ·x + b = {_n(flipped[e])}"
                ),
            )
        return
    unbiased = _activate(name, no_bias)
    yield _Variant(
        "missing_bias",
        unbiased,
        lambda e: (
            f"the bias is missing: a = {name}(W·{prev} + b) = {_n(a[e])}, not "
            f"{name}(W·{prev}) = {_n(unbiased[e])}"
        ),
    )
    if name == "identity":
        return
    formula = ACTIVATIONS[name].formula
    yield _Variant(
        "activation_not_applied",
        z,
        lambda e: (
            f"the activation is not applied: a = {formula}: {name}({_n(z[e])}) = "
            f"{_n(a[e])}, not z = {_n(z[e])}"
        ),
    )
    for other in ACTIVATIONS:
        if other not in (name, "identity"):
            yield _wrong_activation(index, name, other, z, a)


def _wrong_activation(
    index: int, name: ActivationName, other: ActivationName, z: Array, a: Array
) -> _Variant:
    value = _activate(other, z)
    return _Variant(
        "wrong_activation",
        value,
        lambda e: (
            f"{other} is applied where {_layer(index)}'s activation is {name}: "
            f"{name}({_n(z[e])}) = {_n(a[e])}, not {other}({_n(z[e])}) = {_n(value[e])}"
        ),
    )


def _loss_mistakes(truth: _Truth, base: Array) -> Iterator[_Variant]:
    """The loss's mistakes made on ``base``: the correct loss, or the one from the student's
    own outputs."""
    value, samples = float(base), len(truth.x)
    if truth.loss_name == "half_squared_error":
        yield _Variant(
            "missing_half",
            np.array(2.0 * value),
            lambda _: (
                f"the ½ is missing: the loss is ½·Σ(y − t)² per sample, {_n(value)}, not "
                f"Σ(y − t)² = {_n(2 * value)}"
            ),
        )
    if truth.loss_name == "mean_squared_error":
        yield _Variant(
            "extra_half",
            np.array(0.5 * value),
            lambda _: (
                f"mean_squared_error has no ½: the mean of (y − t)² is {_n(value)}, not "
                f"half of it, {_n(value / 2)}"
            ),
        )
    if samples > 1:
        yield _Variant(
            "sum_not_mean",
            np.array(samples * value),
            lambda _: (
                "summed over the samples: a batch's loss is the mean of the "
                f"{samples} samples' losses, {_n(value)}, not their sum, {_n(samples * value)}"
            ),
        )


def _derivative_skipped(name: ActivationName) -> str:
    if name == "relu":
        return "the ReLU derivative is applied where z ≤ 0: relu'(z) is 1 where z > 0, else 0"
    if name == "leaky_relu":
        return (
            f"the leaky ReLU derivative is applied as 1 where z ≤ 0: it is {LEAKY_RELU_SLOPE} there"
        )
    return f"the derivative {name}'(z) is missing: δ = ∂L/∂a ⊙ {name}'(z)"


SYMBOLS: Final[dict[ActivationName, str]] = {"sigmoid": "σ"}
"""An activation's name as its derivative is written (σ'(z)); its own name otherwise."""
IN_A: Final = frozenset({"sigmoid", "tanh"})
"""The activations whose derivative is written in a: σ'(z) = a·(1 − a), tanh'(z) = 1 − a²."""


def _layer_variants(truth: _Truth, index: int) -> Iterator[_Variant]:
    """Layer ``index``'s δ with one usual mistake of the backward pass made there; each text
    names the numbers of the unit (and sample) the mistake changes most."""
    params, fwd = truth.params, truth.fwd
    das, dzs = truth.deltas
    name = params.activations[index]
    activation, symbol = ACTIVATIONS[name], SYMBOLS.get(name, name)
    last = len(params.layers) - 1
    z, a, da, dz = fwd.z[index], fwd.a[index], das[index], dzs[index]

    def at(value: Array) -> tuple[Entry, str]:
        entry = _differ_most(value, dz)
        sample = f"sample {entry[0] + 1}, " if len(z) > 1 else ""
        return entry, f"{_layer(index)}'s δ ({sample}unit {entry[1] + 1})"

    if name != "identity" and not (truth.loss.from_logits and index == last):

        def skipped(e: Entry) -> str:
            entry, where = at(da)
            return (
                f"{_derivative_skipped(name)}: in {where} at z = {_n(z[entry])}, δ = "
                f"{_n(dz[entry])}, not ∂L/∂a = {_n(da[entry])}"
            )

        yield _Variant("missing_derivative", da, skipped)
        if name != "softmax":
            ones = np.ones_like(z)
            prime_z = activation.backward(z, a, ones)
            prime_a = activation.backward(a, _activate(name, a), ones)
            at_a = da * prime_a
            lhs, _, rhs = activation.derivative.partition(" = ")
            written = f"{rhs} = " if name in IN_A else ""

            def derivative_at_a(e: Entry) -> str:
                entry, where = at(at_a)
                return (
                    f"you used {symbol}'(a) = {symbol}'({_n(a[entry])}) = {_n(prime_a[entry])} "
                    f"in {where}; {symbol}' is taken at z: {symbol}'({_n(z[entry])}) = "
                    f"{written}{_n(prime_z[entry])}"
                )

            yield _Variant("derivative_at_a", at_a, derivative_at_a)
            if name in IN_A:
                on_z = activation.backward(z, z, da)

                def shortcut(e: Entry) -> str:
                    entry, where = at(on_z)
                    wrong = rhs.replace("a", "z")
                    return (
                        f"you used {wrong} with z = {_n(z[entry])}, {_n(on_z[entry] / da[entry])}, "
                        f"in {where}; {lhs} = {rhs} takes a = {symbol}(z) = {_n(a[entry])}: "
                        f"{_n(prime_z[entry])}"
                    )

                yield _Variant("derivative_shortcut_on_z", on_z, shortcut)
    if index < last:
        W_next = params.layers[index + 1][0]
        delta, delta_after = _named("δ", index), _named("δ", index + 1)
        W_after, z_here = _named("W", index + 1), _named("z", index)
        if W_next.shape[0] == W_next.shape[1]:
            untransposed = activation.backward(z, a, dzs[index + 1] @ W_next.T)

            def not_transposed(e: Entry) -> str:
                entry, where = at(untransposed)
                return (
                    f"{_layer(index + 1)}'s W is not transposed: {delta} = ({W_after}ᵀ·"
                    f"{delta_after}) ⊙ f'({z_here}), in {where} {_n(dz[entry])}, not "
                    f"{_n(untransposed[entry])}"
                )

            yield _Variant("weights_not_transposed", untransposed, not_transposed)
        stepped = W_next - truth.learning_rate * _pick(truth.grads, index + 1, "weights")
        after = activation.backward(z, a, dzs[index + 1] @ stepped)

        def updated(e: Entry) -> str:
            entry, where = at(after)
            return (
                f"{_layer(index + 1)}'s weights after their update are used: {delta} is "
                f"back-propagated through {W_after} as it was before the step, in {where} "
                f"{_n(dz[entry])}, not {_n(after[entry])}"
            )

        yield _Variant("updated_weights_in_backprop", after, updated)


def _delta_variants(truth: _Truth, index: int) -> Iterator[_Variant]:
    """Layer ``index``'s δ with one usual mistake made at that layer or at the last one (then
    back-propagated correctly)."""
    yield from _layer_variants(truth, index)
    if index < len(truth.params.layers) - 1:
        yield from _from_last(truth)[index]


def _from_last(truth: _Truth) -> list[list[_Variant]]:
    """Each layer's δ with one usual mistake made at the last layer and back-propagated
    correctly, computed once per check (the last layer's own entry is empty)."""
    if truth.last_variants is None:
        params, fwd = truth.params, truth.fwd
        last = len(params.layers) - 1
        by_layer: list[list[_Variant]] = [[] for _ in params.layers]
        for variant in _layer_variants(truth, last):
            delta = variant.value
            for below in range(last - 1, -1, -1):
                da = delta @ params.layers[below + 1][0]
                delta = ACTIVATIONS[params.activations[below]].backward(
                    fwd.z[below], fwd.a[below], da
                )
                by_layer[below].append(variant._replace(value=delta))
        truth.last_variants = by_layer
    return truth.last_variants


def _gradient_mistakes(truth: _Truth, key: Key, correct: Array) -> Iterator[_Variant]:
    index, part = int(key[1]), str(key[2])
    yield from _gradient_scalings(truth, correct)
    a_prev = truth.input_of(index)
    for variant in _delta_variants(truth, index):
        delta = variant.value
        yield variant._replace(value=delta.sum(axis=0) if part == "bias" else delta.T @ a_prev)
    rule = truth.regularization
    if part == "weights" and rule is not None:
        without = correct - _pick(truth.penalty_gradients, index, part)
        slope = rule.regularizer.slope
        yield _Variant(
            "penalty_gradient_missing",
            without,
            lambda e: (
                f"the {rule.name} penalty's gradient is missing: each weight's gains "
                f"rate·{slope} with rate = {_n(rule.rate)}: {_n(correct[e])}, not {_n(without[e])}"
            ),
        )
    if part == "weights":
        yield from _input_mistakes(truth, index, correct)


def _gradient_scalings(truth: _Truth, c: Array) -> Iterator[_Variant]:
    """A gradient's mistakes that flip or scale it, made on ``c``: the correct gradient, or the
    one from the student's own earlier values."""
    difference, samples = truth.loss.difference, len(truth.x)
    yield _Variant(
        "sign_flipped",
        -c,
        lambda e: (
            f"the sign is flipped: the loss's derivative is {difference}, not the "
            f"reverse: {_n(c[e])}, not {_n(-c[e])}"
        ),
    )
    if truth.loss_name == "half_squared_error":
        yield _Variant(
            "missing_half", 2.0 * c, lambda e: f"{MISSING_HALF}: {_n(c[e])}, not {_n(2 * c[e])}"
        )
    elif truth.loss_name == "mean_squared_error":
        yield _Variant(
            "extra_half",
            0.5 * c,
            lambda e: (
                f"the 2 of ∂/∂y (y − t)² = 2·(y − t) is missing: {_n(c[e])}, not {_n(c[e] / 2)}"
            ),
        )
    if samples > 1:
        yield _Variant(
            "sum_not_mean",
            samples * c,
            lambda e: (
                "summed over the samples: the loss is their mean, and so is ∂L: "
                f"{_n(c[e])}, not {_n(samples * c[e])}"
            ),
        )
        yield _Variant(
            "mean_not_sum",
            c / samples,
            lambda e: (
                f"averaged over the samples twice: δ = ∂L/∂z already holds the mean's "
                f"1/{samples}, so the gradient sums δ over the samples: {_n(c[e])}, not "
                f"{_n(c[e] / samples)}"
            ),
        )


def _input_mistakes(truth: _Truth, index: int, c: Array) -> Iterator[_Variant]:
    """A weight gradient with another value in place of the layer before's a."""
    dz, prev, fwd = truth.deltas[1][index], _prev(index), truth.fwd
    if index and truth.params.activations[index - 1] != "identity":
        from_z = dz.T @ fwd.z[index - 1]
        yield _Variant(
            "z_for_a",
            from_z,
            lambda e: (
                f"{_layer(index - 1)}'s z is used where its a belongs: ∂L/∂W = δ·a_prevᵀ: "
                f"{_n(c[e])}, not {_n(from_z[e])}"
            ),
        )
    if index and fwd.a[index - 1].shape == truth.x.shape:
        from_x = dz.T @ truth.x
        yield _Variant(
            "inputs_for_a",
            from_x,
            lambda e: f"the inputs are used where {prev} belongs: {_n(c[e])}, not {_n(from_x[e])}",
        )
    own = dz.T @ fwd.a[index]
    if own.shape == c.shape:
        yield _Variant(
            "wrong_layer_input",
            own,
            lambda e: (
                f"{_layer(index)}'s own a is used: ∂L/∂{_named('W', index)} = "
                f"{_named('δ', index)}·a_prevᵀ with "
                f"a_prev = {prev}: {_n(c[e])}, not {_n(own[e])}"
            ),
        )


def _update_mistakes(truth: _Truth, key: Key, correct: Array, d: Array) -> Iterator[_Variant]:
    """The update's mistakes made with the step's direction ``d`` (the gradient, with momentum the
    velocity): the correct one, or the student's (then ``correct`` is the update with it)."""
    index, part = int(key[2]), str(key[3])
    w = _pick(truth.params, index, part)
    lr, new = truth.learning_rate, correct
    grad = "v" if truth.momentum else "∂L/∂w"

    def right(e: Entry) -> str:
        return f"{_n(w[e])} − {_n(lr)}·{_factor(d[e])} = {_n(new[e])}"

    wrong_way, no_rate = w + lr * d, w - d
    yield _Variant(
        "update_sign",
        wrong_way,
        lambda e: (
            f"{UPDATE_SIGN.replace('∂L/∂w', grad)}: {right(e)}, not {_n(w[e])} + "
            f"{_n(lr)}·{_factor(d[e])} = {_n(wrong_way[e])}"
        ),
    )
    yield _Variant(
        "learning_rate_missing",
        no_rate,
        lambda e: (
            f"the learning rate is missing: w ← w − η·{grad} with η = {_n(lr)}: "
            f"{right(e)}, not {_n(w[e])} − {_factor(d[e])} = {_n(no_rate[e])}"
        ),
    )
    unchanged: MistakeId = "bias_not_updated" if part == "bias" else "weights_not_updated"
    yield _Variant(
        unchanged, w, lambda e: f"not updated: w ← w − η·{grad} = {right(e)}, not {_n(w[e])}"
    )
    yield _Variant(
        "step_only",
        -lr * d,
        lambda e: (
            f"this is the step −η·{grad} = {_n(-lr * d[e])}: the new value is "
            f"w − η·{grad} = {right(e)}"
        ),
    )


def _momentum_mistakes(truth: _Truth, key: Key, correct: Array, g: Array) -> Iterator[_Variant]:
    """The velocity's usual mistakes made with the gradient ``g`` (the correct one, or the
    student's: then ``correct`` is the value with it), at the velocity's key or, carried into the
    step, at the update's. At the first step the velocity is the gradient: none applies."""
    if truth.first_step:
        return
    index, part = int(key[-2]), str(key[-1])
    old, fresh = truth.old_velocity(index, part), truth.decayed(index, part, g)
    velocity = truth.velocity(index, part, g)
    mu = _n(truth.momentum)

    def new_v(e: Entry) -> str:
        return f"v ← μ·v + ∂L/∂w = {mu}·{_factor(old[e])} + {_factor(fresh[e])} = {_n(velocity[e])}"

    variants: list[tuple[MistakeId, Array, Callable[[Entry], str]]] = [
        (
            "momentum_missing",
            fresh,
            lambda e: f"the earlier velocity is left out: {new_v(e)}, not ∂L/∂w = {_n(fresh[e])}",
        ),
        (
            "momentum_factor_missing",
            old + (1.0 - truth.optimizer.dampening) * fresh,
            lambda e: f"the momentum μ = {mu} is missing: {new_v(e)}, not v + ∂L/∂w",
        ),
        (
            "old_velocity",
            old,
            lambda e: f"the velocity is not updated: {new_v(e)}, not the earlier v = {_n(old[e])}",
        ),
    ]
    if key[0] == "optimizer_state":
        for mistake, value, text in variants:
            yield _Variant(mistake, value, text)
        return
    w, lr = _pick(truth.params, index, part), truth.learning_rate
    for mistake, value, text in variants:
        if mistake == "momentum_missing":
            stepped = w - lr * fresh
        else:
            stepped = w - lr * truth.direction(index, part, g, value)

        def said(e: Entry, text: Callable[[Entry], str] = text, stepped: Array = stepped) -> str:
            return f"{text(e)}; w ← w − η·v = {_n(correct[e])}, not {_n(stepped[e])}"

        yield _Variant(mistake, stepped, said)


def _mistakes(truth: _Truth, key: Key, correct: Array) -> Iterator[_Variant]:
    """Values of the usual mistakes at ``key``, each with its id and text, likeliest first."""
    if correct.ndim == 2 and correct.shape[0] == correct.shape[1]:
        yield _Variant("transposed", correct.T, lambda _: _transposed(key))
    if key[0] in PER_SAMPLE:
        yield from _forward_mistakes(truth, key)
    elif key == ("loss",):
        yield from _loss_mistakes(truth, correct)
    elif key[0] == "gradients":
        yield from _gradient_mistakes(truth, key, correct)
    else:
        index, part = int(key[-2]), str(key[-1])
        g = _pick(truth.grads, index, part)
        if key[0] == "network":
            velocity = _pick(truth.stepped[1], index, part)
            yield from _update_mistakes(
                truth, key, correct, truth.direction(index, part, g, velocity)
            )
        if truth.momentum:
            yield from _momentum_mistakes(truth, key, correct, g)


def _mistakes_on_own(student: "_Student", key: Key) -> Iterator[_Variant]:
    """The mistakes of a step made on the student's own earlier values (a loss without its ½
    from wrong outputs): those that scale, flip or misapply what the step starts from."""
    truth, base = student.truth, student.recomputed(key)
    if key == ("loss",):
        yield from _loss_mistakes(truth, base)
    elif key[0] == "gradients":
        yield from _gradient_scalings(truth, base)
    elif key[0] in ("network", "optimizer_state"):
        index, part = int(key[-2]), str(key[-1])
        gradient = student.value(("gradients", index, part))
        if key[0] == "network":
            velocity = student.value(_velocity_key(key)) if truth.momentum else gradient
            direction = truth.direction(index, part, gradient, velocity)
            yield from _update_mistakes(truth, key, base, direction)
        if truth.momentum:
            yield from _momentum_mistakes(truth, key, base, gradient)


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
            return f"z = W·{_prev(index)} + b with {_layer(index)}'s W (one row per unit) and b"
        prefix = "the outputs are the last layer's a" if key == ("outputs",) else "a"
        formula = ACTIVATIONS[params.activations[index]].formula
        return f"{prefix} = {formula} of {_layer(index)}'s z"
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
            formula = (
                f"∂L/∂{_named('W', index)} = {_named('δ', index)}·a_prevᵀ, a_prev = {prev}, "
                "summed over samples"
            )
            rule = truth.regularization
            if rule is None:
                return formula
            return f"{formula}, plus the {rule.name} penalty's rate·{rule.regularizer.slope}"
        name = params.activations[index]
        return (
            f"{_named('δ', index)} = ({_named('W', index + 1)}ᵀ·{_named('δ', index + 1)}) ⊙ "
            f"{name}'({_named('z', index)}); the bias gradient is "
            "δ summed over samples"
        )
    if key[0] == "optimizer_state":
        if truth.first_step:
            return "at the first step the velocity is the gradient itself: v = ∂L/∂w"
        return f"v ← μ·v + ∂L/∂w with μ = {truth.momentum}, the earlier v and this step's gradient"
    if truth.momentum:
        return f"w ← w − η·v with η = {truth.learning_rate} and this step's velocity v"
    return f"w ← w − η·∂L/∂w with η = {truth.learning_rate} and this step's gradient"


Near = Callable[[Array, Array], bool]
"""Whether a claim is within its precision of a value."""


def _marks(
    student: "_Student", stage: Stage, key: Key, claimed: Array, entry: Entry, near: Near
) -> tuple[str, tuple[Mistake, ...]]:
    """The usual mistakes the wrong claim matches at its precision (several can give one value),
    their texts at its first wrong ``entry`` as its hint; else the formula of its step. When none
    is made on the correct values, those made on the student's own earlier values are tried."""
    truth = student.truth
    correct = truth.correct(key)
    if claimed.shape != correct.shape:
        text = _transposed(key)
        if near(claimed.T, correct):
            return text, (Mistake("transposed", text),)
        return f"{text}; transposed back it is wrong too: {_formula(truth, stage, key)}", ()
    found = dict.fromkeys(
        Mistake(variant.id, variant.text(entry))
        for variant in _mistakes(truth, key, correct)
        if near(claimed, variant.value)
    )
    if not found and student.input_roots(key):
        found = dict.fromkeys(
            Mistake(variant.id, variant.text(entry))
            for variant in _mistakes_on_own(student, key)
            if near(claimed, variant.value)
        )
    hint = " — or ".join(dict.fromkeys(item.text for item in found))
    return hint or _formula(truth, stage, key), tuple(found)


def _activate(name: ActivationName, z: Array) -> Array:
    activation = ACTIVATIONS[name]
    if activation.is_identity:
        return z
    a = np.empty_like(z)
    for op in activation.forward_ops(z, a):
        op()
    return a


def _loss_of_outputs(truth: _Truth, y: Array) -> float:
    """The loss of outputs ``y`` as a student computes it from them, a loss from logits too:
    ``−mean(t·log y + (1 − t)·log(1 − y))``, ``−Σ t·log y`` per sample."""
    t = truth.t
    with np.errstate(divide="ignore"):  # log 0 of an output rounded to 0: not finite, judged so
        if truth.loss_name == "binary_cross_entropy":
            return float(-np.mean(t * np.log(y) + (1 - t) * np.log(1 - y)))
        if truth.loss_name == "cross_entropy":
            return float(-np.sum(t * np.log(y))) / len(y)
    return truth.loss.value(y, t)


def _logits_delta(truth: _Truth, y: Array) -> Array:
    """The last layer's δ of a loss from logits, from the outputs ``y``: ``(y − t) / size`` for
    binary cross-entropy, ``(y·Σt − t) / samples`` for cross-entropy (the engine's forms with
    σ(z) and softmax(z) as y)."""
    t = truth.t
    if truth.loss_name == "binary_cross_entropy":
        delta: Array = (y - t) / y.size
        return delta
    softmax_delta: Array = (y * t.sum(axis=1, keepdims=True) - t) / len(y)
    return softmax_delta


class _Student:
    """The step's values as the student's claims make them: a value is its claim (when of the
    value's shape and judged), else the engine's arithmetic on the student's values of its inputs;
    each with the wrong claims it follows from (its roots)."""

    def __init__(self, truth: _Truth, claims: Mapping[Key, Array]) -> None:
        self.truth, self.claims = truth, claims
        self.last = len(truth.params.layers) - 1
        steps = order(self.last + 1, bool(truth.momentum))
        self.rank = {key: place for place, (_, key) in enumerate(steps)}
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
                return [("outputs",)]
            case ("delta", int(index)) if index == last:
                return [("outputs",)] + ([] if from_logits else [("layers", last, "z")])
            case ("delta", int(index)):
                return [("delta", index + 1), ("layers", index, "z"), ("layers", index, "a")]
            case ("gradients", int(index), "bias"):
                # δ's own inputs: the student's δ of one sample is this very claim.
                return self.inputs(("delta", index))
            case ("gradients", int(index), _):
                return [("delta", index)] + ([("layers", index - 1, "a")] if index else [])
            case ("optimizer_state", "momentum_buffer", int(index), str(part)):
                return [("gradients", index, part)]
            case ("network", "layers", int(index), str(part)):
                if not self.truth.momentum:
                    return [("gradients", index, part)]
                nesterov = self.truth.optimizer.nesterov
                return [_velocity_key(key)] + ([("gradients", index, part)] if nesterov else [])
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
                return np.array(_loss_of_outputs(truth, v(("outputs",))))
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
            case ("optimizer_state", "momentum_buffer", int(index), str(part)):
                return truth.velocity(index, part, v(("gradients", index, part)))
            case ("network", "layers", int(index), str(part)):
                w, g = _pick(params, index, part), v(("gradients", index, part))
                velocity = v(_velocity_key(key)) if truth.momentum else g
                return w - truth.learning_rate * truth.direction(index, part, g, velocity)
        raise KeyError(key)

    def _delta(self, index: int) -> Array:
        truth, v = self.truth, self.value
        name = truth.params.activations[index]
        z = v(("layers", index, "z"))
        if index == self.last:
            outputs = v(("outputs",))
            if truth.loss.from_logits:
                return _logits_delta(truth, outputs)
            return ACTIVATIONS[name].backward(z, outputs, truth.loss.gradient(outputs, truth.t))
        W_next = truth.params.layers[index + 1][0]
        da = v(("delta", index + 1)) @ W_next
        return ACTIVATIONS[name].backward(z, v(("layers", index, "a")), da)


class _RoundingStudent(_Student):
    """A student who claims nothing but rounds every value written down on the way (each z and
    a, the outputs, the loss, each δ, gradient, velocity and updated parameter) and computes on
    from the rounded values."""

    def __init__(self, truth: _Truth, rounding: Callable[[Array], Array]) -> None:
        super().__init__(truth, {})
        self.rounding = rounding

    def value(self, key: Key) -> Array:
        if key not in self.values:
            self.values[key] = self.rounding(self.recomputed(key))
            self.roots[key] = frozenset()
        return self.values[key]


@quiet_floating
def rounded_step(
    params: Parameters,
    x: Array,
    t: Array,
    loss: LossName,
    optimizer: SGD,
    rounding: Callable[[Array], Array],
    state: OptimizerState | None = None,
) -> dict[Key, Array]:
    """Every value of one SGD step (the keys of :func:`order`) as a student computes it by hand
    who rounds each value written down with ``rounding`` (each δ too) and carries the rounded
    values forward: what such a student claims."""
    student = _RoundingStudent(_Truth(params, x, t, loss, optimizer, state=state), rounding)
    steps = order(len(params.layers), bool(optimizer.momentum))
    return {key: student.value(key) for _, key in steps}


def _judge(
    student: _Student, stage: Stage, key: Key, claimed: Array, unit: Array, precision: Precision
) -> Check:
    """The verdict on one claim (of any shape) and what goes with it."""
    correct = student.truth.correct(key)

    def near(c: Array, value: Array) -> bool:
        # A transposed claim is compared transposed back, its units with it.
        return precision.near(c, value, unit if unit.shape == c.shape else unit.T)

    if claimed.shape != correct.shape:
        wrong_at = (0,) * correct.ndim
        hint, mistakes = _marks(student, stage, key, claimed, wrong_at, near)
        return Check(
            stage, key, claimed, correct, "wrong", None, None, None, hint, mistakes, wrong_at
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
        wrong_at = _first_over(claimed, correct, allowed)
        hint, mistakes = _marks(student, stage, key, claimed, wrong_at, near)
        return Check(
            stage, key, claimed, correct, verdict, found, allowed, None, hint, mistakes, wrong_at
        )
    source = min(roots, key=student.rank.__getitem__) if verdict == "carried_forward" else None
    return Check(stage, key, claimed, correct, verdict, found, allowed, source, None, (), None)


@quiet_floating
def check(
    params: Parameters,
    x: Array,
    t: Array,
    loss: LossName,
    optimizer: SGD | float,
    claims: Mapping[Key, Array],
    tolerance: float | None = None,
    *,
    min_significant: int = MIN_SIGNIFICANT,
    units: Mapping[Key, Array] | None = None,
    malformed: Collection[Key] = (),
    regularization: Regularization | None = None,
    state: OptimizerState | None = None,
    deadline: float | None = None,
) -> list[Check]:
    """Every claim checked in the order of the computation (see the module docstring).

    ``units`` holds one unit of the last decimal place of each claimed number as written (read
    from its shortest repr where missing); ``malformed`` the claims whose shape is neither the
    value's nor its transpose; ``regularization`` the penalty whose gradient the weights'
    gradients include. ``optimizer`` is the step's SGD, or a plain SGD step's learning rate;
    ``state`` its state before the step (the earlier velocity; None: the first step). Past
    ``deadline`` (a :func:`time.monotonic` time) a :class:`DeadlineError` between two claims: a
    wrong claim's mistakes are looked for by recomputing the step each way, which on a large
    network with many wrong claims takes seconds.
    """
    sgd = optimizer if isinstance(optimizer, SGD) else SGD(optimizer)
    truth = _Truth(params, x, t, loss, sgd, regularization, state)
    precision = Precision(tolerance, min_significant)
    student = _Student(truth, claims)
    units = units or {}
    checks: list[Check] = []
    claimed_keys = [
        (stage, key)
        for stage, key in order(len(params.layers), bool(sgd.momentum))
        if key in malformed or key in claims
    ]
    for stage, key in claimed_keys:
        if deadline is not None and monotonic() >= deadline:
            hint = "send fewer claims, or fewer samples or a smaller network"
            done, total = len(checks), len(claimed_keys)
            raise DeadlineError("checking the claimed values", done, total, "values", hint)
        if key in malformed:
            correct = truth.correct(key)
            wrong_at = (0,) * correct.ndim
            checks.append(
                Check(stage, key, None, correct, "wrong", None, None, None, None, (), wrong_at)
            )
        else:
            claimed = claims[key]
            unit = units[key] if key in units else units_of(claimed)
            checks.append(_judge(student, stage, key, claimed, unit, precision))
    return checks
