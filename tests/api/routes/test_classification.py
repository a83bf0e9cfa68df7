"""Classification over HTTP: softmax, binary_cross_entropy, cross_entropy, accuracy and their 422s.

Every expected number is computed here with plain NumPy from the closed forms, not by the app.
"""

import copy
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import examples
from tests.helpers import strict_json

Body = dict[str, Any]
Array = np.ndarray[Any, np.dtype[np.float64]]

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-0.2, 0.8, 0.1], [1.0, 1.0, -1.0]])
W_SIGMOID = np.array([[0.4, -0.3, 0.2], [-0.6, 0.5, 0.1]])
B_SIGMOID = np.array([0.1, -0.2])
W_SOFTMAX = np.array([[0.4, -0.3, 0.2], [-0.6, 0.5, 0.1], [0.3, 0.8, -0.5]])
B_SOFTMAX = np.array([0.1, -0.2, 0.05])
BCE_TARGETS = [[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.25, 0.9]]
CE_TARGETS = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]


def _layer(weights: Any, bias: Any, activation: str) -> Body:
    return {
        "weights": np.asarray(weights).tolist(),
        "bias": np.asarray(bias).tolist(),
        "activation": activation,
    }


def _body(layers: list[Body], inputs: Any, targets: Any, loss: str) -> Body:
    return {
        "network": {"layers": layers},
        "inputs": np.asarray(inputs).tolist(),
        "targets": np.asarray(targets).tolist(),
        "loss": loss,
    }


def _ok(client: TestClient, path: str, body: Body) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = strict_json(response.text)
    return result


def _only_error(client: TestClient, path: str, body: Body) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    detail = strict_json(response.text)["detail"]
    assert len(detail) == 1, detail
    error: dict[str, Any] = detail[0]
    return error


def _sigmoid(z: Array) -> Array:
    result: Array = 1.0 / (1.0 + np.exp(-z))
    return result


def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    result: Array = e / e.sum(axis=1, keepdims=True)
    return result


def _bce_body(targets: Any = BCE_TARGETS) -> Body:
    layers = [_layer(W_SIGMOID, B_SIGMOID, "sigmoid")]
    return _body(layers, X, targets, "binary_cross_entropy")


def _ce_body(targets: Any = CE_TARGETS) -> Body:
    return _body([_layer(W_SOFTMAX, B_SOFTMAX, "softmax")], X, targets, "cross_entropy")


def test_bce_loss_matches_the_closed_form(client: TestClient) -> None:
    """BCE = −mean over every output of every sample of t·log σ(z) + (1−t)·log(1−σ(z))."""
    result = _ok(client, "/loss", _bce_body())
    y, t = _sigmoid(X @ W_SIGMOID.T + B_SIGMOID), np.array(BCE_TARGETS)
    expected = -np.mean(t * np.log(y) + (1 - t) * np.log(1 - y))
    assert result["loss"] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(result["outputs"], y, rtol=1e-12)


def test_ce_loss_matches_the_closed_form(client: TestClient) -> None:
    """CE = −mean over samples of Σ t·log softmax(z), for one-hot and probability rows."""
    result = _ok(client, "/loss", _ce_body())
    y, t = _softmax(X @ W_SOFTMAX.T + B_SOFTMAX), np.array(CE_TARGETS)
    expected = -np.mean(np.sum(t * np.log(y), axis=1))
    assert result["loss"] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(result["outputs"], y, rtol=1e-12)
    np.testing.assert_allclose(np.sum(result["outputs"], axis=1), 1.0, rtol=1e-15)


def test_ce_gradients_match_the_closed_form(client: TestClient) -> None:
    """One softmax layer with CE: ∂L/∂W = (softmax(z) − t)ᵀ·x / n and ∂L/∂b = Σ(softmax − t)/n."""
    result = _ok(client, "/backward", _ce_body())
    d = (_softmax(X @ W_SOFTMAX.T + B_SOFTMAX) - np.array(CE_TARGETS)) / len(X)
    (gradient,) = result["gradients"]
    np.testing.assert_allclose(gradient["weights"], d.T @ X, rtol=1e-12)
    np.testing.assert_allclose(gradient["bias"], d.sum(axis=0), rtol=1e-12)


def test_bce_gradients_match_the_closed_form(client: TestClient) -> None:
    """One sigmoid layer with BCE: ∂L/∂W = (σ(z) − t)ᵀ·x / (n·outputs)."""
    result = _ok(client, "/backward", _bce_body())
    d = (_sigmoid(X @ W_SIGMOID.T + B_SIGMOID) - np.array(BCE_TARGETS)) / X.shape[0] / 2
    (gradient,) = result["gradients"]
    np.testing.assert_allclose(gradient["weights"], d.T @ X, rtol=1e-12)
    np.testing.assert_allclose(gradient["bias"], d.sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize(
    ("targets", "loss", "outputs", "weight_gradient", "accuracy"),
    [
        # z = ±1000, both wrong: each sample costs |z| = 1000; dL/dz = (σ(z) − t)/2 = ±½.
        ([[0.0], [1.0]], 1000.0, [[1.0], [0.0]], 1.0, 0.0),
        # Both right: log(1 + e^−1000) underflows to exactly 0, and so does the gradient.
        ([[1.0], [0.0]], 0.0, [[1.0], [0.0]], 0.0, 1.0),
    ],
    ids=["wrong", "right"],
)
def test_bce_at_huge_logits_is_finite_and_exact(
    client: TestClient,
    targets: list[list[float]],
    loss: float,
    outputs: list[list[float]],
    weight_gradient: float,
    accuracy: float,
) -> None:
    """|z| = 1000 saturates σ but the loss is computed from z: no log(0), no NaN in JSON."""
    body = _body(
        [_layer([[1000.0]], [0.0], "sigmoid")], [[1.0], [-1.0]], targets, "binary_cross_entropy"
    )
    result = _ok(client, "/backward", body)
    assert result["loss"] == loss
    assert result["outputs"] == outputs
    assert result["accuracy"] == accuracy
    assert result["gradients"] == [{"weights": [[weight_gradient]], "bias": [0.0]}]


@pytest.mark.parametrize(
    ("target", "loss", "bias_gradient", "accuracy"),
    [([0.0, 1.0], 2000.0, [1.0, -1.0], 0.0), ([1.0, 0.0], 0.0, [0.0, 0.0], 1.0)],
    ids=["wrong", "right"],
)
def test_ce_at_huge_logits_is_finite_and_exact(
    client: TestClient,
    target: list[float],
    loss: float,
    bias_gradient: list[float],
    accuracy: float,
) -> None:
    """z = (1000, −1000): the loss is logsumexp(z) − z_class = 2000 or 0, softmax − t = ±1 or 0."""
    layer = _layer([[1000.0], [-1000.0]], [0.0, 0.0], "softmax")
    result = _ok(client, "/backward", _body([layer], [1.0], target, "cross_entropy"))
    assert result["loss"] == loss
    assert result["outputs"] == [1.0, 0.0]
    assert result["accuracy"] == accuracy
    assert result["gradients"] == [{"weights": [[g] for g in bias_gradient], "bias": bias_gradient}]


def test_bce_accuracy_counts_outputs(client: TestClient) -> None:
    """BCE accuracy: the share of outputs on the same side of 0.5 as their 0/1 target."""
    layers = [_layer([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], "sigmoid")]
    inputs = [[2.0, -1.0], [-3.0, 0.5], [0.2, 0.7]]  # σ > ½ where z > 0: [1 0] [0 1] [1 1]
    targets = [[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]  # 4 of the 6 outputs match
    for path in ("/loss", "/backward"):
        result = _ok(client, path, _body(layers, inputs, targets, "binary_cross_entropy"))
        assert result["accuracy"] == 4 / 6


def test_ce_accuracy_counts_samples(client: TestClient) -> None:
    """CE accuracy: the share of samples whose largest output is the one-hot target's class."""
    layers = [_layer(np.eye(3), np.zeros(3), "softmax")]
    inputs = [[3.0, 1.0, 0.0], [0.0, 2.0, 5.0], [1.0, 4.0, 2.0]]  # argmax 0, 2, 1
    targets = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]  # classes 0, 1, 1
    for path in ("/loss", "/backward"):
        result = _ok(client, path, _body(layers, inputs, targets, "cross_entropy"))
        assert result["accuracy"] == 2 / 3


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/loss", _bce_body([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.3]])),
        ("/backward", _ce_body()),
        ("/loss", copy.deepcopy(examples.LOSS)),
        ("/backward", copy.deepcopy(examples.LOSS)),
    ],
    ids=["bce soft", "ce soft", "half_squared_error loss", "half_squared_error backward"],
)
def test_accuracy_is_null_without_hard_labels(client: TestClient, path: str, body: Body) -> None:
    """Soft targets and regression losses have no accuracy: the key is there, its value null."""
    result = _ok(client, path, body)
    assert "accuracy" in result
    assert result["accuracy"] is None


def test_train_with_regression_loss_has_null_accuracy(client: TestClient) -> None:
    """/train with half_squared_error: final_accuracy and every trace accuracy are null."""
    result = _ok(client, "/train", copy.deepcopy(examples.TRAIN) | {"epochs": 2})
    assert result["final_accuracy"] is None
    assert [entry["accuracy"] for entry in result["trace"]] == [None, None]


HIDDEN_RELU = _layer([[0.5, -0.5, 0.1], [0.2, 0.3, -0.4]], [0.0, 0.1], "relu")


@pytest.mark.parametrize(
    ("body", "needed", "actual"),
    [
        (
            _body(
                [HIDDEN_RELU, _layer([[0.3, -0.7]], [0.1], "identity")],
                X,
                [[1.0]] * 4,
                "binary_cross_entropy",
            ),
            "sigmoid",
            "identity",
        ),
        (
            _body(
                [_layer(W_SOFTMAX, B_SOFTMAX, "softmax")], X, np.eye(4, 3), "binary_cross_entropy"
            ),
            "sigmoid",
            "softmax",
        ),
        (
            _body(
                [HIDDEN_RELU, _layer([[0.3, -0.7], [0.1, 0.2]], [0.1, 0.0], "sigmoid")],
                X,
                [[1.0, 0.0], [0.0, 1.0]] * 2,
                "cross_entropy",
            ),
            "softmax",
            "sigmoid",
        ),
    ],
    ids=["bce after identity", "bce after softmax", "ce after sigmoid"],
)
@pytest.mark.parametrize("path", ["/loss", "/backward", "/train"])
def test_loss_needs_its_output_activation(
    client: TestClient, path: str, body: Body, needed: str, actual: str
) -> None:
    """Each cross-entropy needs its own last activation; the error points at that activation."""
    error = _only_error(client, path, body)
    last = len(body["network"]["layers"]) - 1
    assert error["type"] == "invalid_combination"
    assert error["loc"] == ["body", "network", "layers", last, "activation"]
    assert f"{body['loss']} needs the last layer (layer {last})" in error["msg"]
    assert f"the {needed} activation" in error["msg"]
    assert actual in error["msg"]


@pytest.mark.parametrize("path", ["/forward", "/backward"])
def test_softmax_only_on_the_last_layer(client: TestClient, path: str) -> None:
    """softmax on a hidden layer is rejected at that layer's activation, on every endpoint."""
    hidden = _layer(W_SOFTMAX, B_SOFTMAX, "softmax")
    body = _body(
        [hidden, _layer([[0.3, -0.7, 0.2]], [0.1], "identity")],
        X,
        [[1.0]] * 4,
        "half_squared_error",
    )
    if path == "/forward":
        del body["targets"], body["loss"]
    error = _only_error(client, path, body)
    assert error["type"] == "invalid_combination"
    assert error["loc"] == ["body", "network", "layers", 0, "activation"]
    assert "softmax is only allowed on the last layer" in error["msg"]


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        (
            _bce_body([[1.0, 0.0], [1.5, 0.0], [1.0, 1.0], [0.0, 0.0]]),
            ["targets", 1],
            "between 0 and 1",
        ),
        (
            _body([_layer([[0.5]], [0.0], "sigmoid")], [2.0], [1.5], "binary_cross_entropy"),
            ["targets"],
            "between 0 and 1",
        ),
        (
            _ce_body([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.3, 0.4], [0.0, 0.0, 1.0]]),
            ["targets", 2],
            "sums to 0.9",
        ),
        (
            _body(
                [_layer(W_SOFTMAX, B_SOFTMAX, "softmax")], X[0], [0.2, 0.3, 0.4], "cross_entropy"
            ),
            ["targets"],
            "sums to 0.9",
        ),
    ],
    ids=["bce 1.5 in a batch", "bce 1.5 alone", "ce row sums to 0.9", "ce sample sums to 0.9"],
)
def test_invalid_targets(client: TestClient, body: Body, loc: list[Any], message: str) -> None:
    """Targets that are not probabilities (or rows that do not sum to 1) get invalid_target."""
    error = _only_error(client, "/loss", body)
    assert error["type"] == "invalid_target"
    assert error["loc"] == ["body", *loc]
    assert message in error["msg"]


def test_ce_sum_tolerance_is_1e_minus_9(client: TestClient) -> None:
    """A row summing to 1 within 1e-9 is a valid probability row; one 1e-8 off is not."""
    close, off = [0.1, 0.2, 0.7 + 5e-10], [0.1, 0.2, 0.7 + 1e-8]
    assert client.post("/loss", json=_ce_body([*CE_TARGETS[:3], close])).status_code == 200
    error = _only_error(client, "/loss", _ce_body([*CE_TARGETS[:3], off]))
    assert error["type"] == "invalid_target"
    assert error["loc"] == ["body", "targets", 3]


def test_softmax_cross_entropy_learns_a_separable_problem(client: TestClient) -> None:
    """Adam on two well-separated clusters: from all wrong to final_accuracy 1.0, lower loss."""
    inputs = [[-1.0, -1.2], [-1.5, -0.8], [-0.7, -1.1], [1.0, 1.3], [1.4, 0.9], [0.8, 1.1]]
    targets = [[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3
    start = _layer([[0.5, 0.5], [-0.5, -0.5]], [0.0, 0.0], "softmax")  # every sample wrong
    body = _body([start], inputs, targets, "cross_entropy") | {
        "optimizer": {"type": "adam", "learning_rate": 0.1},
        "epochs": 30,
    }
    result = _ok(client, "/train", body)
    assert result["status"] == "completed"
    assert result["trace"][0]["accuracy"] == 0.0
    assert result["final_accuracy"] == 1.0
    assert result["final_loss"] < result["trace"][0]["loss"] / 10
    again = _ok(
        client, "/loss", _body(result["network"]["layers"], inputs, targets, "cross_entropy")
    )
    assert again["loss"] == result["final_loss"]
    assert again["accuracy"] == 1.0
