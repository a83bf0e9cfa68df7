"""Losses by name: ``value(y, t)`` and ``gradient(y, t) = d value / d y``.

``y`` and ``t`` are ``(samples, outputs)`` arrays. The batch loss is the mean over samples of each
sample's loss, and the gradient is of that mean, so a batch of one equals the single-sample case.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from app.nn.types import Array

LossName = Literal["half_squared_error", "mean_squared_error"]


@dataclass(frozen=True)
class Loss:
    """A loss over a batch and its gradient with respect to the network's outputs."""

    value: Callable[[Array, Array], float]
    gradient: Callable[[Array, Array], Array]


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


LOSSES: dict[LossName, Loss] = {
    "half_squared_error": Loss(_half_squared_error, _half_squared_error_gradient),
    "mean_squared_error": Loss(_mean_squared_error, _mean_squared_error_gradient),
}
