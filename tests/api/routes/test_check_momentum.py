"""/check grading a step of SGD with momentum: the new velocity and the parameters it moves,
against /train's second step, with the velocity's usual mistakes named and errors carried
forward; ``learning_rate`` alone still grades a plain step."""

import copy
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import examples

MOMENTUM = {"type": "sgd", "learning_rate": 0.1, "momentum": 0.9}
EARLIER = [
    {"weights": [[0.2, -0.1, 0.3], [-0.4, 0.5, 0.1]], "bias": [0.05, -0.2]},
    {"weights": [[0.3, -0.6]], "bias": [0.4]},
]
STATE = {"type": "sgd", "step": 1, "momentum_buffer": EARLIER}


def _truth(client: TestClient, state: dict[str, Any] | None = STATE) -> dict[str, Any]:
    body = examples.LOSS | {"optimizer": MOMENTUM, "epochs": 1, "optimizer_state": state}
    answer: dict[str, Any] = client.post("/train", json=body).json()
    return answer


def _check(client: TestClient, claimed: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = examples.LOSS | {"optimizer": MOMENTUM, "optimizer_state": STATE, "claimed": claimed}
    response = client.post("/check", json=body | fields)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _gradients(client: TestClient) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = client.post("/backward", json=examples.LOSS).json()["gradients"]
    return answer


def _claimed(network: list[dict[str, Any]], velocity: list[dict[str, Any]]) -> dict[str, Any]:
    layers = [{"weights": layer["weights"], "bias": layer["bias"]} for layer in network]
    return {"network": {"layers": layers}, "optimizer_state": {"momentum_buffer": velocity}}


def test_train_s_momentum_step_is_all_correct_velocity_first(client: TestClient) -> None:
    truth = _truth(client)
    velocity = truth["optimizer_state"]["momentum_buffer"]
    answer = _check(client, _claimed(truth["network"]["layers"], velocity))
    assert answer["all_correct"] is True
    assert [item["path"] for item in answer["checks"]] == [
        "optimizer_state.momentum_buffer[0].weights",
        "optimizer_state.momentum_buffer[0].bias",
        "network.layers[0].weights",
        "network.layers[0].bias",
        "optimizer_state.momentum_buffer[1].weights",
        "optimizer_state.momentum_buffer[1].bias",
        "network.layers[1].weights",
        "network.layers[1].bias",
    ]
    assert {item["step"] for item in answer["checks"]} == {"update"}
    # The velocity is 0.9·v + g, not g: a plain step would differ.
    g = np.array(_gradients(client)[1]["bias"])
    assert np.allclose(velocity[1]["bias"], 0.9 * 0.4 + g)


def test_first_step_without_state_is_the_gradient(client: TestClient) -> None:
    truth = _truth(client, None)
    velocity = truth["optimizer_state"]["momentum_buffer"]
    assert np.allclose(velocity[1]["bias"], _gradients(client)[1]["bias"])
    body = examples.LOSS | {
        "optimizer": MOMENTUM,
        "claimed": _claimed(truth["network"]["layers"], velocity),
    }
    assert client.post("/check", json=body).json()["all_correct"] is True


def test_a_plain_sgd_update_is_momentum_missing(client: TestClient) -> None:
    plain = client.post(
        "/train", json=examples.LOSS | {"optimizer": {"learning_rate": 0.1}, "epochs": 1}
    ).json()
    answer = _check(client, {"network": plain["network"]})
    first = answer["first_wrong"]
    assert first["path"] == "network.layers[0].weights"
    assert first["mistake"]["id"] == "momentum_missing"
    assert "velocity" in first["mistake"]["text"]
    assert answer["score"] == 0


@pytest.mark.parametrize(
    ("velocity", "mistake"),
    [
        (lambda old, g: g, "momentum_missing"),
        (lambda old, g: old + g, "momentum_factor_missing"),
        (lambda old, g: old, "old_velocity"),
    ],
)
def test_a_wrong_velocity_is_named_and_the_update_from_it_carried_forward(
    client: TestClient, velocity: Any, mistake: str
) -> None:
    truth = _truth(client)
    gradients = _gradients(client)
    planted = []
    for old, g in zip(EARLIER, gradients, strict=True):
        planted.append(
            {
                part: np.asarray(velocity(np.array(old[part]), np.array(g[part]))).tolist()
                for part in ("weights", "bias")
            }
        )
    # The student's update from the wrong velocity: w − η·v with their v.
    before = examples.LOSS["network"]["layers"]
    network = [
        {
            part: (np.array(layer[part]) - 0.1 * np.array(mine[part])).tolist()
            for part in ("weights", "bias")
        }
        for layer, mine in zip(before, planted, strict=True)
    ]
    answer = _check(client, _claimed(network, planted))
    checks = {item["path"]: item for item in answer["checks"]}
    wrong = checks["optimizer_state.momentum_buffer[0].weights"]
    assert wrong["verdict"] == "wrong"
    assert mistake in [found["id"] for found in wrong["mistakes"]]
    assert wrong["explain"]["step"].endswith(".buf")
    update = checks["network.layers[0].weights"]
    assert update["verdict"] == "carried_forward"
    assert update["carried_from"] == "optimizer_state.momentum_buffer[0].weights"
    assert answer["first_wrong"]["path"] == "optimizer_state.momentum_buffer[0].weights"
    assert truth["network"]["layers"][0]["weights"] == update["correct"]


def test_the_update_alone_with_the_velocity_wrong_way_is_update_sign(client: TestClient) -> None:
    truth = _truth(client)
    before = examples.LOSS["network"]["layers"]
    velocity = truth["optimizer_state"]["momentum_buffer"]
    network = [
        {
            part: (np.array(layer[part]) + 0.1 * np.array(v[part])).tolist()
            for part in ("weights", "bias")
        }
        for layer, v in zip(before, velocity, strict=True)
    ]
    answer = _check(client, {"network": {"layers": network}})
    assert answer["first_wrong"]["mistake"]["id"] == "update_sign"
    assert "w − η·v" in answer["first_wrong"]["hint"]


def test_rounded_velocity_is_graded_at_its_precision(client: TestClient) -> None:
    truth = _truth(client)
    velocity = copy.deepcopy(truth["optimizer_state"]["momentum_buffer"])
    velocity[1]["bias"] = [round(velocity[1]["bias"][0], 3)]
    answer = _check(client, {"optimizer_state": {"momentum_buffer": [{}, velocity[1]]}})
    assert answer["all_correct"] is True


def test_learning_rate_alone_still_grades_a_plain_step(client: TestClient) -> None:
    plain = client.post(
        "/train", json=examples.LOSS | {"optimizer": {"learning_rate": 0.1}, "epochs": 1}
    ).json()
    body = examples.LOSS | {"learning_rate": 0.1, "claimed": {"network": plain["network"]}}
    assert client.post("/check", json=body).json()["all_correct"] is True


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"learning_rate": 0.1, "optimizer": MOMENTUM}, ["body", "learning_rate"]),
        ({"optimizer_state": STATE}, ["body", "optimizer"]),
        (
            {
                "optimizer": {"learning_rate": 0.1},
                "claimed": {"optimizer_state": {"momentum_buffer": EARLIER}},
            },
            ["body", "claimed", "optimizer_state", "momentum_buffer"],
        ),
        ({"optimizer": {"type": "adam"}}, ["body", "optimizer", "type"]),
        (
            {"optimizer": MOMENTUM, "optimizer_state": {"type": "sgd", "step": 1}},
            ["body", "optimizer_state", "momentum_buffer"],
        ),
    ],
)
def test_an_optimizer_that_does_not_fit_is_a_422(
    client: TestClient, fields: dict[str, Any], loc: list[Any]
) -> None:
    body = examples.LOSS | {"claimed": {"loss": 1.0}} | fields
    response = client.post("/check", json=body)
    assert response.status_code == 422, response.text
    assert loc in [item["loc"] for item in response.json()["detail"]]


@pytest.mark.parametrize(
    "optimizer",
    [
        {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True},
        {"learning_rate": 0.1, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.01},
    ],
)
@pytest.mark.parametrize("state", [None, STATE])
def test_nesterov_dampening_and_weight_decay_follow_train(
    client: TestClient, optimizer: dict[str, Any], state: dict[str, Any] | None
) -> None:
    body = examples.LOSS | {"optimizer": optimizer, "optimizer_state": state}
    truth = client.post("/train", json=body | {"epochs": 1}).json()
    claimed = _claimed(truth["network"]["layers"], truth["optimizer_state"]["momentum_buffer"])
    answer = client.post("/check", json=body | {"claimed": claimed}).json()
    assert answer["all_correct"] is True
    assert len(answer["checks"]) == 8
