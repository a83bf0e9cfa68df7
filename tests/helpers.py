"""Small helpers shared by the tests: what only the tests need from the app."""

import json
from typing import Any

import numpy as np

from app.api.middleware import request_context
from app.nn.activations import Activation, run
from app.nn.types import Array


def strict_json(text: str) -> Any:
    """Parse a response that must hold no NaN or Infinity token (the API never writes one)."""

    def reject(token: str) -> None:
        raise AssertionError(f"non-finite token {token} in response")

    return json.loads(text, parse_constant=reject)


def activate(activation: Activation, z: Array) -> Array:
    """``f(z)`` in a new array (``z`` itself for identity), by the activation's forward calls."""
    if activation.is_identity:
        return z
    a = np.empty_like(z)
    run(activation.forward_ops(z, a))
    return a


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    record = request_context.current()
    return record.request_id if record else None


OPTIMIZERS: list[dict[str, Any]] = [
    {"type": "sgd", "learning_rate": 0.01},
    {"type": "sgd", "learning_rate": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    {"type": "sgd", "learning_rate": 0.01, "momentum": 0.5, "dampening": 0.1},
    {"type": "adam", "learning_rate": 0.01, "amsgrad": True},
    {"type": "adam", "learning_rate": 0.01, "betas": [0.8, 0.99], "weight_decay": 0.001},
    {"type": "adamw", "learning_rate": 0.01},
]
"""Every kind of optimizer setting: plain SGD, momentum with Nesterov and weight decay,
dampening, AMSGrad, Adam with L2 decay, AdamW."""
