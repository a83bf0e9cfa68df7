"""Dense network parameters, forward pass and analytic backward pass.

All parameters live in one flat float64 vector; each layer's ``W`` (``(units, inputs)``) and ``b``
(``(units,)``) are views into it, so an optimizer updates the whole network in one operation and
gradients share the same layout. ``x`` is always 2-D, ``(samples, inputs)``.
"""

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from app.nn.activations import ACTIVATIONS, ActivationName
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
        shapes = [(len(w), len(w[0])) for w in weights]
        params = cls.zeros(shapes, activations)
        for (W, b), w_in, b_in in zip(params.layers, weights, biases, strict=True):
            W[...] = w_in
            b[...] = b_in
        return params

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


@quiet_floating
def forward(params: Parameters, x: Array) -> ForwardPass:
    """Run ``x`` through every layer, keeping each ``z`` and ``a`` for the backward pass."""
    return _forward(params, x)


def _forward(params: Parameters, x: Array) -> ForwardPass:
    """:func:`forward` without its own floating-point error state (callers set it once)."""
    zs: list[Array] = []
    acts: list[Array] = []
    a = x
    for (W, b), name in zip(params.layers, params.activations, strict=True):
        z = a @ W.T + b
        a = ACTIVATIONS[name].forward(z)
        zs.append(z)
        acts.append(a)
    return ForwardPass(x, zs, acts)


def check_forward_finite(fwd: ForwardPass) -> None:
    """Raise :class:`NonFiniteError` naming the first layer whose ``z`` is not finite.

    A finite ``z`` gives a finite ``a`` for every activation, while an infinite ``z`` can hide
    behind a finite ``a`` (``relu(-inf) = 0``), so ``z`` is the one to check.
    """
    for index, z in enumerate(fwd.z):
        if not np.isfinite(z).all():
            raise NonFiniteError("forward", layer=index)


def backpropagate(
    params: Parameters, fwd: ForwardPass, dy: Array, dz_last: bool = False
) -> Iterator[tuple[int, Array, Array]]:
    """Walk the layers from last to first, yielding ``(index, dL/da, dL/dz)`` per sample.

    With ``dz_last``, ``dy`` is already ``dLoss/dz`` of the last layer (a loss from logits).
    """
    last = len(params.layers) - 1
    da = dy
    for index in range(last, -1, -1):
        if dz_last and index == last:
            dz = dy
        else:
            dz = ACTIVATIONS[params.activations[index]].backward(fwd.z[index], fwd.a[index], da)
        yield index, da, dz
        if index:
            da = dz @ params.layers[index][0]


def backward(
    params: Parameters, fwd: ForwardPass, dy: Array, out: Parameters, dz_last: bool = False
) -> Parameters:
    """Backpropagate ``dy = dLoss/d outputs`` and write every gradient into ``out``."""
    for index, _, dz in backpropagate(params, fwd, dy, dz_last):
        gW, gb = out.layers[index]
        np.matmul(dz.T, fwd.a[index - 1] if index else fwd.x, out=gW)
        dz.sum(axis=0, out=gb)
    return out


def check_gradients_finite(grads: Parameters) -> None:
    """Raise :class:`NonFiniteError` naming the first layer whose gradient is not finite."""
    if np.isfinite(grads.flat).all():
        return
    for index, (gW, gb) in enumerate(grads.layers):
        if not (np.isfinite(gW).all() and np.isfinite(gb).all()):
            raise NonFiniteError("gradient", layer=index)


@quiet_floating
def evaluate(params: Parameters, x: Array, t: Array, loss: Loss) -> tuple[ForwardPass, float]:
    """Forward pass and loss, raising :class:`NonFiniteError` if any ``z`` or the loss is not."""
    fwd = _forward(params, x)
    check_forward_finite(fwd)
    value = loss.value(_loss_input(fwd, loss), t)
    if not math.isfinite(value):
        raise NonFiniteError("loss")
    return fwd, value


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
