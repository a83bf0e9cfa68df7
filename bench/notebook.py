"""The notebook's own training loop (``shared/seed/notebook.txt``), the baseline of the engine.

Its functions are copied verbatim (type hints added, comments translated, prints removed). Like
the notebook, the loop runs on module globals, and ``backward`` reads the global ``W2``: the
notebook's code is timed as the notebook runs it. :func:`run_recorded` is the same loop keeping
every number /train returns, as the dictionaries of its JSON answer.
"""

from typing import Any

import numpy as np

from app.nn.types import Array


# Compute the relu function
def relu(a: Array) -> Array:
    a = np.maximum(0, a)
    return a  # noqa: RET504 (verbatim)


# Forward pass: the output y_pred
def forward(X: Array, W1: Array, W2: Array, B1: Array, B2: Array) -> tuple[Array, Array, Array]:
    Z = np.dot(W1, X) + B1
    H = relu(Z)

    y_pred = np.dot(H, W2.flatten()) + B2
    return H, Z, y_pred


# The loss function
def compute_loss(y_pred: Array, y_true: Array) -> Array:
    loss = (y_pred - y_true) ** 2 / 2
    return loss  # noqa: RET504 (verbatim)


# Backpropagation: the gradients
def backward(
    y_pred: Array, y_true: Array, X: Array, H: Array, Z: Array
) -> tuple[Array, Array, Array, Array]:
    B2_grad = y_pred - y_true
    W2_grad = np.outer(B2_grad, H)

    B1_grad = B2_grad * W2.flatten() * (Z > 0)
    W1_grad = np.outer(B1_grad, X)

    return W1_grad, W2_grad, B1_grad, B2_grad


# Update the parameters, weight and bias
def update_param(
    learning_rate: float,
    W1: Array,
    W2: Array,
    B1: Array,
    B2: Array,
    W1_grad: Array,
    W2_grad: Array,
    B1_grad: Array,
    B2_grad: Array,
) -> tuple[Array, Array, Array, Array]:
    W1 -= learning_rate * W1_grad
    W2 -= learning_rate * W2_grad

    B1 -= learning_rate * B1_grad
    B2 -= learning_rate * B2_grad

    return W1, W2, B1, B2


X = np.array([-1.0, 2.0, 1.5])  # input vector (3,)
W1 = np.array([[0.1, -0.2, 0.4], [-0.5, 0.3, 0.2]])  # hidden layer weights (2,3)
B1 = np.array([0.0, 0.05])  # hidden layer bias (2,)
W2 = np.array([[0.3, -0.7]])  # output layer weights (1,2)
B2 = np.array([0.1])  # output layer bias (1,)
y_true = np.array([1.0])  # target
learning_rate = 0.01
loss = np.array([np.nan])
epoch = 0

INITIAL = (W1.copy(), W2.copy(), B1.copy(), B2.copy())


def reset() -> None:
    """Put the globals back to the notebook's initial network."""
    global W1, W2, B1, B2
    W1, W2, B1, B2 = (p.copy() for p in INITIAL)


def run(epochs: int) -> tuple[Array, Array, Array, Array]:
    """The notebook's loop for ``epochs`` epochs from its initial network; returns W1, W2, B1,
    B2 at the end."""
    global W1, W2, B1, B2, loss, epoch
    reset()
    for epoch in range(epochs):  # noqa: B007 (the notebook's loop variable)
        H, Z, y_pred = forward(X, W1, W2, B1, B2)

        loss = compute_loss(y_pred, y_true)

        W1_grad, W2_grad, B1_grad, B2_grad = backward(y_pred, y_true, X, H, Z)

        W1, W2, B1, B2 = update_param(
            learning_rate, W1, W2, B1, B2, W1_grad, W2_grad, B1_grad, B2_grad
        )
    return W1, W2, B1, B2


def _network() -> dict[str, Any]:
    """The current globals in /train's network format."""
    return {
        "layers": [
            {"weights": W1.tolist(), "bias": B1.tolist(), "activation": "relu"},
            {"weights": W2.tolist(), "bias": B2.tolist(), "activation": "identity"},
        ]
    }


def run_recorded(epochs: int) -> dict[str, Any]:
    """The notebook's loop keeping what /train answers with its default (full) trace.

    Each entry holds the epoch's loss, output, each layer's z and a, the gradients and the
    network after the update, as lists of Python floats; the document around them has /train's
    top-level fields, the final loss being that of the last network (a last forward pass).
    """
    global W1, W2, B1, B2, loss, epoch
    reset()
    trace = []
    for epoch in range(epochs):
        H, Z, y_pred = forward(X, W1, W2, B1, B2)

        loss = compute_loss(y_pred, y_true)

        W1_grad, W2_grad, B1_grad, B2_grad = backward(y_pred, y_true, X, H, Z)

        W1, W2, B1, B2 = update_param(
            learning_rate, W1, W2, B1, B2, W1_grad, W2_grad, B1_grad, B2_grad
        )
        trace.append(
            {
                "epoch": epoch + 1,
                "loss": loss.item(),
                "accuracy": None,
                "outputs": y_pred.tolist(),
                "layers": [
                    {"z": Z.tolist(), "a": H.tolist()},
                    {"z": y_pred.tolist(), "a": y_pred.tolist()},
                ],
                "gradients": [
                    {"weights": W1_grad.tolist(), "bias": B1_grad.tolist()},
                    {"weights": W2_grad.tolist(), "bias": B2_grad.tolist()},
                ],
                "network": _network(),
            }
        )
    _, _, y_pred = forward(X, W1, W2, B1, B2)
    state = {"type": "sgd", "step": epochs, "epoch": epochs}
    return {
        "status": "completed",
        "epochs_run": epochs,
        "final_loss": compute_loss(y_pred, y_true).item(),
        "final_accuracy": None,
        "diverged_at_epoch": None,
        "divergence": None,
        "network": _network(),
        "optimizer_state": state
        | dict.fromkeys(["momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
        "trace": trace,
    }
