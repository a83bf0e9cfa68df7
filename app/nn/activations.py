"""Activation functions by name: ``forward(z) -> a`` and ``backward(z, a, da) -> dz``.

``backward`` applies the chain rule through the activation (``dz = da * a'(z)``) so that each
function uses the cheapest form of its derivative. At a kink the derivative is taken from the left
(``relu'(0) = 0``, as the notebook's ``Z > 0`` mask does). ``softmax`` works on each row (sample)
of a ``(samples, units)`` array; the others are elementwise.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.nn.types import Array

ActivationName = Literal["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]

LEAKY_RELU_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """An elementwise activation and its backward pass."""

    forward: Callable[[Array], Array]
    backward: Callable[[Array, Array, Array], Array]


def _identity(z: Array) -> Array:
    return z


def _identity_backward(z: Array, a: Array, da: Array) -> Array:
    return da


def _relu(z: Array) -> Array:
    return np.maximum(z, 0.0)


def _relu_backward(z: Array, a: Array, da: Array) -> Array:
    return da * (z > 0)


def _leaky_relu(z: Array) -> Array:
    return np.where(z > 0, z, LEAKY_RELU_SLOPE * z)


def _leaky_relu_backward(z: Array, a: Array, da: Array) -> Array:
    return np.where(z > 0, da, LEAKY_RELU_SLOPE * da)


def sigmoid(z: Array) -> Array:
    """The logistic function, without overflow for any finite ``z``."""
    # exp(-|z|) never overflows; both branches are exact forms of 1 / (1 + exp(-z)).
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_backward(z: Array, a: Array, da: Array) -> Array:
    return da * a * (1.0 - a)


def softmax(z: Array) -> Array:
    """Row-wise softmax; subtracting each row's maximum keeps ``exp`` from overflowing."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    result: Array = e / e.sum(axis=1, keepdims=True)
    return result


def _softmax_backward(z: Array, a: Array, da: Array) -> Array:
    # The Jacobian-vector product of softmax: dz_i = a_i · (da_i − Σ_j da_j · a_j).
    result: Array = a * (da - np.sum(da * a, axis=1, keepdims=True))
    return result


def _tanh(z: Array) -> Array:
    return np.tanh(z)


def _tanh_backward(z: Array, a: Array, da: Array) -> Array:
    return da * (1.0 - a * a)


ACTIVATIONS: dict[ActivationName, Activation] = {
    "identity": Activation(_identity, _identity_backward),
    "relu": Activation(_relu, _relu_backward),
    "leaky_relu": Activation(_leaky_relu, _leaky_relu_backward),
    "sigmoid": Activation(sigmoid, _sigmoid_backward),
    "tanh": Activation(_tanh, _tanh_backward),
    "softmax": Activation(softmax, _softmax_backward),
}
