"""Losses by name: ``value(u, t)`` and ``gradient(u, t) = d value / d u``.

``u`` is the network's output ``a`` of the last layer, or its pre-activation ``z`` for the losses
marked ``from_logits`` (the cross-entropies, computed from ``z`` so that no ``log(0)`` or overflow
can occur). ``u`` and ``t`` are ``(samples, outputs)`` arrays. The batch loss is the mean over
samples of each sample's loss, and the gradient is of that mean, so a batch of one equals the
single-sample case.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.nn.activations import sigmoid, softmax
from app.nn.types import Array

LossName = Literal[
    "half_squared_error", "mean_squared_error", "binary_cross_entropy", "cross_entropy"
]


@dataclass(frozen=True)
class Loss:
    """A loss over a batch and its gradient with respect to the network's outputs."""

    value: Callable[[Array, Array], float]
    gradient: Callable[[Array, Array], Array]
    from_logits: bool = False
    accuracy: Callable[[Array, Array], float | None] | None = None


def _half_squared_error(y: Array, t: Array) -> float:
    # Per sample ½·Σ(y−t)², the notebook's loss; then the mean over samples.
    d = y - t
    return 0.5 * float(np.einsum("ij,ij->", d, d)) / len(y)


def _half_squared_error_gradient(y: Array, t: Array) -> Array:
    result: Array = (y - t) / len(y)
    return result


def _mean_squared_error(y: Array, t: Array) -> float:
    # Mean over every element of every sample, as PyTorch's MSELoss().
    d = y - t
    return float(np.einsum("ij,ij->", d, d)) / d.size


def _mean_squared_error_gradient(y: Array, t: Array) -> Array:
    result: Array = (2.0 / y.size) * (y - t)
    return result


def _binary_cross_entropy(z: Array, t: Array) -> float:
    # −[t·log σ(z) + (1−t)·log(1−σ(z))] = max(z, 0) − z·t + log(1 + exp(−|z|)), exact and stable;
    # the mean over every output of every sample, as PyTorch's BCELoss() on σ(z).
    per_element = np.maximum(z, 0.0) - z * t + np.log1p(np.exp(-np.abs(z)))
    return float(per_element.sum()) / z.size


def _binary_cross_entropy_gradient(z: Array, t: Array) -> Array:
    result: Array = (sigmoid(z) - t) / z.size
    return result


def _cross_entropy(z: Array, t: Array) -> float:
    # −Σ t·log softmax(z) = Σ t·(logsumexp(z) − z) per sample, as PyTorch's CrossEntropyLoss()
    # with probability targets; then the mean over samples.
    # Shifting by the row maximum before subtracting keeps precision at large equal logits.
    shifted = z - z.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.sum(t * log_softmax)) / len(z)


def _cross_entropy_gradient(z: Array, t: Array) -> Array:
    result: Array = (softmax(z) * t.sum(axis=1, keepdims=True) - t) / len(z)
    return result


def _binary_accuracy(z: Array, t: Array) -> float | None:
    # σ(z) ≥ 0.5 exactly when z ≥ 0; defined for hard 0/1 targets only.
    if not np.isin(t, (0.0, 1.0)).all():
        return None
    return float(np.mean((z >= 0) == (t == 1)))


def _categorical_accuracy(z: Array, t: Array) -> float | None:
    # The largest z is the largest softmax output; defined for one-hot targets only.
    if not (np.isin(t, (0.0, 1.0)).all() and (t.sum(axis=1) == 1).all()):
        return None
    return float(np.mean(z.argmax(axis=1) == t.argmax(axis=1)))


LOSSES: dict[LossName, Loss] = {
    "half_squared_error": Loss(_half_squared_error, _half_squared_error_gradient),
    "mean_squared_error": Loss(_mean_squared_error, _mean_squared_error_gradient),
    "binary_cross_entropy": Loss(
        _binary_cross_entropy, _binary_cross_entropy_gradient, True, _binary_accuracy
    ),
    "cross_entropy": Loss(_cross_entropy, _cross_entropy_gradient, True, _categorical_accuracy),
}
