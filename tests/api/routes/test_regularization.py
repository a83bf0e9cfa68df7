"""regularization on /loss, /backward, /train and /train/stream: the loss stays the data loss,
the penalty is reported beside it, the gradients and updates are of their sum; without it the
answers carry no penalty at all."""

import copy
import itertools
import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import examples

L2 = {"type": "l2", "rate": 0.1}
L1 = {"type": "l1", "rate": 0.1}


def _weights(body: dict[str, Any]) -> list[np.ndarray]:
    return [np.array(layer["weights"]) for layer in body["network"]["layers"]]


def _penalty(body: dict[str, Any], rule: dict[str, Any]) -> float:
    weights = _weights(body)
    if rule["type"] == "l1":
        return float(rule["rate"] * sum(np.abs(W).sum() for W in weights))
    return float(rule["rate"] * sum(0.5 * (W**2).sum() for W in weights))


@pytest.mark.parametrize("rule", [L1, L2], ids=["l1", "l2"])
def test_loss_reports_the_data_loss_and_the_penalty_beside_it(
    client: TestClient, rule: dict[str, Any]
) -> None:
    """The notebook's loss 1.7766125 stays; the penalty follows it, before accuracy."""
    plain = client.post("/loss", json=examples.LOSS).json()
    answer = client.post("/loss", json=examples.LOSS | {"regularization": rule})
    assert answer.status_code == 200, answer.text
    assert list(answer.json()) == ["loss", "penalty", "accuracy", "outputs"]
    assert answer.json()["loss"] == plain["loss"]
    assert answer.json()["penalty"] == pytest.approx(_penalty(examples.LOSS, rule), rel=1e-15)
    assert "penalty" not in plain


@pytest.mark.parametrize("rule", [L1, L2], ids=["l1", "l2"])
def test_backward_gradients_are_of_loss_plus_penalty_weights_only(
    client: TestClient, rule: dict[str, Any]
) -> None:
    """Each weight's gradient gains rate·sign(w) or rate·w; the biases' stay the data loss's."""
    plain = client.post("/backward", json=examples.LOSS).json()
    answer = client.post("/backward", json=examples.LOSS | {"regularization": rule}).json()
    assert answer["penalty"] == pytest.approx(_penalty(examples.LOSS, rule), rel=1e-15)
    weights, old_grads, new_grads = _weights(examples.LOSS), plain["gradients"], answer["gradients"]
    for W, old, new in zip(weights, old_grads, new_grads, strict=True):
        term = rule["rate"] * (np.sign(W) if rule["type"] == "l1" else W)
        np.testing.assert_allclose(new["weights"], np.array(old["weights"]) + term, atol=1e-15)
        assert new["bias"] == old["bias"]
    assert answer["loss"] == plain["loss"]


def _stream(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/train/stream", json=body)
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.content.splitlines()]


def test_train_trace_keeps_the_data_loss_and_adds_the_penalty(client: TestClient) -> None:
    """Entry e's penalty is that of entry e−1's network (the parameters at e's start); the
    summary's final_penalty is the returned network's; /train and /train/stream agree."""
    body = copy.deepcopy(examples.TRAIN) | {"epochs": 5, "regularization": L2}
    answer = client.post("/train", json=body).json()
    trace = answer["trace"]
    assert list(trace[0])[:3] == ["epoch", "loss", "penalty"]
    assert trace[0]["penalty"] == pytest.approx(_penalty(body, L2), rel=1e-15)
    for before, entry in itertools.pairwise(trace):
        expected = _penalty({"network": before["network"]}, L2)
        assert entry["penalty"] == pytest.approx(expected, rel=1e-15)
        loss = client.post("/loss", json=examples.LOSS | {"network": before["network"]}).json()
        assert entry["loss"] == loss["loss"]
    assert list(answer)[2:4] == ["final_loss", "final_penalty"]
    assert answer["final_penalty"] == pytest.approx(_penalty(answer, L2), rel=1e-15)
    lines = _stream(client, body)
    assert lines[:-1] == trace
    assert lines[-1] == {key: value for key, value in answer.items() if key != "trace"}


def test_regularization_changes_the_update_by_the_penalty_gradient(client: TestClient) -> None:
    """One SGD epoch: each weight moves by −lr·(∂L/∂w + rate·w), each bias by −lr·∂L/∂b."""
    body = copy.deepcopy(examples.TRAIN) | {"epochs": 1, "regularization": L2}
    answer = client.post("/train", json=body).json()
    gradients = client.post("/backward", json=examples.LOSS | {"regularization": L2}).json()
    lr = body["optimizer"]["learning_rate"]
    for layer, grad, new in zip(
        body["network"]["layers"], gradients["gradients"], answer["network"]["layers"], strict=True
    ):
        expected = np.array(layer["weights"]) - lr * np.array(grad["weights"])
        np.testing.assert_allclose(new["weights"], expected, rtol=0, atol=1e-15)
        np.testing.assert_allclose(
            new["bias"], np.array(layer["bias"]) - lr * np.array(grad["bias"]), atol=1e-15
        )
    assert answer["trace"][0]["gradients"] == gradients["gradients"]


@pytest.mark.parametrize("path", ["/train", "/train/stream"])
def test_without_regularization_no_penalty_anywhere(client: TestClient, path: str) -> None:
    """The default answers hold no penalty field, in the trace or the summary."""
    response = client.post(path, json=examples.TRAIN)
    assert b"penalty" not in response.content


def test_penalty_in_the_trace_needs_regularization(client: TestClient) -> None:
    """Asking for the penalty without a penalty is a 422 at its place in trace.include."""
    body = examples.TRAIN | {"trace": {"include": ["loss", "penalty"]}}
    response = client.post("/train", json=body)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "trace", "include", 1]
    assert error["type"] == "invalid_combination"
    assert "send regularization" in error["msg"]


@pytest.mark.parametrize(
    ("rule", "loc", "kind"),
    [
        ({"type": "l3", "rate": 0.1}, ["body", "regularization", "type"], "literal_error"),
        ({"type": "l1", "rate": -0.1}, ["body", "regularization", "rate"], "greater_than_equal"),
        ({"type": "l2"}, ["body", "regularization", "rate"], "missing"),
        ({"type": "l2", "rate": "0.1"}, ["body", "regularization", "rate"], "float_type"),
        (
            {"type": "l2", "rate": 0.1, "on": "bias"},
            ["body", "regularization", "on"],
            "extra_forbidden",
        ),
    ],
)
def test_invalid_regularization_is_a_422_at_its_field(
    client: TestClient, rule: dict[str, Any], loc: list[Any], kind: str
) -> None:
    """A wrong type, a negative, missing or quoted rate, an unknown field: each at its loc."""
    for path, body in (
        ("/loss", examples.LOSS),
        ("/backward", examples.LOSS),
        ("/train", examples.TRAIN),
    ):
        response = client.post(path, json=body | {"regularization": rule})
        assert response.status_code == 422, path
        assert [e["loc"] for e in response.json()["detail"]] == [loc]
        assert response.json()["detail"][0]["type"] == kind


def test_penalty_that_overflows_is_a_422(client: TestClient) -> None:
    """Weights of 1e200 are finite, their squares are not: a non_finite 422, never a 500."""
    body = copy.deepcopy(examples.LOSS)
    body["network"]["layers"][1]["weights"] = [[1e200, 0.0]]
    body["inputs"] = [0.0, 0.0, 0.0]
    response = client.post("/loss", json=body | {"regularization": L2})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "non_finite"
    assert "penalty" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("rule", [L1, L2], ids=["l1", "l2"])
def test_gradcheck_checks_the_gradient_of_loss_plus_penalty(
    client: TestClient, rule: dict[str, Any]
) -> None:
    """The analytic gradients with the penalty's agree with finite differences of loss +
    penalty; the weights' differences move by the penalty's gradient (rate = 10 dominates)."""
    strong = rule | {"rate": 10.0}
    answer = client.post("/gradcheck", json=examples.GRADCHECK | {"regularization": strong})
    assert answer.status_code == 200, answer.text
    assert answer.json()["passed"] is True


@pytest.mark.parametrize("rule", [L1, L2], ids=["l1", "l2"])
def test_explain_writes_the_penalty_and_its_gradient_with_the_engine_s_numbers(
    client: TestClient, rule: dict[str, Any]
) -> None:
    """The worked solution's penalty step is /loss's penalty, its weight gradients /backward's
    (the penalty's term written out), its updates one /train epoch's."""
    body = copy.deepcopy(examples.EXPLAIN) | {"regularization": rule, "format": "json"}
    steps = {step["id"]: step for step in client.post("/explain", json=body).json()["steps"]}
    backward = client.post("/backward", json=examples.LOSS | {"regularization": rule}).json()
    assert steps["loss.penalty"]["result"] == backward["penalty"]
    assert steps["loss.penalty"]["symbol"] == "Ω"
    assert steps["loss.penalty"]["formula"].startswith("rate·(")
    gradient = steps["backward.1.weights.0.1"]
    assert gradient["result"] == backward["gradients"][1]["weights"][0][1]
    assert gradient["formula"].endswith("rate·(−1)" if rule["type"] == "l1" else "rate·W2[0,1]")
    assert {"symbol": "rate", "value": 0.1} in gradient["operands"]
    trained = client.post("/train", json=examples.TRAIN | {"epochs": 1, "regularization": rule})
    network = trained.json()["network"]["layers"]
    assert steps["update.0.weights.1.2"]["result"] == network[0]["weights"][1][2]
    assert "loss.penalty" not in {
        step["id"]
        for step in client.post("/explain", json=examples.EXPLAIN | {"format": "json"}).json()[
            "steps"
        ]
    }


@pytest.mark.parametrize("rule", [L1, L2], ids=["l1", "l2"])
def test_check_marks_gradients_and_updates_of_loss_plus_penalty(
    client: TestClient, rule: dict[str, Any]
) -> None:
    """/backward's and /train's numbers with the penalty are all correct; the data loss's
    gradient alone is wrong, with the hint that the penalty's gradient is missing, and the update
    computed from it is carried forward."""
    backward = client.post("/backward", json=examples.LOSS | {"regularization": rule}).json()
    trained = client.post("/train", json=examples.TRAIN | {"epochs": 1, "regularization": rule})
    right = {
        "loss": backward["loss"],
        "gradients": backward["gradients"],
        "network": trained.json()["network"],
    }
    body = examples.CHECK | {"regularization": rule, "claimed": right}
    answer = client.post("/check", json=body).json()
    assert answer["all_correct"] is True, answer
    plain = client.post("/backward", json=examples.LOSS).json()["gradients"]
    lr = examples.TRAIN["optimizer"]["learning_rate"]
    w = examples.LOSS["network"]["layers"][1]["weights"][0]
    updated = [x - lr * g for x, g in zip(w, plain[1]["weights"][0], strict=True)]
    claimed = {
        "gradients": [{}, {"weights": plain[1]["weights"]}],
        "network": {"layers": [{}, {"weights": [updated]}]},
    }
    answer = client.post("/check", json=body | {"claimed": claimed}).json()
    verdicts = {item["path"]: item for item in answer["checks"]}
    wrong = verdicts["gradients[1].weights"]
    assert wrong["verdict"] == "wrong"
    assert f"the {rule['type']} penalty's gradient is missing" in wrong["hint"]
    assert verdicts["network.layers[1].weights"]["verdict"] == "carried_forward"


def test_swagger_example_trains_with_the_penalty_and_health(client: TestClient) -> None:
    """/train's regularized example answers the penalty and health in every entry."""
    answer = client.post("/train", json=examples.REGULARIZED)
    assert answer.status_code == 200, answer.text
    entries = answer.json()["trace"]
    assert all(list(entry) == ["epoch", "loss", "penalty", "health"] for entry in entries)
    assert answer.json()["final_penalty"] > 0
