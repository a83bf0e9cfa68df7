"""Training health: per layer, the numbers that tell why a network is not learning.

For an epoch, from the parameters at its start (``before``) and after its update (``after``),
its forward pass and its gradients: each layer's gradient norm ``‖∂L/∂θ‖`` (its weights and bias
together), its update-to-weight ratio ``‖θ_after − θ_before‖ / ‖θ_before‖``, for a ReLU layer the
share of its units that are dead (``z ≤ 0`` for every sample: no gradient flows through them),
and for a sigmoid or tanh layer the share of its activations that are saturated (where the
derivative is under 2% of its largest: σ(z) outside [0.01, 0.99] or |tanh z| above 0.99).
Vanishing gradients show as a first layer's gradient norm orders of magnitude below the last's,
exploding ones as the reverse, a learning rate too high as an update ratio far above 1e-3.
"""

from dataclasses import dataclass

import numpy as np

from app.nn.activations import ActivationName
from app.nn.network import ForwardPass, Parameters
from app.nn.types import Array

SATURATED = 0.99
"""σ(z) above this (or below 1 − this) and |tanh z| above it count as saturated."""


@dataclass(frozen=True)
class LayerHealth:
    """One layer's health in one epoch (see the module docstring); ``update_ratio`` is None when
    the layer's parameters were all 0, ``dead`` None but for ReLU, ``saturated`` None but for
    sigmoid and tanh."""

    gradient_norm: float
    update_ratio: float | None
    dead: float | None
    saturated: float | None


def _norm(W: Array, b: Array) -> float:
    """The Euclidean norm of W and b together, scaled so that no square overflows."""
    values = np.concatenate([W.reshape(-1), b])
    largest = float(np.abs(values).max(initial=0.0))
    if largest == 0.0 or not np.isfinite(largest):
        return largest
    scaled = values / largest
    return largest * float(np.sqrt(scaled @ scaled))


def _saturated(name: ActivationName, a: Array) -> float | None:
    if name == "sigmoid":
        return float(np.mean((a < 1.0 - SATURATED) | (a > SATURATED)))
    if name == "tanh":
        return float(np.mean(np.abs(a) > SATURATED))
    return None


def health(
    before: Parameters, after: Parameters, fwd: ForwardPass, grads: Parameters
) -> list[LayerHealth]:
    """Every layer's health in an epoch from ``before`` to ``after``, whose forward pass (of
    every layer) and gradients are ``fwd`` and ``grads``."""
    layers = []
    for index, name in enumerate(before.activations):
        (W, b), (W_after, b_after) = before.layers[index], after.layers[index]
        size = _norm(W, b)
        step = _norm(W_after - W, b_after - b)
        dead = float(np.mean(np.all(fwd.z[index] <= 0.0, axis=0))) if name == "relu" else None
        layers.append(
            LayerHealth(
                _norm(*grads.layers[index]),
                step / size if size > 0 else None,
                dead,
                _saturated(name, fwd.a[index]),
            )
        )
    return layers
