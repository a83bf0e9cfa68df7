"""Losses by name: each computes its value ``L(u, t)`` and its gradient ``dL/du`` together.

``u`` is the network's output ``a`` of the last layer, or its pre-activation ``z`` for the losses
marked ``from_logits`` (the cross-entropies, computed from ``z`` so that no ``log(0)`` or overflow
can occur). ``u`` and ``t`` are ``(samples, outputs)`` arrays. The batch loss is the mean over
samples of each sample's loss, and the gradient is of that mean, so a batch of one equals the
single-sample case.

:data:`LOSSES` is the one table of what there is to know about each loss: its computation, the
activation its last layer needs, and the words the request's description, the hints of /check and
the worked solutions of /explain write for it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.nn.activations import ActivationName, sigmoid
from app.nn.types import Array

LossName = Literal[
    "half_squared_error", "mean_squared_error", "binary_cross_entropy", "cross_entropy"
]


@dataclass(frozen=True)
class Loss:
    """A loss over a batch, its gradient with respect to the network's outputs, and its words.

    ``evaluate(u, t, grad)`` returns the value and writes the gradient into ``grad``: one
    function computes both, so that the training loop shares their common terms and allocates
    nothing. A classification loss names the ``output_activation`` its last layer needs; it is
    computed from that layer's z (``from_logits``) and has an ``accuracy``.

    ``summary`` is what the request's description says of it (after the needed activation),
    ``formula`` its value in words, ``output_delta`` the last layer's δ, ``difference`` the
    difference the gradient starts from; ``note`` is the worked solution's words for its value
    (``formula`` when empty) and ``logits_note`` those for the δ of a loss from logits.
    """

    evaluate: Callable[[Array, Array, Array], float]
    summary: str
    formula: str
    output_delta: str
    difference: str
    output_activation: ActivationName | None = None
    accuracy: Callable[[Array, Array], float | None] | None = None
    note: str = ""
    logits_note: str = ""

    @property
    def from_logits(self) -> bool:
        """Whether it is computed from the last layer's z, its activation folded in."""
        return self.output_activation is not None

    def value(self, u: Array, t: Array) -> float:
        """The loss of outputs (or logits) ``u`` against targets ``t`` (its gradient is dropped)."""
        return self.evaluate(u, t, np.empty_like(u))

    def gradient(self, u: Array, t: Array) -> Array:
        """``dL/du`` in a new array (the value is computed too, and dropped)."""
        grad = np.empty_like(u)
        self.evaluate(u, t, grad)
        return grad


def _squared_sum(d: Array) -> float:
    d = d.ravel()  # a view of the contiguous buffer, at half reshape's cost per call
    return float(d.dot(d))  # the method: half the cost of @ per call


def _half_squared_error(y: Array, t: Array, grad: Array) -> float:
    # Per sample ½·Σ(y−t)², the notebook's loss; then the mean over samples. Gradient (y−t)/n.
    np.subtract(y, t, grad)
    d, samples = grad.ravel(), len(y)  # _squared_sum(grad), inlined: the notebook's every epoch
    value = 0.5 * float(d.dot(d)) / samples
    if samples > 1:  # dividing by 1 changes nothing
        grad /= samples
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
    # Shifting by the row maximum before subtracting keeps precision at large equal logits. The
    # softmax is softmax(z), from the same exponentials; the reductions are the ufuncs' own.
    shifted = z - np.maximum.reduce(z, axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = np.add.reduce(exp, axis=1, keepdims=True)
    log_softmax = shifted - np.log(total)
    np.divide(exp / total * np.add.reduce(t, axis=1, keepdims=True) - t, len(z), out=grad)
    return float(-np.add.reduce(t * log_softmax, axis=None)) / len(z)


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
    "half_squared_error": Loss(
        _half_squared_error,
        summary="per sample ½·Σ(y−t)² (the notebook's)",
        formula="½·Σ(y − t)² per sample, then the mean over samples",
        output_delta="(y − t)·f'(z) / samples",
        difference="y − t",
    ),
    "mean_squared_error": Loss(
        _mean_squared_error,
        summary="mean over every output of every sample (PyTorch's MSELoss)",
        formula="the mean of (y − t)² over every output of every sample",
        output_delta="2·(y − t)·f'(z) / (samples × outputs)",
        difference="y − t",
    ),
    "binary_cross_entropy": Loss(
        _binary_cross_entropy,
        summary="targets in [0, 1], mean over every output of every sample (PyTorch's BCELoss)",
        formula="−mean(t·log σ(z) + (1 − t)·log(1 − σ(z))) over every output",
        output_delta="(σ(z) − t) / (samples × outputs)",
        difference="σ(z) − t",
        output_activation="sigmoid",
        accuracy=_binary_accuracy,
        note="−[t·log σ(z) + (1 − t)·log(1 − σ(z))] written stably as max(z, 0) − z·t + "
        "log(1 + e^−|z|), averaged over the outputs",
        logits_note="sigmoid with binary cross-entropy: ∂L/∂z = (σ(z) − t) / (samples × "
        "outputs), σ' cancels",
    ),
    "cross_entropy": Loss(
        _cross_entropy,
        summary="one-hot or probability target rows (PyTorch's CrossEntropyLoss on z)",
        formula="−Σ t·log softmax(z) per sample, then the mean over samples",
        output_delta="(softmax(z) − t) / samples",
        difference="softmax(z) − t",
        output_activation="softmax",
        accuracy=_categorical_accuracy,
        note="−Σ t·log softmax(z) = log Σ e^z − Σ t·z, as the targets sum to 1",
        logits_note="softmax with cross-entropy: ∂L/∂z = (softmax(z) − t) / samples, the "
        "softmax's Jacobian cancels",
    ),
}
"""Every loss by name, in the order the API lists them."""
