"""Activation functions by name, as NumPy operations on buffers the caller owns.

``forward_ops(z, a)`` returns the calls that write ``a = f(z)``; ``backward_ops(z, a, da, dz)``
those that write ``dz = da * f'(z)`` (the chain rule through the activation, each function using
the cheapest form of its derivative). The training loop builds them once per run and replays
them every epoch, so a tiny network pays no allocation and no Python beyond the calls
themselves; :meth:`Activation.backward` runs the same calls on fresh arrays. Identity makes no
call: its ``a`` is its ``z`` and its ``dz`` its ``da``. At a kink the derivative is taken from the
left (``relu'(0) = 0``, as the notebook's ``Z > 0`` mask does). ``softmax`` works on each row
(sample) of a ``(samples, units)`` array; the others are elementwise.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np

from app.nn.types import Array

ActivationName = Literal["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
Op = Callable[[], object]
"""One prepared NumPy call: its arguments and output buffer are bound (``out`` given by position
where NumPy parses it faster so, which is all a tiny array's call costs; np.maximum by keyword,
the faster form there)."""

LEAKY_RELU_SLOPE = 0.01
"""leaky_relu's slope where ``z ≤ 0`` (PyTorch's ``nn.LeakyReLU`` default)."""


@dataclass(frozen=True)
class Activation:
    """One activation: its forward and backward passes as prepared calls on given buffers, and
    how it is written.

    ``formula`` is ``a = f(z)`` in words (hints and worked solutions), ``derivative`` its
    derivative as the worked solutions write it, ``torch_module`` its ``torch.nn`` module in an
    exported script. ``kinked`` marks a slope that jumps at ``z = 0`` (finite differences across
    it are unreliable); ``last_layer_only`` an activation that makes a layer's units one
    probability distribution per sample, which is what outputs are for; ``aside`` is a setting
    the request's description names beside it.
    """

    forward_ops: Callable[[Array, Array], list[Op]]
    backward_ops: Callable[[Array, Array, Array, Array], list[Op]]
    formula: str
    derivative: str
    torch_module: str
    is_identity: bool = False
    kinked: bool = False
    last_layer_only: bool = False
    aside: str = ""

    def backward(self, z: Array, a: Array, da: Array) -> Array:
        """``da * f'(z)`` in a new array (``da`` itself for identity)."""
        if self.is_identity:
            return da
        dz = np.empty_like(da)
        run(self.backward_ops(z, a, da, dz))
        return dz


def run(ops: list[Op]) -> None:
    """Make the prepared calls in order."""
    for op in ops:
        op()


def _none(*_: Array) -> list[Op]:
    return []


SMALL_MASK = 1024
"""Elements up to which relu uses the forms that cost least per call (see below)."""


def _relu(z: Array, a: Array) -> list[Op]:
    # On a small array, against an array of zeros rather than the scalar 0.0: NumPy's fast path
    # per call. On a large one the zeros would be one more array to read: the scalar it is.
    zero = np.zeros_like(z) if z.size <= SMALL_MASK else 0.0
    return [partial(np.maximum, z, zero, out=a)]


def _relu_backward(z: Array, a: Array, da: Array, dz: Array) -> list[Op]:
    # dz = da · (z > 0). heaviside(z, 0) is that mask as floats (1 where z > 0, else 0), and da
    # times a float mask costs less per call than times a boolean one, which is all a small
    # array costs; on large arrays heaviside is slow and the boolean mask wins. Same numbers.
    if z.size <= SMALL_MASK:
        mask, zeros = np.empty_like(z), np.zeros_like(z)
        return [partial(np.heaviside, z, zeros, mask), partial(np.multiply, da, mask, dz)]
    positive = np.empty(z.shape, dtype=np.bool_)
    return [partial(np.greater, z, 0.0, positive), partial(np.multiply, da, positive, dz)]


def _into(out: Array, compute: Callable[[], Array]) -> Op:
    """A call that writes ``compute()`` into ``out`` (for the activations off the hot path)."""
    return lambda: np.copyto(out, compute())


def _leaky_relu(z: Array, a: Array) -> list[Op]:
    return [_into(a, lambda: np.where(z > 0, z, LEAKY_RELU_SLOPE * z))]


def _leaky_relu_backward(z: Array, a: Array, da: Array, dz: Array) -> list[Op]:
    return [_into(dz, lambda: np.where(z > 0, da, LEAKY_RELU_SLOPE * da))]


def sigmoid(z: Array) -> Array:
    """The logistic function, without overflow for any finite ``z``."""
    # exp(-|z|) never overflows; both branches are exact forms of 1 / (1 + exp(-z)).
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid(z: Array, a: Array) -> list[Op]:
    return [_into(a, lambda: sigmoid(z))]


def _sigmoid_backward(z: Array, a: Array, da: Array, dz: Array) -> list[Op]:
    # da·a·(1 − a), in that order, on buffers.
    rest = np.empty_like(a)
    return [
        partial(np.multiply, da, a, dz),
        partial(np.subtract, 1.0, a, rest),
        partial(np.multiply, dz, rest, dz),
    ]


def softmax(z: Array) -> Array:
    """Row-wise softmax; subtracting each row's maximum keeps ``exp`` from overflowing."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    result: Array = e / e.sum(axis=1, keepdims=True)
    return result


def _softmax(z: Array, a: Array) -> list[Op]:
    # softmax()'s steps on buffers (its reductions are the ufuncs' own, which the methods call).
    peak, total = np.empty((len(z), 1)), np.empty((len(z), 1))
    return [
        partial(np.maximum.reduce, z, axis=1, keepdims=True, out=peak),
        partial(np.subtract, z, peak, a),
        partial(np.exp, a, a),
        partial(np.add.reduce, a, axis=1, keepdims=True, out=total),
        partial(np.divide, a, total, a),
    ]


def _softmax_backward(z: Array, a: Array, da: Array, dz: Array) -> list[Op]:
    # The Jacobian-vector product of softmax: dz_i = a_i · (da_i − Σ_j da_j · a_j).
    return [_into(dz, lambda: a * (da - np.sum(da * a, axis=1, keepdims=True)))]


def _tanh(z: Array, a: Array) -> list[Op]:
    return [partial(np.tanh, z, a)]


def _tanh_backward(z: Array, a: Array, da: Array, dz: Array) -> list[Op]:
    # da·(1 − a²), in that order, on buffers.
    slope = np.empty_like(a)
    return [
        partial(np.multiply, a, a, slope),
        partial(np.subtract, 1.0, slope, slope),
        partial(np.multiply, da, slope, dz),
    ]


ACTIVATIONS: dict[ActivationName, Activation] = {
    "identity": Activation(
        _none,
        _none,
        formula="z",
        derivative="identity'(z) = 1",
        torch_module="nn.Identity()",
        is_identity=True,
    ),
    "relu": Activation(
        _relu,
        _relu_backward,
        formula="relu(z) = max(0, z)",
        derivative="relu'(z) = 1 where z > 0",
        torch_module="nn.ReLU()",
        kinked=True,
    ),
    "leaky_relu": Activation(
        _leaky_relu,
        _leaky_relu_backward,
        formula=f"leaky_relu(z) = z where z > 0, {LEAKY_RELU_SLOPE}·z elsewhere",
        derivative="leaky_relu'(z) = 1 where z > 0",
        torch_module=f"nn.LeakyReLU({LEAKY_RELU_SLOPE})",
        kinked=True,
        aside=f"slope {LEAKY_RELU_SLOPE}",
    ),
    "sigmoid": Activation(
        _sigmoid,
        _sigmoid_backward,
        formula="σ(z) = 1 / (1 + e^−z)",
        derivative="σ'(z) = a·(1 − a)",
        torch_module="nn.Sigmoid()",
    ),
    "tanh": Activation(
        _tanh,
        _tanh_backward,
        formula="tanh(z)",
        derivative="tanh'(z) = 1 − a²",
        torch_module="nn.Tanh()",
    ),
    "softmax": Activation(
        _softmax,
        _softmax_backward,
        formula="softmax(z) = e^z / Σ e^z, per sample",
        derivative="through softmax: δⱼ = aⱼ·(∂L/∂aⱼ − Σₖ ∂L/∂aₖ·aₖ)",
        torch_module="nn.Softmax(dim=1)",
        last_layer_only=True,
    ),
}
"""Every activation by name, in the order the API lists them."""
