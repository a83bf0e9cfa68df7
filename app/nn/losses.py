"""Losses by name: each computes its value ``L(u, t)`` and its gradient ``dL/du`` together.

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
    """A loss over a batch and its gradient with respect to the network's outputs.

    ``evaluate(u, t, grad)`` returns the value and writes the gradient into ``grad``: one
    function computes both, so that the training loop shares their common terms and allocates
    nothing.
    """

    evaluate: Callable[[Array, Array, Array], float]
    from_logits: bool = False
    accuracy: Callable[[Array, Array], float | None] | None = None

    def value(self, u: Array, t: Array) -> float:
        """The loss of outputs (or logits) ``u`` against targets ``t`` (its gradient is dropped)."""
        return self.evaluate(u, t, np.empty_like(u))

    def gradient(self, u: Array, t: Array) -> Array:
        """``dL/du`` in a new array (the value is computed too, and dropped)."""
        grad = np.empty_like(u)
        self.evaluate(u, t, grad)
        return grad


def _squared_sum(d: Array) -> float:
    d = d.reshape(-1)
    return float(d @ d)


def _half_squared_error(y: Array, t: Array, grad: Array) -> float:
    # Per sample ½·Σ(y−t)², the notebook's loss; then the mean over samples. Gradient (y−t)/n.
    np.subtract(y, t, out=grad)
    value = 0.5 * _squared_sum(grad) / len(y)
    if len(y) > 1:  # dividing by 1 changes nothing
        grad /= len(y)
    return value


def _mean_squared_error(y: Array, t: Array, grad: Array) -> float:
    # Mean over every element of every sample, as PyTorch's MSELoss(). Gradient 2(y−t)/size.
    np.subtract(y, t, out=grad)
    value = _squared_sum(grad) / grad.size
    grad *= 2.0 / grad.size
    return value


def _binary_cross_entropy(z: Array, t: Array, grad: Array) -> float:
    # −[t·log σ(z) + (1−t)·log(1−σ(z))] = max(z, 0) − z·t + log(1 + exp(−|z|)), exact and stable;
    # the mean over every output of every sample, as PyTorch's BCELoss() on σ(z).
    per_element = np.maximum(z, 0.0) - z * t + np.log1p(np.exp(-np.abs(z)))
    np.divide(sigmoid(z) - t, z.size, out=grad)
    return float(per_element.sum()) / z.size


def _cross_entropy(z: Array, t: Array, grad: Array) -> float:
    # −Σ t·log softmax(z) = Σ t·(logsumexp(z) − z) per sample, as PyTorch's CrossEntropyLoss()
    # with probability targets; then the mean over samples.
    # Shifting by the row maximum before subtracting keeps precision at large equal logits.
    shifted = z - z.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.divide(softmax(z) * t.sum(axis=1, keepdims=True) - t, len(z), out=grad)
    return float(-np.sum(t * log_softmax)) / len(z)


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
    "half_squared_error": Loss(_half_squared_error),
    "mean_squared_error": Loss(_mean_squared_error),
    "binary_cross_entropy": Loss(_binary_cross_entropy, True, _binary_accuracy),
    "cross_entropy": Loss(_cross_entropy, True, _categorical_accuracy),
}
