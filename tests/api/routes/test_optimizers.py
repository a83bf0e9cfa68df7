"""/train with SGD (momentum, Nesterov, weight decay), Adam and AdamW; resuming; their 422s."""

import copy
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import examples
from tests.helpers import OPTIMIZERS


def _train(client: TestClient, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(examples.TRAIN) | changes
    response = client.post("/train", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=[str(o) for o in OPTIMIZERS])
def test_two_requests_of_five_equal_one_of_ten(
    client: TestClient, optimizer: dict[str, Any]
) -> None:
    """Resuming from the returned network and optimizer_state continues the same run."""
    whole = _train(client, optimizer=optimizer, epochs=10)
    first = _train(client, optimizer=optimizer, epochs=5)
    second = _train(
        client,
        optimizer=optimizer,
        epochs=5,
        network=first["network"],
        optimizer_state=first["optimizer_state"],
    )
    assert second["optimizer_state"]["step"] == whole["optimizer_state"]["step"] == 10
    assert second["final_loss"] == pytest.approx(whole["final_loss"], rel=1e-12)
    for a, b in zip(second["network"]["layers"], whole["network"]["layers"], strict=True):
        np.testing.assert_allclose(a["weights"], b["weights"], rtol=1e-12)
        np.testing.assert_allclose(a["bias"], b["bias"], rtol=1e-12)
    assert [e["loss"] for e in second["trace"]] == pytest.approx(
        [e["loss"] for e in whole["trace"][5:]], rel=1e-12
    )


def test_state_holds_the_buffers_of_the_configuration(client: TestClient) -> None:
    """SGD keeps a momentum buffer only with momentum; Adam keeps its two moments."""
    plain = _train(client)["optimizer_state"]
    assert plain == {
        "type": "sgd",
        "step": 10,
        "epoch": 10,
        "momentum_buffer": None,
        "exp_avg": None,
        "exp_avg_sq": None,
        "max_exp_avg_sq": None,
    }
    adam = _train(client, optimizer={"type": "adam"})["optimizer_state"]
    assert adam["exp_avg"] is not None
    assert adam["exp_avg_sq"] is not None
    assert len(adam["exp_avg"]) == 2
    assert np.shape(adam["exp_avg"][0]["weights"]) == (2, 3)


def test_optimizer_type_defaults_to_sgd(client: TestClient) -> None:
    """An optimizer without "type" is SGD."""
    explicit = _train(client, optimizer={"type": "sgd", "learning_rate": 0.05})
    implicit = _train(client, optimizer={"learning_rate": 0.05})
    assert implicit == explicit


def test_adam_moves_the_first_step_by_the_learning_rate(client: TestClient) -> None:
    """Closed form: Adam's first update is −lr·sign(g) (up to eps) for every parameter."""
    body = _train(client, optimizer={"type": "adam", "learning_rate": 0.001}, epochs=1)
    before = examples.NOTEBOOK_NETWORK["layers"][1]["weights"][0]
    after = body["network"]["layers"][1]["weights"][0]
    grads = body["trace"][0]["gradients"][1]["weights"][0]
    for w0, w1, g in zip(before, after, grads, strict=True):
        assert w1 - w0 == pytest.approx(-0.001 * np.sign(g), rel=1e-6)


def _state(client: TestClient, optimizer: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = _train(client, optimizer=optimizer, epochs=1)["optimizer_state"]
    return state


INVALID: list[tuple[str, dict[str, Any], str, list[Any], str]] = [
    (
        "nesterov without momentum",
        {"optimizer": {"type": "sgd", "nesterov": True}},
        "invalid_combination",
        ["optimizer", "nesterov"],
        "momentum > 0",
    ),
    (
        "nesterov with dampening",
        {"optimizer": {"type": "sgd", "nesterov": True, "momentum": 0.9, "dampening": 0.1}},
        "invalid_combination",
        ["optimizer", "nesterov"],
        "dampening = 0",
    ),
    (
        "beta of one",
        {"optimizer": {"type": "adam", "betas": [1.0, 0.999]}},
        "less_than",
        ["optimizer", "betas", 0],
        "less than 1",
    ),
    (
        "negative beta",
        {"optimizer": {"type": "adamw", "betas": [0.9, -0.1]}},
        "greater_than_equal",
        ["optimizer", "betas", 1],
        "greater than or equal to 0",
    ),
    (
        "zero eps",
        {"optimizer": {"type": "adam", "eps": 0}},
        "greater_than",
        ["optimizer", "eps"],
        "greater than 0",
    ),
    (
        "unknown type",
        {"optimizer": {"type": "rmsprop"}},
        "literal_error",
        ["optimizer", "type"],
        "'adamw'",
    ),
    (
        "adam field on sgd",
        {"optimizer": {"type": "sgd", "betas": [0.9, 0.9]}},
        "extra_forbidden",
        ["optimizer", "betas"],
        "Extra",
    ),
]


@pytest.mark.parametrize(
    ("changes", "kind", "loc", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_optimizer(
    client: TestClient, changes: dict[str, Any], kind: str, loc: list[Any], message: str
) -> None:
    """Invalid hyper-parameters and combinations get a 422 at their JSON path."""
    response = client.post("/train", json=copy.deepcopy(examples.TRAIN) | changes)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert (error["type"], error["loc"]) == (kind, ["body", *loc])
    assert message in error["msg"]


def test_state_of_another_optimizer_is_rejected(client: TestClient) -> None:
    """An Adam state cannot resume SGD."""
    state = _state(client, {"type": "adam"})
    response = client.post(
        "/train", json=copy.deepcopy(examples.TRAIN) | {"optimizer_state": state}
    )
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "optimizer_state", "type"]
    assert error["msg"] == "this state is for adam but the optimizer is sgd"


def test_state_shapes_must_match_the_network(client: TestClient) -> None:
    """A buffer with the wrong shape names the layer and the shape it needs."""
    optimizer = {"type": "sgd", "momentum": 0.9}
    state = _state(client, optimizer)
    state["momentum_buffer"][0]["weights"] = [[0.0, 0.0], [0.0, 0.0]]
    state["momentum_buffer"][1]["bias"] = [0.0, 0.0]
    body = copy.deepcopy(examples.TRAIN) | {"optimizer": optimizer, "optimizer_state": state}
    errors = client.post("/train", json=body).json()["detail"]
    assert [(e["loc"], e["msg"]) for e in errors] == [
        (
            ["body", "optimizer_state", "momentum_buffer", 0, "weights"],
            "layer 0: weights must have shape (2, 3) like the network's",
        ),
        (
            ["body", "optimizer_state", "momentum_buffer", 1, "bias"],
            "layer 1: bias needs 1 number like the network's",
        ),
    ]


def test_negative_second_moment_is_rejected(client: TestClient) -> None:
    """exp_avg_sq is a mean of squares: a negative entry is a 422, not a NaN later."""
    state = _state(client, {"type": "adam"})
    state["exp_avg_sq"][1]["bias"] = [-1.0]
    body = copy.deepcopy(examples.TRAIN) | {"optimizer": {"type": "adam"}, "optimizer_state": state}
    [error] = client.post("/train", json=body).json()["detail"]
    assert error["loc"] == ["body", "optimizer_state", "exp_avg_sq"]
    assert "cannot be negative" in error["msg"]


def test_missing_buffer_after_the_first_step_is_rejected(client: TestClient) -> None:
    """A state past step 0 must carry the buffers its optimizer needs."""
    state = _state(client, {"type": "adam"}) | {"exp_avg": None}
    body = copy.deepcopy(examples.TRAIN) | {"optimizer": {"type": "adam"}, "optimizer_state": state}
    [error] = client.post("/train", json=body).json()["detail"]
    assert error["loc"] == ["body", "optimizer_state", "exp_avg"]
    assert error["type"] == "missing"


def test_an_adam_state_that_overflows_ends_the_run_as_diverged(client: TestClient) -> None:
    """Adam's second moment overflowing to inf is divergence: the answer says so and carries the
    last finite state, never a null for an infinite number."""
    body = {
        "network": {"layers": [{"weights": [[1.0]], "bias": [0.0], "activation": "identity"}]},
        "inputs": [1e100],
        "targets": [0.0],
        "optimizer": {"type": "adam", "learning_rate": 0.001, "amsgrad": True},
        "epochs": 3,
    }
    response = client.post("/train", json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "diverged"
    assert answer["diverged_at_epoch"] == 1
    assert "the optimizer state is not finite" in answer["divergence"]
    state = answer["optimizer_state"]
    for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        assert state[name] == [{"weights": [[0.0]], "bias": [0.0]}], name
