"""Optimizers as update rules over the flat parameter vector.

``step(params, grads)`` updates ``params.flat`` in place from ``grads.flat``: the whole network in
one vector operation, whatever its depth.
"""

from dataclasses import dataclass

from app.nn.network import Parameters


@dataclass(frozen=True)
class SGD:
    """Plain stochastic gradient descent: ``w ← w − learning_rate · g``."""

    learning_rate: float

    def step(self, params: Parameters, grads: Parameters) -> None:
        """Apply one update to every parameter."""
        flat = params.flat
        flat -= self.learning_rate * grads.flat
