"""/train in mini-batches (batch_size, shuffle, seed), resuming them, and stop.loss_below.

The mini-batch trace is checked against a reference loop written here with plain NumPy: a
tanh → identity network, half squared error, hand-written backprop and SGD.
"""

import copy
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import examples

Body = dict[str, Any]
Array = np.ndarray[Any, np.dtype[np.float64]]

X = np.array([[0.5, -1.0], [1.5, 0.3], [-0.2, 0.8], [1.0, 1.0], [-1.3, 0.4]])
T = np.array([[1.0, -0.5], [0.2, 0.4], [-0.3, 0.9], [0.7, 0.1], [-1.0, 0.6]])
W1 = np.array([[0.4, -0.3], [-0.6, 0.5], [0.3, 0.8]])
B1 = np.array([0.1, -0.2, 0.05])
W2 = np.array([[0.7, -0.4, 0.2], [-0.1, 0.6, 0.5]])
B2 = np.array([0.3, -0.1])
LEARNING_RATE = 0.1


def _body(**changes: Any) -> Body:
    """The 2-3-2 tanh → identity network on five samples, SGD at 0.1."""
    layers = [
        {"weights": W1.tolist(), "bias": B1.tolist(), "activation": "tanh"},
        {"weights": W2.tolist(), "bias": B2.tolist(), "activation": "identity"},
    ]
    body = {
        "network": {"layers": layers},
        "inputs": X.tolist(),
        "targets": T.tolist(),
        "loss": "half_squared_error",
        "optimizer": {"type": "sgd", "learning_rate": LEARNING_RATE},
        "epochs": 3,
    }
    return body | changes


def _train(client: TestClient, body: Body) -> dict[str, Any]:
    response = client.post("/train", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _loss_of(client: TestClient, body: Body, network: Body) -> float:
    """The loss the service gives ``network`` on the body's data (all samples)."""
    keys = ("inputs", "targets", "loss")
    response = client.post("/loss", json={"network": network} | {k: body[k] for k in keys})
    assert response.status_code == 200, response.text
    value: float = response.json()["loss"]
    return value


def _reference(epochs: int, batch_size: int, orders: list[Array] | None = None) -> list[Body]:
    """The expected trace: per epoch the mean batch loss, each sample's z and a from its batch,
    the mean batch gradient and the parameters after the epoch (batches taken in ``orders``)."""
    w1, b1, w2, b2 = W1.copy(), B1.copy(), W2.copy(), B2.copy()
    trace = []
    for epoch in range(epochs):
        order = np.arange(len(X)) if orders is None else orders[epoch]
        z1s, a1s, ys = np.empty((5, 3)), np.empty((5, 3)), np.empty((5, 2))
        losses, grads = [], []
        for start in range(0, len(X), batch_size):
            rows = order[start : start + batch_size]
            x, t, n = X[rows], T[rows], len(rows)
            z1 = x @ w1.T + b1
            a1 = np.tanh(z1)
            y = a1 @ w2.T + b2
            losses.append(0.5 * np.sum((y - t) ** 2) / n)
            dy = (y - t) / n
            dz1 = (dy @ w2) * (1 - a1**2)
            grad = [dz1.T @ x, dz1.sum(axis=0), dy.T @ a1, dy.sum(axis=0)]
            grads.append(grad)
            w1, b1 = w1 - LEARNING_RATE * grad[0], b1 - LEARNING_RATE * grad[1]
            w2, b2 = w2 - LEARNING_RATE * grad[2], b2 - LEARNING_RATE * grad[3]
            z1s[rows], a1s[rows], ys[rows] = z1, a1, y
        mean = [sum(g[i] for g in grads) / len(grads) for i in range(4)]
        trace.append(
            {
                "loss": sum(losses) / len(losses),
                "outputs": ys,
                "layers": [(z1s, a1s), (ys, ys)],
                "gradients": [(mean[0], mean[1]), (mean[2], mean[3])],
                "network": [(w1, b1), (w2, b2)],
            }
        )
    return trace


def _assert_trace(actual: list[Body], expected: list[Body]) -> None:
    assert len(actual) == len(expected)
    close = {"rtol": 1e-12, "atol": 0}
    for number, (got, want) in enumerate(zip(actual, expected, strict=True), start=1):
        assert got["epoch"] == number
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-12)
        np.testing.assert_allclose(got["outputs"], want["outputs"], **close)
        for layer, (z, a) in zip(got["layers"], want["layers"], strict=True):
            np.testing.assert_allclose(layer["z"], z, **close)
            np.testing.assert_allclose(layer["a"], a, **close)
        for gradient, (gw, gb) in zip(got["gradients"], want["gradients"], strict=True):
            np.testing.assert_allclose(gradient["weights"], gw, **close)
            np.testing.assert_allclose(gradient["bias"], gb, **close)
        for layer, (w, b) in zip(got["network"]["layers"], want["network"], strict=True):
            np.testing.assert_allclose(layer["weights"], w, **close)
            np.testing.assert_allclose(layer["bias"], b, **close)


def test_batches_of_two_match_the_reference_loop(client: TestClient) -> None:
    """batch_size 2 on 5 samples: batches [0:2], [2:4], [4:5], three SGD updates per epoch."""
    result = _train(client, _body(batch_size=2))
    _assert_trace(result["trace"], _reference(3, 2))
    assert result["optimizer_state"]["step"] == 9
    assert result["optimizer_state"]["epoch"] == 3


@pytest.mark.parametrize("batch_size", [1, 3, 4])
@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_of_one_and_with_a_partial_last_batch_match_the_reference_loop(
    client: TestClient, batch_size: int, shuffle: bool
) -> None:
    """Batches of one sample, and of 3 or 4 with a last batch of 2 or 1, in the data's order or
    shuffled: the trace is the reference loop's and the optimizer counts one step per batch."""
    orders = [np.random.default_rng([7, epoch]).permutation(5) for epoch in range(3)]
    result = _train(client, _body(batch_size=batch_size, shuffle=shuffle, seed=7))
    _assert_trace(result["trace"], _reference(3, batch_size, orders if shuffle else None))
    assert result["optimizer_state"]["step"] == 3 * -(-5 // batch_size)


def test_shuffled_batches_follow_the_documented_order(client: TestClient) -> None:
    """With shuffle, epoch e takes its batches in default_rng([seed, e]).permutation order."""
    orders = [np.random.default_rng([7, epoch]).permutation(5) for epoch in range(3)]
    result = _train(client, _body(batch_size=2, shuffle=True, seed=7))
    _assert_trace(result["trace"], _reference(3, 2, orders))


@pytest.mark.parametrize("batch_size", [5, 6, 1000])
def test_batch_of_all_samples_is_full_batch(client: TestClient, batch_size: int) -> None:
    """batch_size >= samples gives byte for byte the response of omitting it, shuffle or not."""
    full = client.post("/train", json=_body())
    batched = client.post("/train", json=_body(batch_size=batch_size, shuffle=True, seed=3))
    assert full.status_code == batched.status_code == 200
    assert batched.content == full.content
    _assert_trace(full.json()["trace"], _reference(3, 5))


def test_same_seed_same_bytes_other_seed_other_run(client: TestClient) -> None:
    """Shuffling is reproducible from the seed alone; another seed takes another path."""
    first = client.post("/train", json=_body(batch_size=2, shuffle=True, seed=11))
    second = client.post("/train", json=_body(batch_size=2, shuffle=True, seed=11))
    other = client.post("/train", json=_body(batch_size=2, shuffle=True, seed=12))
    assert first.status_code == second.status_code == other.status_code == 200
    assert first.content == second.content
    assert other.json()["network"] != first.json()["network"]
    assert [e["loss"] for e in other.json()["trace"]] != [e["loss"] for e in first.json()["trace"]]


@pytest.mark.parametrize(
    "optimizer",
    [{"type": "sgd", "learning_rate": 0.1}, {"type": "adam", "learning_rate": 0.05}],
    ids=["sgd", "adam"],
)
def test_resumed_shuffled_run_equals_one_run(client: TestClient, optimizer: Body) -> None:
    """Two requests of 3 epochs, posting back network and optimizer_state, equal one of 6."""
    options = {"batch_size": 2, "shuffle": True, "seed": 5, "optimizer": optimizer}
    whole = _train(client, _body(epochs=6, **options))
    first = _train(client, _body(epochs=3, **options))
    assert first["optimizer_state"]["epoch"] == 3
    resume = {"network": first["network"], "optimizer_state": first["optimizer_state"]}
    second = _train(client, _body(epochs=3, **options, **resume))
    assert second["optimizer_state"]["epoch"] == whole["optimizer_state"]["epoch"] == 6
    assert second["optimizer_state"]["step"] == whole["optimizer_state"]["step"] == 18
    assert second["final_loss"] == pytest.approx(whole["final_loss"], rel=1e-12)
    for got, want in zip(first["trace"] + second["trace"], whole["trace"], strict=True):
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-12)
        np.testing.assert_allclose(got["outputs"], want["outputs"], rtol=1e-12)
        for a, b in zip(got["network"]["layers"], want["network"]["layers"], strict=True):
            np.testing.assert_allclose(a["weights"], b["weights"], rtol=1e-12)
            np.testing.assert_allclose(a["bias"], b["bias"], rtol=1e-12)


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("batch_size", 0, "greater_than_equal"),
        ("batch_size", -2, "greater_than_equal"),
        ("batch_size", 2.5, "int_type"),
        ("seed", -1, "greater_than_equal"),
        ("shuffle", "yes", "bool_type"),
    ],
)
def test_invalid_batch_options(client: TestClient, field: str, value: Any, kind: str) -> None:
    """batch_size must be a whole number >= 1, seed >= 0, shuffle a JSON boolean."""
    response = client.post("/train", json=_body(**{field: value}))
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["type"] == kind
    assert error["loc"] == ["body", field]


def _notebook(**changes: Any) -> Body:
    return copy.deepcopy(examples.TRAIN) | changes


@pytest.mark.parametrize("target", [2.0, 1.7766125000000004], ids=["above", "equal"])
def test_target_met_before_training(client: TestClient, target: float) -> None:
    """A target at or above the initial loss: target_reached after 0 epochs, network unchanged."""
    body = _notebook(stop={"loss_below": target})
    result = _train(client, body)
    assert result["status"] == "target_reached"
    assert result["epochs_run"] == 0
    assert result["trace"] == []
    assert result["network"] == body["network"]
    assert result["final_loss"] == _loss_of(client, body, body["network"]) == 1.7766125000000004
    assert result["optimizer_state"]["step"] == result["optimizer_state"]["epoch"] == 0


def test_stops_at_the_first_epoch_that_meets_the_target(client: TestClient) -> None:
    """The notebook request stops as soon as its network's loss is <= 1.0, well before 100."""
    body = _notebook(epochs=100, stop={"loss_below": 1.0})
    result = _train(client, body)
    assert result["status"] == "target_reached"
    assert 0 < result["epochs_run"] == len(result["trace"]) < 100
    assert result["final_loss"] <= 1.0
    assert result["trace"][-1]["network"] == result["network"]
    assert _loss_of(client, body, result["trace"][-1]["network"]) == result["final_loss"]
    # Each entry's loss is that of the network at its start, which had not met the target.
    assert all(entry["loss"] > 1.0 for entry in result["trace"])
    plain = _train(client, _notebook(epochs=result["epochs_run"]))
    assert plain["network"] == result["network"]


def test_unreachable_target_completes(client: TestClient) -> None:
    """A target not met within the epochs: all epochs run, status completed."""
    result = _train(client, _notebook(epochs=5, stop={"loss_below": 1e-6}))
    assert result["status"] == "completed"
    assert result["epochs_run"] == len(result["trace"]) == 5
    assert result["final_loss"] > 1e-6


def test_stop_with_minibatches_uses_the_loss_on_all_data(client: TestClient) -> None:
    """With mini-batches the rule reads the loss of the whole data after the epoch."""
    free = _train(client, _body(epochs=30, batch_size=2))
    losses = [_loss_of(client, _body(), entry["network"]) for entry in free["trace"]]
    target = losses[10]  # the loss after epoch 11, met exactly ("at or below")
    assert losses[9] > target
    assert all(value > target for value in losses[:10])
    result = _train(client, _body(epochs=30, batch_size=2, stop={"loss_below": target}))
    assert result["status"] == "target_reached"
    assert result["epochs_run"] == 11
    assert result["final_loss"] == losses[10]
    assert result["network"] == free["trace"][10]["network"]
