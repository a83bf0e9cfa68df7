"""The notebook's numbers, end to end through POST /train.

Reference values are copied from the notebook's printed output (``shared/seed/notebook.txt``,
printed by NumPy with 8 digits after the point) and from an independent float64 loop written the
way the notebook writes it.
"""

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.notebook_values import PRINTED, PRINTED_UPDATES

PRINTED_DIGITS_TOLERANCE = 5.0000001e-9


def _close_to_printed(actual: Any, printed: Any) -> None:
    np.testing.assert_allclose(actual, printed, rtol=0, atol=PRINTED_DIGITS_TOLERANCE)


def _notebook_loop(epochs: int) -> list[dict[str, Any]]:
    """The notebook's own code (forward, compute_loss, backward, update_param), without prints."""
    X = np.array([-1.0, 2.0, 1.5])
    W1 = np.array([[0.1, -0.2, 0.4], [-0.5, 0.3, 0.2]])
    B1 = np.array([0.0, 0.05])
    W2 = np.array([[0.3, -0.7]])
    B2 = np.array([0.1])
    y_true = np.array([1.0])
    learning_rate = 0.01
    out = []
    for _ in range(epochs):
        Z = np.dot(W1, X) + B1
        H = np.maximum(0, Z)
        y_pred = np.dot(H, W2.flatten()) + B2
        loss = (y_pred - y_true) ** 2 / 2
        B2_grad = y_pred - y_true
        W2_grad = np.outer(B2_grad, H)
        B1_grad = B2_grad * W2.flatten() * (Z > 0)
        W1_grad = np.outer(B1_grad, X)
        W1 -= learning_rate * W1_grad
        W2 -= learning_rate * W2_grad
        B1 -= learning_rate * B1_grad
        B2 -= learning_rate * B2_grad
        out.append(
            {
                "Z": Z.tolist(),
                "H": H.tolist(),
                "y_pred": y_pred.tolist(),
                "loss": float(loss[0]),
                "grads": [W1_grad.tolist(), B1_grad.tolist(), W2_grad.tolist(), B2_grad.tolist()],
                "params": [W1.tolist(), B1.tolist(), W2.tolist(), B2.tolist()],
            }
        )
    return out


@pytest.fixture
def trace(client: TestClient, notebook: dict[str, Any]) -> list[dict[str, Any]]:
    """The 10-epoch trace of the notebook's request."""
    response = client.post("/train", json=notebook)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed"
    assert body["epochs_run"] == 10
    assert len(body["trace"]) == 10
    trace: list[dict[str, Any]] = body["trace"]
    return trace


@pytest.mark.parametrize("epoch", [1, 2, 3])
def test_printed_forward_loss_and_gradients(trace: list[dict[str, Any]], epoch: int) -> None:
    """Hidden outputs, prediction, loss and every gradient match the notebook's printout."""
    entry, printed = trace[epoch - 1], PRINTED[epoch - 1]
    assert entry["epoch"] == epoch
    _close_to_printed(entry["layers"][0]["a"], printed["hidden"])
    _close_to_printed(entry["outputs"], printed["output"])
    _close_to_printed(entry["loss"], printed["loss"])
    grads = entry["gradients"]
    _close_to_printed(np.ravel(grads[0]["weights"]), printed["W1_grad"])
    _close_to_printed(grads[1]["weights"], printed["W2_grad"])
    _close_to_printed(grads[0]["bias"], printed["B1_grad"])
    _close_to_printed(grads[1]["bias"], printed["B2_grad"])


@pytest.mark.parametrize("epoch", [1, 2])
def test_printed_updates(trace: list[dict[str, Any]], epoch: int) -> None:
    """The parameters after each update match the notebook's printout."""
    layers, printed = trace[epoch - 1]["network"]["layers"], PRINTED_UPDATES[epoch - 1]
    _close_to_printed(layers[0]["weights"], printed["W1"])
    _close_to_printed(layers[1]["weights"], printed["W2"])
    _close_to_printed(layers[0]["bias"], printed["B1"])
    _close_to_printed(layers[1]["bias"], printed["B2"])


def test_all_epochs_equal_the_notebook_loop_exactly(trace: list[dict[str, Any]]) -> None:
    """Every number of all 10 epochs is bit-for-bit the notebook's own float64 arithmetic."""
    for entry, expected in zip(trace, _notebook_loop(10), strict=True):
        assert entry["layers"][0]["z"] == expected["Z"]
        assert entry["layers"][0]["a"] == expected["H"]
        assert entry["outputs"] == expected["y_pred"]
        assert entry["loss"] == expected["loss"]
        grads, layers = entry["gradients"], entry["network"]["layers"]
        assert [grads[0]["weights"], grads[0]["bias"], grads[1]["weights"], grads[1]["bias"]] == (
            expected["grads"]
        )
        assert [
            layers[0]["weights"],
            layers[0]["bias"],
            layers[1]["weights"],
            layers[1]["bias"],
        ] == (expected["params"])


def test_final_loss_is_the_loss_of_the_returned_network(
    client: TestClient, notebook: dict[str, Any]
) -> None:
    """final_loss is the loss of the trained network, i.e. the 11th epoch's starting loss."""
    body = client.post("/train", json=notebook).json()
    loss_request = {k: notebook[k] for k in ("inputs", "targets", "loss")}
    response = client.post("/loss", json={**loss_request, "network": body["network"]})
    assert response.json()["loss"] == body["final_loss"]
    notebook["epochs"] = 11
    assert client.post("/train", json=notebook).json()["trace"][10]["loss"] == body["final_loss"]


def test_first_epoch_matches_design_doc(client: TestClient, notebook: dict[str, Any]) -> None:
    """/backward on the notebook's request returns DESIGN.md's first-epoch numbers."""
    del notebook["optimizer"], notebook["epochs"]
    body = client.post("/backward", json=notebook).json()
    np.testing.assert_allclose(body["layers"][0]["a"], [0.1, 1.45], rtol=1e-15)
    np.testing.assert_allclose(body["outputs"], [-0.885], rtol=1e-15)
    np.testing.assert_allclose(body["loss"], 1.7766125, rtol=1e-15)
    np.testing.assert_allclose(body["gradients"][1]["bias"], [-1.885], rtol=1e-15)
