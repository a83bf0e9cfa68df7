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

REGULARIZED: dict[str, Any] = {
    **CLASSIFY,
    "regularization": {"type": "l2", "rate": 0.01},
    "trace": {"every": 10, "include": ["loss", "penalty", "health"]},
}

VANISHING: dict[str, Any] = {
    "network": {
        "layers": [
            {"weights": w, "bias": [0.0] * len(w), "activation": "sigmoid"}
            for w in [
                [[0.09, -0.09], [0.45, 0.07], [-0.38, 0.26]],
                [[0.75, 0.55, -0.41], [-0.73, -0.36, 0.02], [-1.34, -0.13, -0.72]],
                [[-0.42, -0.31, -0.18], [0.24, 0.6, -0.07], [0.79, -0.38, 0.2]],
                [[0.52, 0.05, -0.43], [-0.53, -0.26, 0.13], [-0.58, -0.12, -0.09]],
                [[0.31, 0.12, 0.21], [-0.38, -0.07, 0.45], [0.86, -0.73, 0.87]],
                [[0.78, 0.45, 0.15]],
            ]
        ]
    },
    "inputs": [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
    "targets": [[0.0], [1.0], [1.0], [0.0]],
    "optimizer": {"type": "sgd", "learning_rate": 0.1},
    "epochs": 100,
    "trace": {"every": 50, "include": ["loss", "health"]},
}
"""XOR on six sigmoid layers: its gradient vanishes layer by layer back, as the diagnoses say."""

EARLY_STOPPING: dict[str, Any] = {
    "network": {
        "layers": [
            {
                "weights": [[0.02], [0.9], [-0.71], [0.9], [-0.38], [-0.15], [0.66], [-0.18]],
                "bias": [0.1, -0.94, 0.51, 0.08, -0.34, 0.58, -0.39, -0.09],
                "activation": "tanh",
            },
            {
                "weights": [[-0.26, -0.07, -0.21, -0.17, 0.18, -0.16, -0.01, 0.34]],
                "bias": [0.33],
                "activation": "identity",
            },
        ]
    },
    "inputs": [[-2.0], [-1.2], [-0.4], [0.4], [1.2], [2.0]],
    "targets": [[-0.81], [-0.69], [-0.29], [0.0], [1.2], [1.04]],
    "validation": {
        "inputs": [[-1.8], [-1.2], [-0.6], [0.0], [0.6], [1.2], [1.8]],
        "targets": [[-0.97], [-0.93], [-0.56], [0.0], [0.56], [0.93], [0.97]],
    },
    "loss": "mean_squared_error",
    "optimizer": {"type": "adam", "learning_rate": 0.02},
    "epochs": 2000,
    "stop": {"patience": 50},
    "trace": {"every": 25, "include": ["loss", "validation_loss"]},
}
"""Six noisy samples of sin(x) that a 1-8-1 tanh network learns by heart, validated on seven
clean ones: early stopping returns the network of epoch 25, before it overfits."""

INIT: dict[str, Any] = {
    "sizes": [3, 2, 1],
    "activation": "relu",
    "output_activation": "identity",
    "init": "he_uniform",
    "seed": 0,
}

DATASET: dict[str, Any] = {"name": "moons", "samples": 200, "noise": 0.1, "seed": 0}
DATASET_EXAMPLES: dict[str, dict[str, Any]] = {
    "moons": {"summary": "Two half moons, one-hot targets", "value": DATASET},
    "xor_binary": {
        "summary": "XOR with one 0/1 target column and a held-out quarter",
        "value": {"name": "xor", "samples": 40, "encoding": "binary", "test_fraction": 0.25},
    },
    "spiral": {
        "summary": "Three spiral arms",
        "value": {"name": "spiral", "samples": 300, "arms": 3, "turns": 1.0, "noise": 0.02},
    },
    "linear": {
        "summary": "Regression with a known answer: w = [1, −2, 3], b = 0.5",
        "value": {"name": "linear", "samples": 50, "features": 3, "noise": 0.0},
    },
    "circles_features": {
        "summary": "Circles as x1² and x2², and a 5 × 5 grid of the plane with the same features",
        "value": {
            "name": "circles",
            "samples": 100,
            "input_features": ["x1_squared", "x2_squared"],
            "grid": {"low": -1.0, "high": 1.0, "steps": 5},
        },
    },
    "gaussians": {
        "summary": "TensorFlow Playground's mixture of Gaussians (regression)",
        "value": {"name": "gaussians", "samples": 200, "test_fraction": 0.5},
    },
    "notebook": {"summary": "The notebook's one sample", "value": {"name": "notebook"}},
}
"""/datasets' examples; the first pre-fills Swagger UI's "Try it out"."""


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


EXPORT_EXAMPLES: dict[str, dict[str, Any]] = {
    "pytorch": {
        "summary": "The notebook's run as a PyTorch script",
        "description": "A /train body plus format: the script trains as /train does.",
        "value": {**TRAIN, "format": "pytorch"},
    },
    "numpy": {
        "summary": "XOR with Adam and shuffled mini-batches as a NumPy script",
        "value": {**CLASSIFY, "format": "numpy"},
    },
    "early_stopping": {
        "summary": "Validation and early stopping on a network that overfits, as a NumPy script",
        "value": {**EARLY_STOPPING, "format": "numpy"},
    },
    "notebook": {
        "summary": "The notebook's run as a Jupyter notebook, its first step worked out",
        "value": {**TRAIN, "format": "notebook"},
    },
    "exercise": {
        "summary": "A student's exercise as a Jupyter notebook to fill in and check()",
        "description": "A POST /exercises body as exercise: the notebook backprop exercises "
        "writes for that student.",
        "value": {
            "format": "notebook",
            "exercise": {"template": "mazur", "student": "Ada Lovelace", "course": "ML 101"},
        },
    },
    "json": {
        "summary": "The notebook's network as a PyTorch state_dict",
        "value": {"network": NOTEBOOK_NETWORK, "format": "json"},
    },
    "file": {
        "summary": "A PyTorch script reading its data from data.json",
        "value": {**TRAIN, "format": "pytorch", "include_data": False},
    },
}
"""/export's examples; the first pre-fills Swagger UI's "Try it out"."""

GRADCHECK: dict[str, Any] = {**LOSS, "epsilon": 1e-6}

# The notebook's first epoch as it prints it (8 decimals): every value checks out.
NOTEBOOK_CLAIMED: dict[str, Any] = {
    "layers": [{"a": [0.1, 1.45]}],
    "outputs": [-0.885],
    "loss": 1.7766125,
    "gradients": [
        {
            "weights": [[0.5655, -1.131, -0.84825], [-1.3195, 2.639, 1.97925]],
            "bias": [-0.5655, 1.3195],
        },
        {"weights": [[-0.1885, -2.73325]], "bias": [-1.885]},
    ],
    "network": {
        "layers": [
            {
                "weights": [[0.094345, -0.18869, 0.4084825], [-0.486805, 0.27361, 0.1802075]],
                "bias": [0.005655, 0.036805],
            },
            {"weights": [[0.301885, -0.6726675]], "bias": [0.11885]},
        ]
    },
}
CHECK: dict[str, Any] = {
    **LOSS,
    "learning_rate": TRAIN["optimizer"]["learning_rate"],
    "tolerance": 1e-6,
    "claimed": NOTEBOOK_CLAIMED,
}
# Two usual mistakes: the ½ of the loss dropped (so the output delta doubles) and w + η·∂L/∂w.
CHECK_MISTAKES: dict[str, Any] = {
    **CHECK,
    "claimed": {
        "outputs": [-0.885],
        "loss": 3.553225,
        "gradients": [{}, {"bias": [-3.77]}],
        "network": {"layers": [{}, {"bias": [0.08115]}]},
    },
}
# The momentum template's variant of seed 7 (POST /exercises): the last layer's gradients, its new
# velocity v = 0.9·v + ∂L/∂w and its update w − 0.1·v, to 4 figures; the bias stepped as plain
# SGD (w − 0.1·∂L/∂b, the velocity left out).
CHECK_MOMENTUM: dict[str, Any] = {
    "network": {
        "layers": [
            {"weights": [[0.8, -0.9], [0.3, 0.1]], "bias": [0.5, 0.1], "activation": "relu"},
            {"weights": [[0.8, 1.0]], "bias": [-0.4], "activation": "identity"},
        ]
    },
    "inputs": [0.3, -1.3],
    "targets": [-0.5],
    "loss": "half_squared_error",
    "optimizer": {"type": "sgd", "learning_rate": 0.1, "momentum": 0.9},
    "optimizer_state": {
        "type": "sgd",
        "step": 1,
        "momentum_buffer": [
            {"weights": [[0.1, -0.5], [-0.4, -0.1]], "bias": [0.4, 0.5]},
            {"weights": [[0.2, 0.1]], "bias": [0.1]},
        ],
    },
    "claimed": {
        "gradients": [{}, {"weights": [[3.224, 0.1013]], "bias": [1.688]}],
        "optimizer_state": {
            "momentum_buffer": [{}, {"weights": [[3.404, 0.1913]], "bias": [1.778]}]
        },
        "network": {"layers": [{}, {"weights": [[0.4596, 0.9809]], "bias": [-0.5688]}]},
    },
}

EXPLAIN: dict[str, Any] = {
    **LOSS,
    "optimizer": TRAIN["optimizer"],
    "format": "markdown",
    "digits": 6,
}
EXPLAIN_ADAM: dict[str, Any] = {
    **LOSS,
    "optimizer": {"type": "adam", "learning_rate": 0.001},
    "format": "text",
}
EXPLAIN_BATCH: dict[str, Any] = {
    **LOSS,
    "inputs": [[-1.0, 2.0, 1.5], [1.0, 0.0, 0.0]],
    "targets": [[1.0], [1.0]],
    "sample": 1,
    "format": "json",
}

EXERCISE_EXAMPLES: dict[str, dict[str, Any]] = {
    "notebook": {
        "summary": "A variant of the notebook's 3-2-1 ReLU network, with its answer",
        "value": {"template": "notebook", "seed": 7, "include_answer": True},
    },
    "student": {
        "summary": "Mazur's 2-2-2 sigmoid network for one student of a course",
        "value": {"template": "mazur", "student": "Ada Lovelace", "course": "ML 101"},
    },
    "custom": {
        "summary": "A 2-2-1 tanh network on two samples: forward pass and loss only",
        "value": {
            "template": {
                "sizes": [2, 2, 1],
                "activation": "tanh",
                "samples": 2,
                "compute": ["forward", "loss"],
            },
            "seed": 1,
        },
    },
}
"""/exercises' examples; the first pre-fills Swagger UI's "Try it out"."""
