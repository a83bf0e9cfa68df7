"""Write the generated examples (two moons, a sine, a mini-batch Adam regression) from fixed seeds.

``python examples/make_data.py`` rewrites moons.json, sine.json and minibatch_adam.json with the
same bytes every time: the data come from ``numpy.random.default_rng`` with fixed seeds, rounded
to 4 decimals to keep the files small, and each initial network from the API's own ``/init``
schemes.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.nn.activations import ActivationName
from app.nn.init import initialize

HERE = Path(__file__).parent


def network(sizes: list[int], activations: Sequence[ActivationName], seed: int) -> dict[str, Any]:
    """An initial network drawn as ``POST /init`` draws it (pytorch_default)."""
    params = initialize(sizes, activations, "pytorch_default", seed)
    return {
        "layers": [
            {"weights": np.round(w, 4).tolist(), "bias": np.round(b, 4).tolist(), "activation": a}
            for (w, b), a in zip(params.layers, params.activations, strict=True)
        ]
    }


def moons(per_class: int = 30, noise: float = 0.1, seed: int = 0) -> tuple[Any, Any]:
    """Two interleaved half circles (scikit-learn's make_moons), labels one-hot."""
    rng = np.random.default_rng(seed)
    angle = np.linspace(0, np.pi, per_class)
    upper = np.column_stack([np.cos(angle), np.sin(angle)])
    lower = np.column_stack([1 - np.cos(angle), 0.5 - np.sin(angle)])
    x = np.vstack([upper, lower]) + rng.normal(0, noise, (2 * per_class, 2))
    labels = np.repeat([0, 1], per_class)
    return np.round(x, 4), np.eye(2)[labels]


def examples() -> dict[str, dict[str, Any]]:
    """The generated examples by file name."""
    x, t = moons()
    sine_x = np.linspace(-np.pi, np.pi, 32)[:, None]
    rng = np.random.default_rng(1)
    lin_x = rng.uniform(-1, 1, (64, 2))
    lin_t = lin_x @ [[2.0], [-3.0]] + 1.0 + rng.normal(0, 0.05, (64, 1))
    return {
        "moons.json": {
            "network": network([2, 8, 2], ["tanh", "softmax"], seed=0),
            "inputs": x.tolist(),
            "targets": t.tolist(),
            "loss": "cross_entropy",
            "optimizer": {"type": "adam", "learning_rate": 0.05},
            "epochs": 300,
            "trace": {"every": 50, "include": ["loss", "accuracy"]},
        },
        "sine.json": {
            "network": network([1, 16, 1], ["tanh", "identity"], seed=0),
            "inputs": np.round(sine_x, 4).tolist(),
            "targets": np.round(np.sin(sine_x), 4).tolist(),
            "loss": "mean_squared_error",
            "optimizer": {"type": "adam", "learning_rate": 0.02},
            "epochs": 2000,
            "trace": {"every": 500, "include": ["loss"]},
        },
        "minibatch_adam.json": {
            "network": network([2, 1], ["identity"], seed=0),
            "inputs": np.round(lin_x, 4).tolist(),
            "targets": np.round(lin_t, 4).tolist(),
            "loss": "mean_squared_error",
            "optimizer": {"type": "adam", "learning_rate": 0.05},
            "epochs": 200,
            "batch_size": 8,
            "shuffle": True,
            "seed": 0,
            "trace": {"every": 50, "include": ["loss"]},
        },
    }


def main() -> None:
    for name, body in examples().items():
        (HERE / name).write_text(json.dumps(body) + "\n")


if __name__ == "__main__":
    main()
