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


def openapi_example(value: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The notebook example in the form FastAPI's ``Body(openapi_examples=...)`` expects."""
    return {
        "notebook": {
            "summary": "The notebook's 3-2-1 ReLU network",
            "description": "Returns the numbers the notebook prints for its first epoch.",
            "value": value,
        }
    }
