"""trace.include "health": per recorded epoch each layer's gradient norm, update ratio, dead ReLUs
and saturated units, and for a diverged run where it first met a value that is not finite,
tested on planted vanishing, exploding, dead-ReLU, saturated and diverging runs."""

import copy
import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import examples
from app.client import Client
from app.main import in_process_app
from app.schemas.training import Diagnosis, TrainResponse

XOR_INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_TARGETS = [[0.0], [1.0], [1.0], [0.0]]


def _layer(weights: Any, bias: Any, activation: str) -> dict[str, Any]:
    return {"weights": np.asarray(weights).tolist(), "bias": list(bias), "activation": activation}


def _train(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/train", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _health(client: TestClient, network: dict[str, Any], **more: Any) -> list[dict[str, Any]]:
    body = {
        "network": network,
        "inputs": XOR_INPUTS,
        "targets": XOR_TARGETS,
        "epochs": 1,
        "trace": {"include": ["health"]},
    }
    trace: list[dict[str, Any]] = _train(client, body | more)["trace"]
    return trace[0]["health"]


def test_the_notebook_s_first_epoch_by_hand(client: TestClient) -> None:
    """Gradient norms of /backward's gradients, update ratios of the epoch's update, no ReLU dead
    (both units are on), no saturation measured (relu and identity)."""
    body = copy.deepcopy(examples.TRAIN) | {"epochs": 1, "trace": {"include": ["health"]}}
    answer = _train(client, body)
    grads = client.post("/backward", json=examples.LOSS).json()["gradients"]
    before, after = body["network"]["layers"], answer["network"]["layers"]
    for index, layer in enumerate(answer["trace"][0]["health"]):
        g = np.concatenate([np.ravel(grads[index]["weights"]), grads[index]["bias"]])
        w0 = np.concatenate([np.ravel(before[index]["weights"]), before[index]["bias"]])
        w1 = np.concatenate([np.ravel(after[index]["weights"]), after[index]["bias"]])
        assert layer["gradient_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-14)
        ratio = np.linalg.norm(w1 - w0) / np.linalg.norm(w0)
        assert layer["update_ratio"] == pytest.approx(ratio, rel=1e-12)
        assert layer["saturated_share"] is None
    assert [layer["dead_share"] for layer in answer["trace"][0]["health"]] == [0.0, None]
    assert list(answer["trace"][0]) == ["epoch", "health"]


def test_vanishing_gradients_of_a_deep_sigmoid_network(client: TestClient) -> None:
    """Six sigmoid layers: each layer's gradient is under half the next one's (σ' ≤ 0.25), the
    first under 1e-2 of the last's."""
    rng = np.random.default_rng(0)
    sizes = [2, 8, 8, 8, 8, 8, 1]
    layers = [
        _layer(rng.normal(0, 1 / math.sqrt(n_in), (n_out, n_in)), [0.0] * n_out, "sigmoid")
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    norms = [layer["gradient_norm"] for layer in _health(client, {"layers": layers})]
    assert all(a < 0.5 * b for a, b in itertools.pairwise(norms)), norms
    assert norms[0] < 1e-2 * norms[-1], norms


def test_exploding_gradients_of_a_deep_network_with_gain_3(client: TestClient) -> None:
    """Seven identity layers of weights 3·I on tiny inputs: δ triples at every layer back, so the
    first layer's gradient (its bias's, two entries) is 3⁵·√2 times the last's, to 1%."""
    layers = [_layer(3.0 * np.eye(2), [0.0, 0.0], "identity") for _ in range(6)]
    layers.append(_layer([[1.0, 1.0]], [0.0], "identity"))
    tiny = [[x * 1e-9 for x in row] for row in XOR_INPUTS]
    norms = [layer["gradient_norm"] for layer in _health(client, {"layers": layers}, inputs=tiny)]
    assert norms[0] / norms[-1] == pytest.approx(3.0**5 * math.sqrt(2), rel=0.01), norms


def test_dead_relus_are_counted_and_pass_no_gradient(client: TestClient) -> None:
    """Three of four ReLU units with a bias of −10 never turn on: a share of 0.75; the layer's
    gradient is that of its one live unit."""
    hidden = _layer([[1.0, 1.0]] * 4, [-10.0, -10.0, -10.0, 0.5], "relu")
    network = {"layers": [hidden, _layer([[1.0, 1.0, 1.0, 1.0]], [0.0], "identity")]}
    health = _health(client, network)
    assert health[0]["dead_share"] == 0.75
    all_dead = copy.deepcopy(network)
    all_dead["layers"][0]["bias"] = [-10.0] * 4
    health = _health(client, all_dead)
    assert health[0]["dead_share"] == 1.0
    assert health[0]["gradient_norm"] == 0.0
    assert health[0]["update_ratio"] == 0.0


@pytest.mark.parametrize(("activation", "scale"), [("sigmoid", 20.0), ("tanh", 10.0)])
def test_saturated_units_are_counted(client: TestClient, activation: str, scale: float) -> None:
    """Large weights push every activation but those of the all-zero input into the flat tails:
    3 of 4 samples × 3 units."""
    hidden = _layer(scale * np.array([[1.0, 1.0], [1.0, -1.5], [-2.0, 1.0]]), [0.0] * 3, activation)
    network = {"layers": [hidden, _layer([[1.0, 1.0, 1.0]], [0.0], "identity")]}
    health = _health(client, network)
    assert health[0]["saturated_share"] == pytest.approx(9 / 12)
    assert health[0]["dead_share"] is None


def test_a_diverging_run_says_where_it_first_met_a_value_not_finite(client: TestClient) -> None:
    """Linear regression on inputs of size 10 at a learning rate 0.05, far over 2/λmax: every
    update is over 5 times the weights it changes, the gradient grows by that factor each epoch
    until the loss overflows; the summary names that stage."""
    body = {
        "network": {"layers": [_layer([[0.5, -0.5]], [0.0], "identity")]},
        "inputs": [[10.0, 10.0], [10.0, -10.0], [-10.0, 5.0]],
        "targets": [[1.0], [0.0], [2.0]],
        "optimizer": {"type": "sgd", "learning_rate": 0.05},
        "epochs": 2000,
        "trace": {"include": ["loss", "health"]},
    }
    answer = _train(client, body)
    assert answer["status"] == "diverged"
    assert answer["non_finite"] == {"stage": "loss", "layer": None}
    assert "the loss is not finite" in answer["divergence"]
    layers = [entry["health"][0] for entry in answer["trace"]]
    assert all(layer["update_ratio"] > 5 for layer in layers)
    assert layers[-1]["gradient_norm"] > 1e150 * layers[0]["gradient_norm"]
    assert list(answer).index("non_finite") == list(answer).index("divergence") + 1


def test_health_is_asked_for_only(client: TestClient) -> None:
    """By default no entry holds health and a diverged summary has no non_finite; with
    mini-batches and the other fields, health comes last in each entry."""
    diverged = copy.deepcopy(examples.TRAIN) | {
        "optimizer": {"type": "sgd", "learning_rate": 1e150}
    }
    answer = _train(client, diverged)
    assert "non_finite" not in answer
    assert all("health" not in entry for entry in _train(client, examples.TRAIN)["trace"])
    body = copy.deepcopy(examples.CLASSIFY) | {
        "epochs": 3,
        "trace": {"include": ["health", "loss", "gradients"]},
    }
    entries = _train(client, body)["trace"]
    assert [list(entry) for entry in entries] == [["epoch", "loss", "gradients", "health"]] * 3
    stream = client.post("/train/stream", json=body)
    assert stream.status_code == 200
    assert b'"health":[{"gradient_norm"' in stream.content


def _deep_sigmoid() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    sizes = [2, 8, 8, 8, 8, 8, 1]
    layers = [
        _layer(rng.normal(0, 1 / math.sqrt(n_in), (n_out, n_in)), [0.0] * n_out, "sigmoid")
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    return {"layers": layers}


def test_the_summary_diagnoses_a_vanishing_gradient(client: TestClient) -> None:
    """Six sigmoid layers: /train's summary and /train/stream's last line say so, numbered from
    1, with the change to try as data; the diagnoses follow non_finite."""
    body = {
        "network": _deep_sigmoid(),
        "inputs": XOR_INPUTS,
        "targets": XOR_TARGETS,
        "epochs": 5,
        "trace": {"include": ["health"], "every": 2},
    }
    answer = _train(client, body)
    (diagnosis,) = answer["diagnoses"]
    assert diagnosis["id"] == "vanishing_gradients"
    assert diagnosis["layer"] == 1
    assert diagnosis["change"] == {
        "learning_rate": None,
        "activation": "relu",
        "layers": [1, 2, 3, 4, 5],
        "init": "he_normal",
    }
    assert "of layer 6's: sigmoid derivatives are at most 0.25" in diagnosis["text"]
    keys = list(answer)
    assert keys.index("diagnoses") == keys.index("divergence") + 1
    lines = client.post("/train/stream", json=body).content.splitlines()
    assert json.loads(lines[-1])["diagnoses"] == answer["diagnoses"]
    TrainResponse.model_validate(answer)


def test_a_diverged_run_is_diagnosed_and_a_healthy_one_is_not(client: TestClient) -> None:
    """The notebook at a learning rate of 1e150 diverges at once (nothing recorded): its
    diagnosis names the epoch and the change; at 0.01 none; without health no diagnoses."""
    body = copy.deepcopy(examples.TRAIN) | {"trace": {"include": ["health"]}}
    assert _train(client, body)["diagnoses"] == []
    diverged = body | {"optimizer": {"type": "sgd", "learning_rate": 1e150}}
    (diagnosis,) = _train(client, diverged)["diagnoses"]
    assert diagnosis["id"] == "diverged"
    assert diagnosis["change"]["learning_rate"] == 1e149
    assert diagnosis["text"].startswith("the run diverged in epoch 1: ")
    assert "diagnoses" not in _train(client, copy.deepcopy(examples.TRAIN))


def test_the_swagger_example_is_diagnosed(client: TestClient) -> None:
    """/train's "vanishing" example (Swagger UI's Try it out) gets its diagnosis."""
    answer = _train(client, examples.VANISHING)
    assert [d["id"] for d in answer["diagnoses"]] == ["vanishing_gradients"]
    assert "of layer 6's: sigmoid derivatives" in answer["diagnoses"][0]["text"]


def test_the_client_parses_the_diagnoses() -> None:
    """Client.train returns them as Diagnosis models, the change as a SuggestedChange."""
    with Client(app=in_process_app()) as sdk:
        answer = sdk.train(examples.VANISHING)
    assert answer.diagnoses is not None
    (diagnosis,) = answer.diagnoses
    assert isinstance(diagnosis, Diagnosis)
    assert diagnosis.change.layers == [1, 2, 3, 4, 5]
    assert diagnosis.change.init == "he_normal"
