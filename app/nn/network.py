"""Dense network parameters, forward pass and analytic backward pass.

All parameters live in one flat float64 vector; each layer's ``W`` (``(units, inputs)``) and ``b``
(``(units,)``) are views into it, so an optimizer updates the whole network in one operation and
gradients share the same layout. ``x`` is always 2-D, ``(samples, inputs)``.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, partial

import numpy as np

from app.nn.activations import ACTIVATIONS, ActivationName, Op, run
from app.nn.errors import NonFiniteError, quiet_floating
from app.nn.losses import Loss
from app.nn.types import Array


@dataclass(frozen=True)
class Parameters:
    """A network's weights and biases: one flat vector plus per-layer ``(W, b)`` views into it.

    The views are made on first use: a copy kept per epoch costs one vector copy, no more.
    """

    flat: Array
    shapes: tuple[tuple[int, int], ...]
    activations: tuple[ActivationName, ...]

    @cached_property
    def layers(self) -> tuple[tuple[Array, Array], ...]:
        """Each layer's ``(W, b)``: ``W`` of shape ``(units, inputs)``, views into ``flat``."""
        return _views(self.flat, self.shapes)

    @classmethod
    def from_layers(
        cls,
        weights: Sequence[Sequence[Sequence[float]]],
        biases: Sequence[Sequence[float]],
        activations: Sequence[ActivationName],
    ) -> "Parameters":
        """Copy nested lists (or arrays) of weights and biases into a fresh flat layout."""
        shapes = tuple((len(w), len(w[0])) for w in weights)
        # One conversion of a flat list: for a small network it costs a fraction of converting
        # each nested list into its view.
        values: list[float] = []
        for (units, inputs), w_in, b_in in zip(shapes, weights, biases, strict=True):
            if any(len(row) != inputs for row in w_in) or len(b_in) != units:
                raise ValueError("ragged weights, or a bias that does not match its weights")
            for row in w_in:
                values.extend(row)
            values.extend(b_in)
        return cls(np.array(values, dtype=np.float64), shapes, tuple(activations))

    @classmethod
    def zeros(
        cls, shapes: Sequence[tuple[int, int]], activations: Sequence[ActivationName]
    ) -> "Parameters":
        """All-zero parameters for layers of the given ``(units, inputs)`` shapes."""
        flat = np.zeros(sum(u * i + u for u, i in shapes))
        return cls(flat, tuple(shapes), tuple(activations))

    def with_flat(self, flat: Array) -> "Parameters":
        """The same layout over another flat vector (a copy, a gradient, an update buffer)."""
        return Parameters(flat, self.shapes, self.activations)

    def empty_like(self) -> "Parameters":
        """Uninitialised parameters of the same layout, e.g. a buffer for gradients."""
        return self.with_flat(np.empty_like(self.flat))

    def copy(self) -> "Parameters":
        """An independent copy of these parameters."""
        return self.with_flat(self.flat.copy())


def _views(flat: Array, shapes: Sequence[tuple[int, int]]) -> tuple[tuple[Array, Array], ...]:
    views = []
    start = 0
    for units, inputs in shapes:
        W = flat[start : start + units * inputs].reshape(units, inputs)
        start += units * inputs
        b = flat[start : start + units]
        start += units
        views.append((W, b))
    return tuple(views)


@dataclass(frozen=True)
class ForwardPass:
    """Everything the forward pass computed: the input and each layer's ``z`` and ``a``."""

    x: Array
    z: list[Array]
    a: list[Array]

    @property
    def outputs(self) -> Array:
        """The last layer's activations, ``(samples, outputs)``."""
        return self.a[-1]

    def copy(self) -> "ForwardPass":
        """An independent copy (a record of buffers that the next epoch overwrites)."""
        z = [layer.copy() for layer in self.z]
        a = [z[i] if layer is self.z[i] else layer.copy() for i, layer in enumerate(self.a)]
        return ForwardPass(self.x, z, a)


# The passes below are lists of prepared NumPy calls on buffers (see app.nn.activations): the
# training loop builds them once and replays them every epoch; the one-shot functions build them
# on fresh arrays and run them once. One implementation serves both, so both give the same bits.


SMALL_PRODUCT = 32_768
"""Multiply-adds up to which a matrix product is a call to np.dot rather than np.matmul."""


def _product(a: Array, b: Array, out: Array) -> Op:
    """The prepared product ``out = a·b``: np.dot costs less per call, which is all a tiny
    product costs; np.matmul runs large products faster."""
    small = a.shape[0] * a.shape[1] * b.shape[1] <= SMALL_PRODUCT
    return partial(np.dot, a, b, out) if small else partial(np.matmul, a, b, out=out)


def even(size: int) -> int:
    """``size`` rounded up to an even count: float64 buffers laid out one after another in a
    vector start on 16 bytes, as fresh allocations do."""
    return size + size % 2


def forward_size(
    activations: Sequence[ActivationName], samples: int, shapes: Sequence[tuple[int, int]]
) -> tuple[int, int]:
    """How many numbers every layer's z and the a of every layer but identity ones take in a
    vector (:func:`_forward_buffers`' ``memory``)."""
    z = samples * sum(units for units, _ in shapes)
    a = sum(
        even(samples * units)
        for (units, _), name in zip(shapes, activations, strict=True)
        if not ACTIVATIONS[name].is_identity
    )
    return z, a


def _forward_buffers(
    activations: Sequence[ActivationName],
    samples: int,
    shapes: Sequence[tuple[int, int]],
    memory: Array | None = None,
) -> tuple[Array, list[Array], list[Array]]:
    """Every layer's z as views of one vector (one finiteness check covers them all) and its a
    (the z itself for identity); in ``memory`` if given, every z then every other a, as
    :func:`forward_size` counts them."""
    size, _ = forward_size(activations, samples, shapes)
    zflat = np.empty(size) if memory is None else memory[:size]
    zs, acts, start, end = [], [], 0, even(size)
    for (units, _), name in zip(shapes, activations, strict=True):
        z = zflat[start : start + samples * units].reshape(samples, units)
        start += samples * units
        zs.append(z)
        if ACTIVATIONS[name].is_identity:
            acts.append(z)
        elif memory is None:
            acts.append(np.empty_like(z))
        else:
            acts.append(memory[end : end + samples * units].reshape(samples, units))
            end += even(samples * units)
    return zflat, zs, acts


def _forward_ops(params: Parameters, fwd: ForwardPass, outputs: bool = True) -> list[Op]:
    """The calls that fill ``fwd``'s z and a from ``fwd.x``: ``z = a_prev·Wᵀ + b``, ``a = f(z)``;
    without ``outputs``, all but the last layer's a."""
    ops: list[Op] = []
    a_prev = fwd.x
    last = len(params.layers) - 1
    for index, ((W, b), z, a) in enumerate(zip(params.layers, fwd.z, fwd.a, strict=True)):
        # A (1, units) bias row: NumPy's fast path for the sum, no broadcasting of a 1-D b.
        ops.append(_product(a_prev, W.T, z))
        ops.append(partial(np.add, z, b.reshape(1, -1), z))
        if outputs or index < last:
            ops.extend(ACTIVATIONS[params.activations[index]].forward_ops(z, a))
        a_prev = a
    return ops


def _backward_buffers(
    params: Parameters, fwd: ForwardPass, grads: Parameters, dz_last: bool
) -> list[tuple[Array, Array]]:
    """Each layer's ``(dL/da, dL/dz)`` buffers, first layer first.

    With one sample a layer's δ (``dL/dz``) is its bias gradient, so δ is a view of it; where the
    activation passes ``da`` through (identity, or the last layer of a loss from logits, whose
    ``dy`` is already δ) both are the same buffer.
    """
    last, deltas = len(params.layers) - 1, []
    for index, (_, gb) in enumerate(grads.layers):
        dz = gb.reshape(1, -1) if len(fwd.x) == 1 else np.empty_like(fwd.z[index])
        passthrough = ACTIVATIONS[params.activations[index]].is_identity or (
            dz_last and index == last
        )
        deltas.append((dz if passthrough else np.empty_like(dz), dz))
    return deltas


def _backward_ops(
    params: Parameters,
    fwd: ForwardPass,
    grads: Parameters,
    deltas: list[tuple[Array, Array]],
    dz_last: bool,
) -> list[Op]:
    """The calls from ``dy``, in the last layer's ``dL/da`` buffer, to every gradient in
    ``grads``: ``dz = f'(z)·da``, ``gW = dzᵀ·a_prev``, ``gb = Σ dz``, ``da_prev = dz·W``."""
    last, ops = len(params.layers) - 1, []
    for index in range(last, -1, -1):
        (W, _), (gW, gb), (da, dz) = params.layers[index], grads.layers[index], deltas[index]
        if da is not dz:
            ops.extend(
                ACTIVATIONS[params.activations[index]].backward_ops(
                    fwd.z[index], fwd.a[index], da, dz
                )
            )
        ops.append(_product(dz.T, fwd.a[index - 1] if index else fwd.x, gW))
        if len(fwd.x) > 1:
            ops.append(partial(np.add.reduce, dz, axis=0, out=gb))
        if index:
            ops.append(_product(dz, W, deltas[index - 1][0]))
    return ops


@quiet_floating
def forward(params: Parameters, x: Array) -> ForwardPass:
    """Run ``x`` through every layer, keeping each ``z`` and ``a`` for the backward pass; raise
    :class:`NonFiniteError` if any ``z`` is not finite."""
    zflat, zs, acts = _forward_buffers(params.activations, len(x), params.shapes)
    fwd = ForwardPass(x, zs, acts)
    run(_forward_ops(params, fwd))
    check_forward_finite(fwd, zflat)
    return fwd


class PreparedForward:
    """The forward pass of one network layout on a fixed number of samples, prepared once: its
    buffers and NumPy calls are made here and replayed by every :meth:`run` (as the training
    loop replays an epoch's), so a small one-shot pass costs its arithmetic, not its set-up.
    :func:`forward` makes the same calls on fresh arrays, so both give the same bits."""

    def __init__(
        self,
        shapes: Sequence[tuple[int, int]],
        activations: Sequence[ActivationName],
        samples: int,
    ) -> None:
        self.params = Parameters.zeros(shapes, activations)
        self.zflat, zs, acts = _forward_buffers(self.params.activations, samples, shapes)
        self.fwd = ForwardPass(np.empty((samples, shapes[0][1])), zs, acts)
        self.ops = _forward_ops(self.params, self.fwd)

    def run(
        self, params: Parameters, x: Sequence[float] | Sequence[Sequence[float]]
    ) -> ForwardPass:
        """:func:`forward` of ``params`` (of this layout) on ``x`` (one sample, or as many rows
        as this pass has samples). Its arrays are this object's buffers: read them before the
        next run."""
        return self.run_on(params.flat, x)

    @quiet_floating
    def run_on(
        self, values: Sequence[float] | Array, x: Sequence[float] | Sequence[Sequence[float]]
    ) -> ForwardPass:
        """:meth:`run` with the parameters given as the numbers of their flat vector, in its
        order (each layer's weights row by row, then its bias): a request's list of numbers is
        written straight into this pass's buffer, with no array made of it first."""
        self.params.flat[:] = values
        self.fwd.x[...] = x
        run(self.ops)
        check_forward_finite(self.fwd, self.zflat)
        return self.fwd


# One check per stage of the computation (forward, loss, gradient, update), each raising
# NonFiniteError with its stage: every caller that checks a stage calls its function.


def check_forward_finite(fwd: ForwardPass, zflat: Array) -> None:
    """Raise :class:`NonFiniteError` naming the first layer whose ``z`` is not finite.

    A finite ``z`` gives a finite ``a`` for every activation, while an infinite ``z`` can hide
    behind a finite ``a`` (``relu(-inf) = 0``), so ``z`` is the one to check. ``zflat``, the
    vector holding every z, is checked with one dot product: its sum of squares is finite
    whenever every z is (a huge finite z can overflow it; the exact check then decides).
    """
    if math.isfinite(zflat.dot(zflat)):
        return
    for index, z in enumerate(fwd.z):
        if not np.isfinite(z).all():
            raise NonFiniteError("forward", layer=index)


def backpropagate(
    params: Parameters, fwd: ForwardPass, dy: Array, dz_last: bool = False
) -> list[tuple[Array, Array]]:
    """Every layer's ``(dL/da, dL/dz)`` per sample, first layer first.

    With ``dz_last``, ``dy`` is already ``dLoss/dz`` of the last layer (a loss from logits).
    """
    return _backward(params, fwd, dy, params.empty_like(), dz_last)


def backward(
    params: Parameters, fwd: ForwardPass, dy: Array, out: Parameters, dz_last: bool = False
) -> Parameters:
    """Backpropagate ``dy = dLoss/d outputs`` and write every gradient into ``out``."""
    _backward(params, fwd, dy, out, dz_last)
    return out


def _backward(
    params: Parameters, fwd: ForwardPass, dy: Array, out: Parameters, dz_last: bool
) -> list[tuple[Array, Array]]:
    deltas = _backward_buffers(params, fwd, out, dz_last)
    np.copyto(deltas[-1][0], dy)
    run(_backward_ops(params, fwd, out, deltas, dz_last))
    return deltas


def check_loss_finite(value: float) -> float:
    """``value``, or :class:`NonFiniteError` if the loss is not finite."""
    if not math.isfinite(value):
        raise NonFiniteError("loss")
    return value


def check_gradients_finite(grads: Parameters) -> None:
    """Raise :class:`NonFiniteError` naming the first layer whose gradient is not finite."""
    if np.isfinite(grads.flat).all():
        return
    for index, (gW, gb) in enumerate(grads.layers):
        if not (np.isfinite(gW).all() and np.isfinite(gb).all()):
            raise NonFiniteError("gradient", layer=index)


def check_update_finite(params: Parameters) -> None:
    """Raise :class:`NonFiniteError` if an updated parameter is not finite."""
    if not np.isfinite(params.flat).all():
        raise NonFiniteError("update")


@quiet_floating
def evaluate(params: Parameters, x: Array, t: Array, loss: Loss) -> tuple[ForwardPass, float]:
    """Forward pass and loss on fresh buffers, raising :class:`NonFiniteError` if any ``z`` or
    the loss is not finite: :meth:`Workspace.evaluate` of a workspace made for this one call."""
    space = Workspace([params], x, t, loss, backward=False)
    return space.fwd, space.evaluate(0)


@quiet_floating
def compute_gradients(
    params: Parameters, fwd: ForwardPass, t: Array, loss: Loss, out: Parameters | None = None
) -> Parameters:
    """The gradients of ``loss`` at ``fwd``, written into ``out`` if given (may be non-finite)."""
    out = params.empty_like() if out is None else out
    return backward(params, fwd, loss_gradient(fwd, t, loss), out, dz_last=loss.from_logits)


def loss_gradient(fwd: ForwardPass, t: Array, loss: Loss) -> Array:
    """``dLoss/da`` of the last layer, or ``dLoss/dz`` for a loss from logits."""
    return loss.gradient(_loss_input(fwd, loss), t)


def accuracy(fwd: ForwardPass, t: Array, loss: Loss) -> float | None:
    """The share of right predictions, for classification losses with hard-label targets."""
    return loss.accuracy(_loss_input(fwd, loss), t) if loss.accuracy else None


def _loss_input(fwd: ForwardPass, loss: Loss) -> Array:
    """What the loss reads: the last layer's ``z`` for losses from logits, else its ``a``."""
    return fwd.z[-1] if loss.from_logits else fwd.outputs


class Workspace:
    """Full-batch passes prepared once: buffers for every z, a, δ and gradient, and the calls of
    the forward and backward passes for each of the given parameter buffers (a training run
    rotates through them instead of copying parameters). With ``backward=False`` only the
    forward pass and the loss are prepared (:func:`evaluate`'s one-shot use).

    With ``outputs=False`` and a loss from logits, which reads the last layer's z and whose
    gradient needs no a of it, :meth:`evaluate` leaves that layer's a (the outputs) unwritten
    until :meth:`outputs` writes it: a training epoch that keeps no record never needs it.

    ``memory``, if given, holds the gradients, then every z and every a but identity ones
    (:func:`forward_size`), so that one copy of it keeps them all.
    """

    def __init__(
        self,
        buffers: Sequence[Parameters],
        x: Array,
        t: Array,
        loss: Loss,
        backward: bool = True,
        outputs: bool = True,
        memory: Array | None = None,
    ) -> None:
        first = buffers[0]
        self.t, self.loss = t, loss
        passes = None if memory is None else memory[even(first.flat.size) :]
        self.zflat, zs, acts = _forward_buffers(first.activations, len(x), first.shapes, passes)
        self.fwd = ForwardPass(x, zs, acts)
        outputs = outputs or not loss.from_logits
        self.forward_ops = [_forward_ops(params, self.fwd, outputs) for params in buffers]
        self.output_ops = (
            [] if outputs else ACTIVATIONS[first.activations[-1]].forward_ops(zs[-1], acts[-1])
        )
        self.loss_input = _loss_input(self.fwd, loss)
        if backward:
            size = first.flat.size
            self.grads = first.empty_like() if memory is None else first.with_flat(memory[:size])
            deltas = _backward_buffers(first, self.fwd, self.grads, loss.from_logits)
            self.dy = deltas[-1][0]
            self.backward_ops = [
                _backward_ops(params, self.fwd, self.grads, deltas, loss.from_logits)
                for params in buffers
            ]
        else:
            self.dy = np.empty_like(self.loss_input)

    def evaluate(self, which: int) -> float:
        """Forward pass and loss of parameter buffer ``which``, leaving ``dLoss/d outputs`` ready
        for :meth:`gradients`; raises :class:`NonFiniteError` if any ``z`` or the loss is not
        finite."""
        for op in self.forward_ops[which]:  # run(), inlined: this is every epoch's pass
            op()
        zflat = self.zflat
        if not math.isfinite(zflat.dot(zflat)):  # check_forward_finite's fast test first
            check_forward_finite(self.fwd, zflat)
        value = self.loss.evaluate(self.loss_input, self.t, self.dy)
        if not math.isfinite(value):  # check_loss_finite(), inlined
            raise NonFiniteError("loss")
        return value

    def outputs(self) -> ForwardPass:
        """The forward pass of the last evaluation, its outputs written (see the class)."""
        run(self.output_ops)
        return self.fwd

    def gradients(self, which: int) -> Parameters:
        """The gradients at the last evaluation of parameter buffer ``which`` (in ``grads``)."""
        for op in self.backward_ops[which]:
            op()
        return self.grads
