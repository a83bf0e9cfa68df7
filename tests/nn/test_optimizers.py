"""Optimizers against PyTorch's documented algorithms, written here independently.

The references follow the pseudo-code of the torch.optim.SGD, Adam and AdamW docs line by line,
on per-layer arrays; the engine updates one flat vector with fused expressions. Gradients come
from the engine's backward pass (itself checked against finite differences elsewhere).
"""

from typing import Any

import numpy as np
import pytest

from app.nn.losses import LOSSES
from app.nn.network import Parameters, compute_gradients, evaluate
from app.nn.optimizers import SGD, Adam, Optimizer
from app.nn.training import Run, TrainingResult, train

EPOCHS = 25
LOSS = LOSSES["half_squared_error"]


def _problem() -> tuple[Parameters, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    params = Parameters.from_layers(
        [rng.normal(size=(4, 3)), rng.normal(size=(2, 4))],
        [rng.normal(size=4), rng.normal(size=2)],
        ["tanh", "identity"],
    )
    return params, rng.normal(size=(5, 3)), rng.normal(size=(5, 2))


def _grads(params: Parameters, x: np.ndarray, t: np.ndarray) -> list[np.ndarray]:
    fwd, _ = evaluate(params, x, t, LOSS)
    return [a.copy() for layer in compute_gradients(params, fwd, t, LOSS).layers for a in layer]


def _reference(config: dict[str, Any], epochs: int) -> list[np.ndarray]:
    """The docs' algorithm applied tensor by tensor; returns the flat parameters per epoch."""
    params, x, t = _problem()
    tensors = [a for layer in params.layers for a in layer]
    state: dict[str, list[np.ndarray]] = {}
    history = []
    for step in range(1, epochs + 1):
        grads = _grads(params, x, t)
        for i, (theta, g) in enumerate(zip(tensors, grads, strict=True)):
            kind, lr, wd = config["type"], config["lr"], config.get("weight_decay", 0.0)
            if kind == "sgd":
                mu, tau = config.get("momentum", 0.0), config.get("dampening", 0.0)
                if wd:
                    g = g + wd * theta
                if mu:
                    b = state.setdefault("b", [np.zeros(0)] * len(tensors))
                    b[i] = mu * b[i] + (1 - tau) * g if step > 1 else g.copy()
                    g = g + mu * b[i] if config.get("nesterov") else b[i]
                theta -= lr * g
                continue
            beta1, beta2, eps = config.get("beta1", 0.9), config.get("beta2", 0.999), 1e-8
            if kind == "adamw":
                theta -= lr * wd * theta
            elif wd:
                g = g + wd * theta
            m = state.setdefault("m", [np.zeros_like(a) for a in tensors])
            v = state.setdefault("v", [np.zeros_like(a) for a in tensors])
            v_max = state.setdefault("v_max", [np.zeros_like(a) for a in tensors])
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g**2
            m_hat = m[i] / (1 - beta1**step)
            if config.get("amsgrad"):
                v_max[i] = np.maximum(v_max[i], v[i])
                v_hat = v_max[i] / (1 - beta2**step)
            else:
                v_hat = v[i] / (1 - beta2**step)
            theta -= lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(params.flat.copy())
    return history


CONFIGS: list[tuple[dict[str, Any], Optimizer]] = [
    ({"type": "sgd", "lr": 0.05}, SGD(0.05)),
    ({"type": "sgd", "lr": 0.05, "momentum": 0.9}, SGD(0.05, momentum=0.9)),
    (
        {"type": "sgd", "lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01},
        SGD(0.05, momentum=0.8, dampening=0.3, weight_decay=0.01),
    ),
    ({"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True}, SGD(0.05, 0.9, nesterov=True)),
    ({"type": "adam", "lr": 0.01}, Adam(0.01)),
    ({"type": "adam", "lr": 0.01, "weight_decay": 0.1}, Adam(0.01, weight_decay=0.1)),
    ({"type": "adam", "lr": 0.02, "amsgrad": True}, Adam(0.02, amsgrad=True)),
    (
        {"type": "adam", "lr": 0.01, "beta1": 0.5, "beta2": 0.9},
        Adam(0.01, beta1=0.5, beta2=0.9),
    ),
    (
        {"type": "adamw", "lr": 0.01, "weight_decay": 0.01},
        Adam(0.01, weight_decay=0.01, decoupled=True),
    ),
    (
        {"type": "adamw", "lr": 0.01, "weight_decay": 0.2, "amsgrad": True},
        Adam(0.01, weight_decay=0.2, amsgrad=True, decoupled=True),
    ),
]


def _finish(training: Run) -> TrainingResult:
    """Train to the end, dropping the records."""
    for _ in training:
        pass
    return training.result


@pytest.mark.parametrize(("config", "optimizer"), CONFIGS, ids=[str(c[0]) for c in CONFIGS])
def test_matches_documented_algorithm(config: dict[str, Any], optimizer: Optimizer) -> None:
    """Every epoch's parameters agree with the reference to 1e-9 relative over 25 epochs."""
    params, x, t = _problem()
    training = train(params, x, t, LOSS, optimizer, EPOCHS)
    records, result = [r.network for r in training], training.result
    assert result.status == "completed"
    for record, expected in zip(records, _reference(config, EPOCHS), strict=True):
        np.testing.assert_allclose(record.flat, expected, rtol=1e-9, atol=1e-12)
    assert result.optimizer_state.step == EPOCHS


@pytest.mark.parametrize(("config", "optimizer"), CONFIGS, ids=[str(c[0]) for c in CONFIGS])
def test_resuming_equals_one_run(config: dict[str, Any], optimizer: Optimizer) -> None:
    """Ten epochs equal five, then five more from the returned network and state."""
    params, x, t = _problem()
    whole = _finish(train(params, x, t, LOSS, optimizer, 10))
    first = _finish(train(params, x, t, LOSS, optimizer, 5))
    second = _finish(train(first.network, x, t, LOSS, optimizer, 5, first.optimizer_state))
    np.testing.assert_allclose(second.network.flat, whole.network.flat, rtol=1e-12, atol=0)
    assert second.optimizer_state.step == 10
    for name, values in whole.optimizer_state.buffers.items():
        np.testing.assert_allclose(second.optimizer_state.buffers[name], values, rtol=1e-12)
