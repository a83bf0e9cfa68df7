"""The notebook's 3-2-1 ReLU network and sample: the example of every endpoint in the docs."""

from typing import Any

NOTEBOOK_NETWORK: dict[str, Any] = {
    "layers": [
        {
            "weights": [[0.1, -0.2, 0.4], [-0.5, 0.3, 0.2]],
            "bias": [0.0, 0.05],
            "activation": "relu",
        },
        {"weights": [[0.3, -0.7]], "bias": [0.1], "activation": "identity"},
    ]
}

FORWARD: dict[str, Any] = {"network": NOTEBOOK_NETWORK, "inputs": [-1.0, 2.0, 1.5]}
LOSS: dict[str, Any] = {**FORWARD, "targets": [1.0], "loss": "half_squared_error"}
TRAIN: dict[str, Any] = {
    **LOSS,
    "optimizer": {"type": "sgd", "learning_rate": 0.01},
    "epochs": 10,
}


LONG_RUN: dict[str, Any] = {
    **TRAIN,
    "epochs": 100_000,
    "trace": {"every": 10_000, "include": ["loss"]},
}

CLASSIFY: dict[str, Any] = {
    "network": {
        "layers": [
            {
                "weights": [[0.5, -0.4], [-0.3, 0.8], [0.7, 0.2]],
                "bias": [0.0, 0.1, -0.1],
                "activation": "tanh",
            },
            {
                "weights": [[0.6, -0.5, 0.3], [-0.2, 0.4, -0.6]],
                "bias": [0.0, 0.0],
                "activation": "softmax",
            },
        ]
    },
    "inputs": [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
    "targets": [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]],
    "loss": "cross_entropy",
    "optimizer": {"type": "adam", "learning_rate": 0.1},
    "epochs": 200,
    "batch_size": 2,
    "shuffle": True,
    "seed": 1,
    "stop": {"loss_below": 0.05},
}

INIT: dict[str, Any] = {
    "sizes": [3, 2, 1],
    "activation": "relu",
    "output_activation": "identity",
    "init": "he_uniform",
    "seed": 0,
}


def openapi_example(
    value: dict[str, Any], **more: tuple[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Examples in the form FastAPI's ``Body(openapi_examples=...)`` expects; the first one,
    ``notebook``, pre-fills Swagger UI's "Try it out"; ``more`` maps names to (summary, value)."""
    examples = {
        "notebook": {
            "summary": "The notebook's 3-2-1 ReLU network",
            "description": "Returns the numbers the notebook prints for its first epoch.",
            "value": value,
        }
    }
    return examples | {name: {"summary": s, "value": v} for name, (s, v) in more.items()}
