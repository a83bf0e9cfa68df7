"""The four endpoints and the probes through the real app: forms, batches and divergence."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import examples
from tests.helpers import strict_json

BATCH = [[-1.0, 2.0, 1.5], [0.5, -0.25, 2.0], [3.0, 1.0, -2.0]]
BATCH_TARGETS = [[1.0], [0.0], [-0.5]]


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return strict_json(response.text)


def test_forward_single_sample_is_one_dimensional(client: TestClient) -> None:
    """One sample in, 1-D outputs and 1-D z/a per layer out."""
    body = _post(client, "/forward", examples.FORWARD)
    assert body["outputs"] == pytest.approx([-0.885], rel=1e-15)
    assert [len(layer["z"]) for layer in body["layers"]] == [2, 1]
    assert body["layers"][0]["z"] == pytest.approx([0.1, 1.45], rel=1e-15)


def test_forward_batch_rows_equal_single_samples(client: TestClient) -> None:
    """A batch in, 2-D arrays out, each row equal (up to rounding) to that sample sent alone."""
    batch = _post(client, "/forward", {**examples.FORWARD, "inputs": BATCH})
    assert len(batch["outputs"]) == len(BATCH)
    for i, row in enumerate(BATCH):
        single = _post(client, "/forward", {**examples.FORWARD, "inputs": row})
        assert batch["outputs"][i] == pytest.approx(single["outputs"], rel=1e-14)
        for layer_b, layer_s in zip(batch["layers"], single["layers"], strict=True):
            assert layer_b["z"][i] == pytest.approx(layer_s["z"], rel=1e-14)
            assert layer_b["a"][i] == pytest.approx(layer_s["a"], rel=1e-14)


def test_forward_without_layers_answers_the_same_outputs_alone(client: TestClient) -> None:
    """``layers: false`` leaves every z and a out; the outputs are the full answer's, bit for
    bit."""
    full = _post(client, "/forward", {**examples.FORWARD, "inputs": BATCH})
    response = client.post("/forward", json={**examples.FORWARD, "inputs": BATCH, "layers": False})
    assert response.status_code == 200, response.text
    assert response.json() == {"outputs": full["outputs"]}


def test_forward_without_layers_counts_only_outputs_against_the_size_limit(
    limited_client: Callable[..., TestClient],
) -> None:
    """A grid whose every z and a would be over BACKPROP_MAX_TRACE_VALUES is answered when only
    its outputs are asked for: 1,000 samples × (1 output + 2 × 3 units) = 7,000 numbers."""
    client = limited_client(BACKPROP_MAX_TRACE_VALUES=5_000)
    body = {**examples.FORWARD, "inputs": [[0.001 * i, 0.0, 1.0] for i in range(1_000)]}
    refused = client.post("/forward", json=body)
    assert refused.status_code == 422
    assert "BACKPROP_MAX_TRACE_VALUES" in refused.json()["detail"][0]["msg"]
    answered = client.post("/forward", json={**body, "layers": False})
    assert answered.status_code == 200, answered.text
    assert len(answered.json()["outputs"]) == 1_000


def test_relu_zeroes_negative_z(client: TestClient) -> None:
    """The second sample drives the first hidden unit negative: its a is exactly 0."""
    body = _post(client, "/forward", {**examples.FORWARD, "inputs": [[1.0, 0.0, 0.0]]})
    z, a = body["layers"][0]["z"][0], body["layers"][0]["a"][0]
    assert z == pytest.approx([0.1, -0.45])
    assert a == [pytest.approx(0.1), 0.0]


@pytest.mark.parametrize("loss", ["half_squared_error", "mean_squared_error"])
def test_batch_loss_and_gradients_are_means_over_samples(client: TestClient, loss: str) -> None:
    """Batch loss and gradients equal the mean of the per-sample ones (DESIGN §2)."""
    request = {**examples.LOSS, "loss": loss, "inputs": BATCH, "targets": BATCH_TARGETS}
    batch = _post(client, "/backward", request)
    singles = [
        _post(client, "/backward", {**request, "inputs": x, "targets": t})
        for x, t in zip(BATCH, BATCH_TARGETS, strict=True)
    ]
    assert batch["loss"] == pytest.approx(np.mean([s["loss"] for s in singles]), rel=1e-14)
    for layer in range(2):
        for key in ("weights", "bias"):
            mean = np.mean([s["gradients"][layer][key] for s in singles], axis=0)
            np.testing.assert_allclose(batch["gradients"][layer][key], mean, rtol=1e-13, atol=1e-15)
    assert _post(client, "/loss", request)["loss"] == batch["loss"]


def test_mean_squared_error_closed_form(client: TestClient) -> None:
    """MSE averages over every output of every sample: two outputs, two samples."""
    network = {
        "layers": [{"weights": [[1.0], [2.0]], "bias": [0.0, 0.0], "activation": "identity"}]
    }
    request = {"network": network, "inputs": [[1.0], [3.0]], "targets": [[0.0, 0.0], [0.0, 1.0]]}
    mse = _post(client, "/loss", {**request, "loss": "mean_squared_error"})["loss"]
    half = _post(client, "/loss", {**request, "loss": "half_squared_error"})["loss"]
    squares = [1.0, 4.0, 9.0, 25.0]
    assert mse == pytest.approx(sum(squares) / 4, rel=1e-15)
    assert half == pytest.approx((0.5 * (1 + 4) + 0.5 * (9 + 25)) / 2, rel=1e-15)


def test_train_batch_reduces_loss_and_returns_a_postable_network(client: TestClient) -> None:
    """A batch trains, the trace has one entry per epoch and the network can be posted back."""
    request = {**examples.TRAIN, "inputs": BATCH, "targets": BATCH_TARGETS, "epochs": 25}
    body = _post(client, "/train", request)
    assert body["status"] == "completed"
    assert body["diverged_at_epoch"] is None
    assert [entry["epoch"] for entry in body["trace"]] == list(range(1, 26))
    assert body["final_loss"] < body["trace"][0]["loss"]
    assert len(body["trace"][0]["outputs"]) == len(BATCH)
    again = _post(
        client,
        "/loss",
        {**examples.LOSS, "network": body["network"], "inputs": BATCH, "targets": BATCH_TARGETS},
    )
    assert again["loss"] == body["final_loss"]


def test_train_defaults_are_sgd_001_and_10_epochs(client: TestClient) -> None:
    """Without optimizer and epochs, training is the notebook's: SGD at 0.01 for 10 epochs."""
    explicit = _post(client, "/train", examples.TRAIN)
    defaults = _post(client, "/train", examples.LOSS)
    assert defaults == explicit


def test_divergence_stops_with_last_finite_network(client: TestClient) -> None:
    """A huge learning rate overflows: status diverged, the trace stops before it, all finite."""
    request = {**examples.TRAIN, "optimizer": {"type": "sgd", "learning_rate": 1e150}, "epochs": 50}
    body = _post(client, "/train", request)
    assert body["status"] == "diverged"
    at = body["diverged_at_epoch"]
    assert 1 <= at <= 50
    assert body["epochs_run"] == at - 1 == len(body["trace"])
    assert f"epoch {at}" in body["divergence"]
    expected_network = body["trace"][-1]["network"] if body["trace"] else examples.NOTEBOOK_NETWORK
    assert body["network"] == expected_network
    check = _post(client, "/loss", {**examples.LOSS, "network": body["network"]})
    assert check["loss"] == body["final_loss"]


def test_probes(client: TestClient) -> None:
    """Liveness and readiness answer 200 with a JSON status."""
    for path in ("/livez", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/forward", examples.FORWARD),
        ("/loss", examples.LOSS),
        ("/backward", examples.LOSS),
        ("/train", examples.TRAIN),
    ],
)
def test_swagger_examples_are_the_notebook(
    client: TestClient, path: str, expected: dict[str, Any]
) -> None:
    """Each endpoint's "Try it out" is pre-filled with the notebook's request, which works."""
    schema = client.get("/openapi.json").json()
    content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    example = content["examples"]["notebook"]["value"]
    assert example == expected
    body = _post(client, path, example)
    first = body["trace"][0] if path == "/train" else body
    assert first["outputs"] == pytest.approx([-0.885], rel=1e-15)


def test_docs_page_is_served(client: TestClient) -> None:
    """Swagger UI is at /docs."""
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text


@pytest.mark.parametrize(
    "model",
    [
        "ForwardRequest",
        "LossRequest",
        "BackwardRequest",
        "TrainRequest",
        "InitRequest",
        "SGDOptimizer",
        "AdamOptimizer",
        "AdamWOptimizer",
        "OptimizerState",
        "StopRule",
        "Layer",
        "GradcheckRequest",
        "CheckRequest",
        "Claimed",
        "ClaimedLayer",
        "ClaimedTensors",
    ],
)
def test_request_fields_are_described(client: TestClient, model: str) -> None:
    """Every field a client can send has a description in the OpenAPI schema."""
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    name = model if model in schemas else f"{model}-Input"
    missing = [
        field for field, spec in schemas[name]["properties"].items() if "description" not in spec
    ]
    assert missing == [], f"{name}: {missing}"
