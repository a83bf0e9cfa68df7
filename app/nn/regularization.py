"""Regularization: a penalty on the weights, never the biases, added to the loss.

The definitions are TensorFlow Playground's: L1 penalizes each weight by ``|w|``, L2 by ``½w²``,
and the penalty is ``rate`` times their sum over every layer's weights. The loss the API reports
stays the data loss, the penalty beside it; the gradients are those of their sum, which is what
PyTorch's autograd gives for ``loss + penalty`` (``d|w|/dw = sign(w)``, 0 at ``w = 0``).

:data:`REGULARIZATIONS` is the one table of the options a request names: each with its term and
derivative as the worked solutions and the exported scripts write them.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from app.nn.errors import NonFiniteError, quiet_floating
from app.nn.network import Parameters
from app.nn.types import Array

RegularizationName = Literal["l1", "l2"]
REGULARIZATION_NAMES: tuple[RegularizationName, ...] = get_args(RegularizationName)


@dataclass(frozen=True)
class Regularizer:
    """One kind of penalty: ``value(W)`` sums its term over the weights ``W`` and
    ``derivative(W)`` is the term's derivative at each weight; ``term`` and ``slope`` are the
    same in words (``w`` standing for a weight), ``summary`` what the request's description says."""

    value: Callable[[Array], float]
    derivative: Callable[[Array], Array]
    term: str
    slope: str
    summary: str


def _absolute_sum(W: Array) -> float:
    return float(np.abs(W).sum())


def _half_squared_sum(W: Array) -> float:
    flat = W.reshape(-1)
    return 0.5 * float(flat @ flat)


REGULARIZATIONS: dict[RegularizationName, Regularizer] = {
    "l1": Regularizer(_absolute_sum, np.sign, "|w|", "sign(w)", "rate·Σ|w| (lasso)"),
    "l2": Regularizer(_half_squared_sum, np.positive, "½w²", "w", "rate·Σ½w² (ridge)"),
}
"""Every penalty by name, in the order the API lists them."""


@dataclass(frozen=True)
class Regularization:
    """A penalty of kind ``name`` with weight ``rate`` on every layer's weights."""

    name: RegularizationName
    rate: float

    @property
    def regularizer(self) -> Regularizer:
        """The table's record of this kind of penalty."""
        return REGULARIZATIONS[self.name]

    @quiet_floating
    def penalty(self, params: Parameters) -> float:
        """``rate`` times the sum of the term over every weight of ``params``; raises
        :class:`NonFiniteError` if it overflows."""
        value = self.regularizer.value
        penalty = self.rate * sum(value(W) for W, _ in params.layers)
        if not math.isfinite(penalty):
            raise NonFiniteError("penalty")
        return penalty

    @quiet_floating
    def add_gradient(self, params: Parameters, grads: Parameters) -> None:
        """Add the penalty's gradient at ``params`` to the weights' gradients in ``grads`` (which
        may then overflow: the caller checks them, as it does the data loss's)."""
        derivative = self.regularizer.derivative
        for (W, _), (gW, _) in zip(params.layers, grads.layers, strict=True):
            gW += self.rate * derivative(W)
