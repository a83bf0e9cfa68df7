"""POST /gradcheck and POST /check through the real app: results, planted mistakes, 422 paths.

Planted mistakes are computed here by hand with NumPy for the notebook's network, on its own
sample (every hidden z > 0) or on x = [1, 0, 0], where hidden unit 1 is off (z = −0.45).
"""

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

import app.api.routes.diagnostics as diagnostics_api
import app.nn.check as check_engine
import app.nn.gradcheck as gradcheck_engine
from app import examples
from app.schemas.diagnostics import CheckRequest
from tests.helpers import strict_json
from tests.notebook_values import PRINTED, PRINTED_UPDATES

Body = dict[str, Any]
W1 = np.array([[0.1, -0.2, 0.4], [-0.5, 0.3, 0.2]])
B1 = np.array([0.0, 0.05])
W2 = np.array([[0.3, -0.7]])
B2 = np.array([0.1])
OFF = [1.0, 0.0, 0.0]  # z of layer 0 = [0.1, −0.45]


def _ok(client: TestClient, path: str, body: Body) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return strict_json(response.text)


def _only_error(client: TestClient, path: str, body: Body) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    result: dict[str, Any] = error
    return result


def _request(claimed: Body, **changes: Any) -> Body:
    return {**copy.deepcopy(examples.LOSS), "claimed": claimed, **changes}


def _notebook_epoch(epoch: int) -> Body:
    """The notebook's printout of ``epoch`` (1-3), claimed for the network it started from."""
    network = copy.deepcopy(examples.NOTEBOOK_NETWORK)
    if epoch > 1:
        start = PRINTED_UPDATES[epoch - 2]
        for layer, w, b in zip(network["layers"], ("W1", "W2"), ("B1", "B2"), strict=True):
            layer["weights"], layer["bias"] = start[w], start[b]
    printed = PRINTED[epoch - 1]
    claimed: Body = {
        "layers": [{"a": printed["hidden"]}],
        "outputs": printed["output"],
        "loss": printed["loss"],
        "gradients": [
            {
                "weights": np.reshape(printed["W1_grad"], (2, 3)).tolist(),
                "bias": printed["B1_grad"],
            },
            {"weights": printed["W2_grad"], "bias": printed["B2_grad"]},
        ],
    }
    if epoch <= len(PRINTED_UPDATES):
        update = PRINTED_UPDATES[epoch - 1]
        claimed["network"] = {
            "layers": [
                {"weights": update["W1"], "bias": update["B1"]},
                {"weights": update["W2"], "bias": update["B2"]},
            ]
        }
    return _request(claimed, network=network)


# -- /gradcheck ----------------------------------------------------------------------------------


def test_gradcheck_notebook_passes(client: TestClient) -> None:
    """The notebook's network: every tensor within 1e-7, no kink, the default tolerance."""
    body = _ok(client, "/gradcheck", examples.GRADCHECK)
    assert body["passed"] is True
    assert body["tolerance"] == {"absolute": 1e-7, "relative": 1e-5}
    assert body["warnings"] == []
    assert len(body["errors"]) == 2
    for layer in body["errors"]:
        for tensor in (layer["weights"], layer["bias"]):
            assert tensor["failed"] == 0
            assert 0 <= tensor["max_abs_error"] < 1e-8
            assert 0 <= tensor["max_rel_error"] < 1e-8


def test_gradcheck_batch_and_classification(client: TestClient) -> None:
    """A softmax network with cross-entropy on a batch, at a coarser epsilon."""
    body = {k: examples.CLASSIFY[k] for k in ("network", "inputs", "targets", "loss")}
    result = _ok(client, "/gradcheck", {**body, "epsilon": 1e-4})
    assert result["passed"] is True
    assert result["tolerance"]["absolute"] == pytest.approx(1e-6)


def test_gradcheck_warns_at_a_kink(client: TestClient) -> None:
    """z = −0.5·0.1 + 0.05 = 0 exactly for hidden unit 1: a warning naming it, and a failure."""
    body = {**examples.GRADCHECK, "inputs": [[0.1, 0.0, 0.0]], "targets": [[1.0]]}
    result = _ok(client, "/gradcheck", body)
    (warning,) = result["warnings"]
    assert {k: warning[k] for k in ("layer", "sample", "unit", "z")} == {
        "layer": 0,
        "sample": 0,
        "unit": 1,
        "z": 0.0,
    }
    assert "relu kink at 0" in warning["message"]
    assert result["passed"] is False
    assert result["errors"][0]["weights"]["failed"] == 1


@pytest.mark.parametrize(
    ("epsilon", "kind"), [(0.0, "greater_than_equal"), (0.1, "less_than_equal")]
)
def test_gradcheck_epsilon_bounds(client: TestClient, epsilon: float, kind: str) -> None:
    """epsilon lies in [1e-10, 1e-2]."""
    error = _only_error(client, "/gradcheck", {**examples.GRADCHECK, "epsilon": epsilon})
    assert (error["type"], error["loc"]) == (kind, ["body", "epsilon"])


def test_gradcheck_epsilon_too_small_for_a_parameter(client: TestClient) -> None:
    """A weight of 1e7 and ε = 1e-10: w ± ε is w itself, so there is no difference to take."""
    body = copy.deepcopy(examples.GRADCHECK) | {"epsilon": 1e-10}
    body["network"]["layers"][1]["weights"] = [[1e7, -0.7]]
    error = _only_error(client, "/gradcheck", body)
    assert (error["type"], error["loc"]) == ("invalid_combination", ["body", "epsilon"])
    assert "below float64's resolution at the parameter 1e+07" in error["msg"]


def _wide_gradcheck(hidden: int, samples: int) -> Body:
    """A 1-hidden-1 ReLU network's gradient check on ``samples`` samples: 3·hidden + 1
    parameters."""
    rng = np.random.default_rng(0)
    layers = [
        {
            "weights": rng.normal(size=(hidden, 1)).tolist(),
            "bias": rng.normal(size=hidden).tolist(),
            "activation": "relu",
        },
        {"weights": rng.normal(size=(1, hidden)).tolist(), "bias": [0.1], "activation": "identity"},
    ]
    inputs = rng.normal(size=(samples, 1)).tolist()
    return {"network": {"layers": layers}, "inputs": inputs, "targets": inputs}


def test_gradcheck_stops_at_the_deadline(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a clock at 1 s per parameter the default 30 s deadline stops the check after 29 of
    the network's 31 parameters (the clock is read before each): a 422 naming the deadline,
    counted as its own rejection."""
    ticks = iter(range(1, 10**6))
    monkeypatch.setattr(diagnostics_api, "monotonic", lambda: 0.0)
    monkeypatch.setattr(gradcheck_engine, "monotonic", lambda: float(next(ticks)))
    counted = _deadline_rejections(client)
    error = _only_error(client, "/gradcheck", _wide_gradcheck(hidden=10, samples=2))
    assert (error["type"], error["loc"]) == ("deadline_exceeded", ["body"])
    assert error["msg"] == (
        "the gradient check took longer than the deadline of 30 s (set by "
        "BACKPROP_DEADLINE_SECONDS), after 29 of at most 31 parameters; ask for less: fewer "
        "samples or a smaller network"
    )
    assert _deadline_rejections(client) == counted + 1


def test_check_stops_at_the_deadline(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """/check reads the clock before each claimed value: with the clock at 24 s and a second a
    read, the default 30 s deadline stops it after 6 of the example's 11 values, a 422 naming the
    deadline, counted as its own rejection (a wrong claim's mistakes are found by recomputing
    the step each way, seconds on a large network)."""
    ticks = iter(range(24, 10**6))
    monkeypatch.setattr(diagnostics_api, "monotonic", lambda: 0.0)
    monkeypatch.setattr(check_engine, "monotonic", lambda: float(next(ticks)))
    counted = _deadline_rejections(client)
    error = _only_error(client, "/check", examples.CHECK)
    assert (error["type"], error["loc"]) == ("deadline_exceeded", ["body"])
    assert error["msg"] == (
        "checking the claimed values took longer than the deadline of 30 s (set by "
        "BACKPROP_DEADLINE_SECONDS), after 6 of at most 11 values; send fewer claims, or fewer "
        "samples or a smaller network"
    )
    assert _deadline_rejections(client) == counted + 1


def _deadline_rejections(client: TestClient) -> float:
    """The count of requests refused for passing their deadline, from /metrics."""
    line = 'backprop_rejected_requests_total{reason="deadline_exceeded"} '
    found = [row for row in client.get("/metrics").text.splitlines() if row.startswith(line)]
    return float(found[0].removeprefix(line)) if found else 0.0


def test_gradcheck_deadline_in_real_time(limited_client: Callable[..., TestClient]) -> None:
    """A check of 1,951 parameters on 10,000 samples (BACKPROP_MAX_SAMPLES' default), near
    BACKPROP_MAX_WORK (7.7·10¹⁰ of 8·10¹⁰), under a 1 s deadline answers its 422: with the
    answer's size limit out of the way, its 3,902 forward passes each write a 10,000 × 650 hidden
    layer, seconds of memory traffic on any machine (minutes on a laptop)."""
    client = limited_client(BACKPROP_DEADLINE_SECONDS=1, BACKPROP_MAX_TRACE_VALUES=10**15)
    error = _only_error(client, "/gradcheck", _wide_gradcheck(hidden=650, samples=10_000))
    assert error["type"] == "deadline_exceeded"
    assert "deadline of 1 s (set by BACKPROP_DEADLINE_SECONDS)" in error["msg"]


def test_gradcheck_work_limit(limited_client: Callable[..., TestClient]) -> None:
    """2 × 11 parameters × (1 × 11 + 150,000 × 2 layers) = 6,600,242 is over a limit of 10^6."""
    client = limited_client(BACKPROP_MAX_WORK=1_000_000)
    error = _only_error(client, "/gradcheck", examples.GRADCHECK)
    assert (error["type"], error["loc"]) == ("limit_exceeded", ["body"])
    assert "the work (2 × parameters × (samples × parameters + 150,000 × layers))" in error["msg"]
    assert "is 6,600,242, over the limit of 1,000,000 (set by BACKPROP_MAX_WORK)" in error["msg"]


def test_gradcheck_overflow_is_a_422(client: TestClient) -> None:
    """y = 1e-10 · 1e160 and its loss are finite, ∂L/∂W = y · x = 1e310 is not: a non_finite 422."""
    network = {"layers": [{"weights": [[1e-10]], "bias": [0.0], "activation": "identity"}]}
    body = {"network": network, "inputs": [1e160], "targets": [0.0]}
    error = _only_error(client, "/gradcheck", body)
    assert (error["type"], error["loc"]) == ("non_finite", ["body", "network", "layers", 0])


# -- /check: the notebook's numbers --------------------------------------------------------------


@pytest.mark.parametrize("epoch", [1, 2, 3])
@pytest.mark.parametrize("tolerance", [None, 1e-6])
def test_notebook_printed_numbers_all_pass(
    client: TestClient, epoch: int, tolerance: float | None
) -> None:
    """Each printed epoch, claimed for the network the notebook started it from, checks out."""
    body = _notebook_epoch(epoch)
    if tolerance is not None:
        body["tolerance"] = tolerance
    result = _ok(client, "/check", body)
    assert result["all_correct"] is True
    assert result["first_wrong"] is None
    assert len(result["checks"]) == (11 if epoch < 3 else 7)
    assert {c["verdict"] for c in result["checks"]} == {"correct"}
    assert max(c["error"] for c in result["checks"]) < 2e-8


def test_printed_digits_fail_a_tighter_tolerance(client: TestClient) -> None:
    """At 1e-10 the 8-decimal printout is no longer close enough: the tolerance is honoured."""
    result = _ok(client, "/check", _notebook_epoch(2) | {"tolerance": 1e-10})
    assert result["all_correct"] is False
    assert result["first_wrong"]["path"] == "outputs"


def test_network_from_train_is_accepted_as_claimed(client: TestClient) -> None:
    """/train's network pasted into claimed.network, activations included, checks as without."""
    train = _ok(client, "/train", {**copy.deepcopy(examples.LOSS), "epochs": 1})
    trained = train["network"]
    assert {"activation"} <= set(trained["layers"][0])
    with_activations = _ok(client, "/check", _request({"network": trained}))
    bare = [{"weights": layer["weights"], "bias": layer["bias"]} for layer in trained["layers"]]
    without = _ok(client, "/check", _request({"network": {"layers": bare}}))
    assert with_activations == without
    assert with_activations["all_correct"] is True
    assert [c["path"] for c in with_activations["checks"]] == [
        "network.layers[0].weights",
        "network.layers[0].bias",
        "network.layers[1].weights",
        "network.layers[1].bias",
    ]


def test_claimed_activation_other_than_the_networks_is_a_422(client: TestClient) -> None:
    """An SGD step keeps each layer's activation: a different one names the layer and both."""
    train = _ok(client, "/train", {**copy.deepcopy(examples.LOSS), "epochs": 1})
    claimed = train["network"]
    claimed["layers"][1]["activation"] = "relu"
    error = _only_error(client, "/check", _request({"network": claimed}))
    assert error["type"] == "invalid_combination"
    assert error["loc"] == ["body", "claimed", "network", "layers", 1, "activation"]
    assert error["msg"] == (
        "claimed layer 1 has activation relu but the network's layer 1 has identity: "
        "an SGD step changes only weights and bias"
    )
    assert error["input"] == "relu"


def test_check_echoes_claimed_and_correct_in_the_inputs_form(client: TestClient) -> None:
    """Per-sample values come back as rows for a batch; correct holds the float64 value."""
    claimed = {"layers": [{"z": [[0.1, 1.45], [0.1, -0.45]]}], "loss": 0.0}
    body = _request(claimed, inputs=[[-1.0, 2.0, 1.5], OFF], targets=[[1.0], [1.0]])
    z, loss = _ok(client, "/check", body)["checks"]
    assert z["claimed"] == [[0.1, 1.45], [0.1, -0.45]]
    np.testing.assert_allclose(z["correct"], [[0.1, 1.45], [0.1, -0.45]], rtol=1e-15)
    assert (z["step"], z["path"], z["verdict"], z["hint"]) == (
        "forward",
        "layers[0].z",
        "correct",
        None,
    )
    # mean of ½(−0.885 − 1)² and ½(0.13 − 1)²
    assert loss["correct"] == pytest.approx((1.885**2 + 0.87**2) / 4, rel=1e-15)
    assert loss["verdict"] == "wrong"


# -- /check: planted mistakes --------------------------------------------------------------------


def _by_hand(x: list[float]) -> dict[str, Any]:
    """The notebook's first step on one sample x, target 1, and each usual mistake's value."""
    xs = np.array(x)
    z1 = W1 @ xs + B1
    a1 = np.maximum(z1, 0.0)
    y = W2 @ a1 + B2
    d2 = y - 1.0
    da1 = W2.T @ d2
    d1 = da1 * (z1 > 0)
    return {
        "z1": z1,
        "a1": a1,
        "y": y,
        "loss": 0.5 * float(d2 @ d2),
        "d2": d2,
        "gW2": np.outer(d2, a1),
        "d1": d1,
        "d1_relu_everywhere": da1,
        "gW1": np.outer(d1, xs),
        "gW1_relu_everywhere": np.outer(da1, xs),
    }


NB = _by_hand([-1.0, 2.0, 1.5])
ON_OFF = _by_hand(OFF)
# A square first layer, for transposes that keep the shape.
SQUARE_NETWORK = {
    "layers": [
        {"weights": [[0.1, -0.2], [0.4, 0.3]], "bias": [0.0, 0.05], "activation": "relu"},
        {"weights": [[0.3, -0.7]], "bias": [0.1], "activation": "identity"},
    ]
}
SQ_X = np.array([1.0, 2.0])
SQ_W = np.array([[0.1, -0.2], [0.4, 0.3]])
SQ_Z = SQ_W @ SQ_X + [0.0, 0.05]  # [−0.3, 1.05]
SQ_D1 = (W2.T @ (W2 @ np.maximum(SQ_Z, 0) + B2 - 1.0)) * (SQ_Z > 0)

PLANTED: list[tuple[str, Body, str, str, str]] = [
    (
        "relu derivative where z <= 0",
        _request({"gradients": [{"bias": ON_OFF["d1_relu_everywhere"].tolist()}]}, inputs=OFF),
        "backward",
        "gradients[0].bias",
        "the ReLU derivative is applied where z ≤ 0",
    ),
    (
        "relu derivative where z <= 0, in the weights",
        _request({"gradients": [{"weights": ON_OFF["gW1_relu_everywhere"].tolist()}]}, inputs=OFF),
        "backward",
        "gradients[0].weights",
        "the ReLU derivative is applied where z ≤ 0",
    ),
    (
        "missing half in the loss",
        _request({"loss": 2 * NB["loss"]}),
        "loss",
        "loss",
        "the ½ is missing",
    ),
    (
        "missing half in the output delta",
        _request({"gradients": [{}, {"bias": (2 * NB["d2"]).tolist()}]}),
        "output_delta",
        "gradients[1].bias",
        "the ½ is missing: ∂/∂y ½·(y − t)² = y − t",
    ),
    (
        "missing half carried into the weights",
        _request({"gradients": [{"weights": (2 * NB["gW1"]).tolist()}]}),
        "backward",
        "gradients[0].weights",
        "the ½ is missing",
    ),
    (
        "transposed gradient (x·δᵀ)",
        _request({"gradients": [{"weights": NB["gW1"].T.tolist()}]}),
        "backward",
        "gradients[0].weights",
        "transposed: ∂L/∂W = δ·a_prevᵀ has W's shape",
    ),
    (
        "transposed square gradient",
        _request(
            {"gradients": [{"weights": np.outer(SQ_X, SQ_D1).tolist()}]},
            network=SQUARE_NETWORK,
            inputs=SQ_X.tolist(),
        ),
        "backward",
        "gradients[0].weights",
        "transposed",
    ),
    (
        "transposed square weights in the forward pass",
        _request(
            {"layers": [{"z": (SQ_W.T @ SQ_X + [0.0, 0.05]).tolist()}]},
            network=SQUARE_NETWORK,
            inputs=SQ_X.tolist(),
        ),
        "forward",
        "layers[0].z",
        "W is transposed",
    ),
    (
        "sign error in the update",
        _request({"network": {"layers": [{}, {"bias": (B2 + 0.01 * NB["d2"]).tolist()}]}}),
        "update",
        "network.layers[1].bias",
        "sign error in the update: w ← w − η·∂L/∂w",
    ),
    (
        "learning rate missing in the update",
        _request({"network": {"layers": [{"weights": (W1 - NB["gW1"]).tolist()}]}}),
        "update",
        "network.layers[0].weights",
        "the learning rate is missing",
    ),
    (
        "activation not applied",
        _request({"layers": [{"a": ON_OFF["z1"].tolist()}]}, inputs=OFF),
        "forward",
        "layers[0].a",
        "the activation is not applied: a = relu(z) = max(0, z)",
    ),
    (
        "bias forgotten",
        _request({"layers": [{"z": (W1 @ [-1.0, 2.0, 1.5]).tolist()}]}),
        "forward",
        "layers[0].z",
        "the bias is missing",
    ),
    (
        "previous z instead of a",
        _request({"layers": [{}, {"z": (W2 @ ON_OFF["z1"] + B2).tolist()}]}, inputs=OFF),
        "forward",
        "layers[1].z",
        "layer 1's z is used where its a belongs",
    ),
    (
        "sign of the output delta (t − y)",
        _request({"gradients": [{}, {"bias": (-NB["d2"]).tolist()}]}),
        "output_delta",
        "gradients[1].bias",
        "the sign is flipped: the loss's derivative is y − t",
    ),
    (
        "summed over samples",
        _request(
            {"loss": NB["loss"] + 2 * ON_OFF["loss"]},
            inputs=[[-1.0, 2.0, 1.5], OFF, OFF],
            targets=[[1.0], [1.0], [1.0]],
        ),
        "loss",
        "loss",
        "summed over the samples",
    ),
    (
        "no usual mistake: the step's formula",
        _request({"gradients": [{}, {"weights": [[0.5, 0.5]]}]}),
        "backward",
        "gradients[1].weights",
        "∂L/∂W⁽²⁾ = δ⁽²⁾·a_prevᵀ, a_prev = layer 1's a",
    ),
]


PLANTED_IDS = {
    "relu derivative where z <= 0": "missing_derivative",
    "relu derivative where z <= 0, in the weights": "missing_derivative",
    "missing half in the loss": "missing_half",
    "missing half in the output delta": "missing_half",
    "missing half carried into the weights": "missing_half",
    "transposed gradient (x·δᵀ)": "transposed",
    "transposed square gradient": "transposed",
    "transposed square weights in the forward pass": "transposed",
    "sign error in the update": "update_sign",
    "learning rate missing in the update": "learning_rate_missing",
    "activation not applied": "activation_not_applied",
    "bias forgotten": "missing_bias",
    "previous z instead of a": "z_for_a",
    "sign of the output delta (t − y)": "sign_flipped",
    "summed over samples": "sum_not_mean",
    "no usual mistake: the step's formula": None,
}


@pytest.mark.parametrize(
    ("body", "step", "path", "hint", "mistake"),
    [(*case[1:], PLANTED_IDS[case[0]]) for case in PLANTED],
    ids=[case[0] for case in PLANTED],
)
def test_planted_mistake_is_named_with_its_hint(
    client: TestClient, body: Body, step: str, path: str, hint: str, mistake: str | None
) -> None:
    """Each usual mistake is the first wrong step, with the hint that names it and its id, in
    the check and in first_wrong."""
    result = _ok(client, "/check", body)
    assert result["all_correct"] is False
    first = result["first_wrong"]
    assert (first["step"], first["path"]) == (step, path)
    assert first["hint"].startswith(hint), first["hint"]
    (wrong,) = [c for c in result["checks"] if c["verdict"] == "wrong"]
    assert (wrong["path"], wrong["hint"]) == (path, first["hint"])
    if mistake is None:
        assert (wrong["mistake"], wrong["mistakes"], first["mistake"]) == (None, [], None)
    else:
        assert [m["id"] for m in wrong["mistakes"]] == [mistake]
        assert wrong["mistake"] == first["mistake"] == wrong["mistakes"][0]
        assert first["mistakes"] == wrong["mistakes"]
        assert wrong["mistake"]["text"] == wrong["hint"]


def test_first_wrong_is_the_earliest_in_the_computation(client: TestClient) -> None:
    """A wrong update and a wrong loss: the loss comes first, and both are listed in order."""
    claimed = {
        "network": {"layers": [{}, {"bias": (B2 + 0.01 * NB["d2"]).tolist()}]},
        "loss": 2 * NB["loss"],
        "outputs": NB["y"].tolist(),
    }
    result = _ok(client, "/check", _request(claimed))
    assert [(c["path"], c["verdict"]) for c in result["checks"]] == [
        ("outputs", "correct"),
        ("loss", "wrong"),
        ("network.layers[1].bias", "wrong"),
    ]
    assert result["first_wrong"]["path"] == "loss"


def test_texts_count_from_1_and_paths_index_the_json_from_0(client: TestClient) -> None:
    """The ReLU derivative skipped on a batch whose second sample turns hidden unit 2 off, the
    update carried on from it: the text names layer 1's δ (sample 2, unit 2) as the worked
    solution counts, while the paths, carried_from and the explain pointer index the JSON."""
    xs = np.array([[-1.0, 2.0, 1.5], OFF])
    z = xs @ W1.T + B1
    da = (np.maximum(z, 0.0) @ W2.T + B2 - 1.0) @ W2 / 2
    skipped = da.T @ xs
    claimed = {
        "gradients": [{"weights": skipped.tolist()}],
        "network": {"layers": [{"weights": (W1 - 0.01 * skipped).tolist()}]},
    }
    result = _ok(client, "/check", _request(claimed, inputs=xs.tolist(), targets=[[1.0], [1.0]]))
    wrong, carried = result["checks"]
    assert (wrong["path"], wrong["verdict"]) == ("gradients[0].weights", "wrong")
    assert [m["id"] for m in wrong["mistakes"]] == ["missing_derivative"]
    assert "in layer 1's δ (sample 2, unit 2) at z = −0.45, δ = 0, not ∂L/∂a = " in wrong["hint"]
    assert result["first_wrong"]["hint"] == wrong["hint"]
    assert wrong["explain"] == {"step": "backward.0.weights.1.0", "sample": 0}
    assert (carried["path"], carried["verdict"]) == ("network.layers[0].weights", "carried_forward")
    assert carried["carried_from"] == "gradients[0].weights"
    assert carried["hint"].startswith("computed correctly from your gradients[0].weights")


def test_transposed_claim_reports_no_error_value(client: TestClient) -> None:
    """A (3, 2) claim for a (2, 3) gradient is accepted and judged: wrong, error null."""
    result = _ok(client, "/check", _request({"gradients": [{"weights": NB["gW1"].T.tolist()}]}))
    (item,) = result["checks"]
    assert (item["verdict"], item["error"]) == ("wrong", None)
    assert np.shape(item["claimed"]) == (3, 2)
    assert np.shape(item["correct"]) == (2, 3)


# -- /check: invalid bodies ----------------------------------------------------------------------

MALFORMED: list[tuple[str, Body, str, str]] = [
    (
        "wrong shape",
        _request({"gradients": [{}, {"weights": [[1.0, 2.0, 3.0]]}]}),
        "gradients[1].weights",
        "expected shape (1, 2) (layer 2's weights: 1 unit × 2 inputs), got (1, 3)",
    ),
    (
        "flattened weights as the notebook prints them",
        _request({"gradients": [{"weights": PRINTED[0]["W1_grad"]}]}),
        "gradients[0].weights",
        "expected shape (2, 3) (layer 1's weights: 2 units × 3 inputs), got (6,): one row per "
        "unit, 2 rows of 3 numbers",
    ),
    (
        "rows for one sample",
        _request({"layers": [{"a": [[0.1, 1.45]]}]}),
        "layers[0].a",
        "expected shape (2,) (one sample: layer 1's 2 units), got (1, 2): inputs is one sample",
    ),
    (
        "one row for a batch",
        _request({"outputs": [-0.885, 0.13]}, inputs=[[-1.0, 2.0, 1.5], OFF], targets=[[1], [1]]),
        "outputs",
        "expected shape (2, 1) (2 samples × layer 2's 1 unit), got (2,): inputs is a batch",
    ),
    (
        "ragged rows",
        _request({"network": {"layers": [{"weights": [[0.1, 0.2, 0.3], [0.1]]}]}}),
        "network.layers[0].weights",
        "expected shape (2, 3) (layer 1's weights: 2 units × 3 inputs): row 2 has 1 number but "
        "row 1 has 3",
    ),
    (
        "bias as rows",
        _request({"gradients": [{"bias": [[-0.5655], [1.3195]]}]}),
        "gradients[0].bias",
        "expected shape (2,) (layer 1's bias: 2 units), got (2, 1): one list of numbers",
    ),
]


@pytest.mark.parametrize(
    ("body", "path", "message"), [case[1:] for case in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_wrong_shape_is_a_mark_and_the_rest_is_graded(
    client: TestClient, body: Body, path: str, message: str
) -> None:
    """A claim of the wrong shape is one wrong check marked shape, echoed as given, beside the
    other claims graded as usual (here the loss, right for one sample, wrong for a batch)."""
    body["claimed"]["loss"] = NB["loss"]
    given = copy.deepcopy(body["claimed"])
    result = _ok(client, "/check", body)
    (marked,) = [c for c in result["checks"] if c["path"] == path]
    assert marked["verdict"] == "wrong"
    assert marked["mistake"]["id"] == "shape"
    assert message in marked["mistake"]["text"]
    assert marked["hint"] == marked["mistake"]["text"]
    assert (marked["error"], marked["tolerance"], marked["carried_from"]) == (None, None, None)
    claimed: Any = given
    for part in path.replace("[", ".").replace("]", "").split("."):
        claimed = claimed[int(part) if part.isdigit() else part]
    assert marked["claimed"] == claimed
    (loss,) = [c for c in result["checks"] if c["path"] == "loss"]
    assert loss["verdict"] == ("wrong" if len(body["inputs"]) == 2 else "correct")
    assert loss["mistake"] is None
    assert result["first_wrong"]["path"] == min(
        (c["path"] for c in result["checks"] if c["verdict"] == "wrong"),
        key=[c["path"] for c in result["checks"]].index,
    )


INVALID: list[tuple[str, Body, str, list[Any], str]] = [
    (
        "more layers than the network",
        _request({"gradients": [{}, {}, {"bias": [1.0]}]}),
        "shape_mismatch",
        ["claimed", "gradients"],
        "the network has 2 layers but this list has 3 entries",
    ),
    (
        "nothing claimed",
        _request({"layers": [{}], "gradients": []}),
        "missing",
        ["claimed"],
        "claimed holds nothing to check",
    ),
    (
        "loss as a list",
        _request({"loss": [1.7766125]}),
        "float_type",
        ["claimed", "loss"],
        "valid number",
    ),
    (
        "unknown claimed field",
        _request({"accuracy": 1.0}),
        "extra_forbidden",
        ["claimed", "accuracy"],
        "Extra inputs",
    ),
    (
        "negative learning rate",
        _request({"loss": 1.0}, learning_rate=-0.01),
        "greater_than_equal",
        ["learning_rate"],
        "0",
    ),
    ("zero tolerance", _request({"loss": 1.0}, tolerance=0.0), "greater_than", ["tolerance"], "0"),
    ("missing claimed", copy.deepcopy(examples.LOSS), "missing", ["claimed"], "Field required"),
]


@pytest.mark.parametrize(
    ("body", "kind", "loc", "message"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_check_invalid_body(
    client: TestClient, body: Body, kind: str, loc: list[Any], message: str
) -> None:
    """One 422 error at the JSON path of the bad claim, saying what shape was expected."""
    error = _only_error(client, "/check", body)
    assert (error["type"], error["loc"]) == (kind, ["body", *loc])
    assert message in error["msg"]


def test_check_overflowing_update_is_a_422(client: TestClient) -> None:
    """An update to beyond float64 cannot be checked: non_finite."""
    body = _request({"network": {"layers": [{}, {"bias": [0.0]}]}}, learning_rate=1e308)
    error = _only_error(client, "/check", body)
    assert (error["type"], error["loc"]) == ("non_finite", ["body", "network"])


def test_check_response_size_limit(limited_client: Callable[..., TestClient]) -> None:
    """Each claimed number is echoed with its correct value and tolerance: 3 × 6 + 1 = 19."""
    client = limited_client(BACKPROP_MAX_TRACE_VALUES=12)
    error = _only_error(
        client, "/check", _request({"gradients": [{"weights": NB["gW1"].tolist()}]})
    )
    assert error["type"] == "limit_exceeded"
    assert "the number of values in the response is 19" in error["msg"]


# -- OpenAPI -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/gradcheck", "/check"])
def test_openapi_documents_errors_and_examples(client: TestClient, path: str) -> None:
    """200, 413 and 422 documented; every example in Swagger UI runs."""
    operation = client.get("/openapi.json").json()["paths"][path]["post"]
    assert {"200", "413", "422"} <= set(operation["responses"])
    for example in operation["requestBody"]["content"]["application/json"]["examples"].values():
        _ok(client, path, example["value"])


def test_swagger_check_examples_show_a_pass_and_mistakes(client: TestClient) -> None:
    """The notebook example passes; the mistakes example names the missing ½ first."""
    assert _ok(client, "/check", examples.CHECK)["all_correct"] is True
    result = _ok(client, "/check", examples.CHECK_MISTAKES)
    assert result["first_wrong"]["hint"].startswith("the ½ is missing")
    hints = [c["hint"] for c in result["checks"] if c["verdict"] == "wrong"]
    assert hints[-1].startswith("sign error in the update")


def test_swagger_lists_a_momentum_check_example(client: TestClient) -> None:
    """/docs (Swagger UI, from /openapi.json) offers a momentum step: each named example is a
    valid CheckRequest answered 200; the momentum one grades the velocity and names a bias
    stepped without it."""
    operation = client.get("/openapi.json").json()["paths"]["/check"]["post"]
    named = operation["requestBody"]["content"]["application/json"]["examples"]
    assert {"notebook", "mistakes", "momentum"} <= set(named)
    for example in named.values():
        CheckRequest.model_validate(example["value"])
        _ok(client, "/check", example["value"])
    momentum = named["momentum"]["value"]
    assert momentum["optimizer"]["momentum"] == 0.9
    result = _ok(client, "/check", momentum)
    verdicts = {item["path"]: (item["verdict"], item["mistake"]) for item in result["checks"]}
    assert verdicts["optimizer_state.momentum_buffer[1].weights"] == ("correct", None)
    assert verdicts["network.layers[1].weights"] == ("correct", None)
    verdict, mistake = verdicts["network.layers[1].bias"]
    assert (verdict, mistake["id"]) == ("wrong", "momentum_missing")
    assert "/openapi.json" in client.get("/docs").text


# -- /check: precision as written, errors carried forward ----------------------------------------


def _raw(client: TestClient, body: Body, claimed_json: str) -> Any:
    """``body`` with ``claimed`` spliced in as JSON text, numbers exactly as written there."""
    text = json.dumps({**body, "claimed": "@"}).replace('"@"', claimed_json)
    response = client.post("/check", content=text, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    return strict_json(response.text)


@pytest.mark.parametrize(
    ("written", "verdict", "tolerance"),
    [
        ("1.7766", "correct", 1e-4),
        ("1.77661", "correct", 1e-5),  # what the worked solution shows
        ("1.7767", "correct", 1e-4),
        ("1.776", "correct", 1e-3),  # truncated
        ("1.77660", "wrong", 1e-5),  # its written trailing zero claims a fifth decimal
        ("1.7765", "wrong", 1e-4),
        ("1.8", "wrong", 1e-2),  # two significant figures
        ("2", "wrong", 1e-2),
        ("17766125e-7", "correct", 1.7766125e-6),  # full precision: never tighter than 1e-6
    ],
)
def test_a_number_is_judged_at_the_decimals_written_in_the_json(
    client: TestClient, written: str, verdict: str, tolerance: float
) -> None:
    """The notebook's loss 1.7766125: the decimals come from the body's text, and each check
    says the tolerance it applied."""
    result = _raw(client, _request({}), f'{{"loss": {written}}}')
    (item,) = result["checks"]
    assert item["verdict"] == verdict
    assert item["tolerance"] == pytest.approx(tolerance)
    assert result["all_correct"] is (verdict == "correct")
    assert result["score"] == (1.0 if verdict == "correct" else 0.0)


def test_min_significant_and_tolerance(client: TestClient) -> None:
    """min_significant 2 accepts 1.8 for 1.7766; a tolerance keeps its meaning; not both."""
    assert _ok(client, "/check", _request({"loss": 1.8}, min_significant=2))["all_correct"]
    assert not _ok(client, "/check", _request({"loss": 1.8}))["all_correct"]
    result = _ok(client, "/check", _request({"loss": 1.8}, tolerance=0.02))
    assert result["checks"][0]["tolerance"] == pytest.approx(0.02 * 1.7766125)
    assert result["all_correct"]
    error = _only_error(client, "/check", _request({"loss": 1.8}, tolerance=0.1, min_significant=2))
    assert (error["type"], error["loc"]) == ("invalid_combination", ["body", "min_significant"])


@pytest.mark.parametrize("value", [0, 16, 2.5, "3"])
def test_min_significant_is_validated(client: TestClient, value: Any) -> None:
    error = _only_error(client, "/check", _request({"loss": 1.8}, min_significant=value))
    assert error["loc"] == ["body", "min_significant"]


def _counting_decimals(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each number's text the route reads again for its decimals."""
    read: list[str] = []
    original = diagnostics_api.decimals

    def counted(text: str) -> int:
        read.append(text)
        return original(text)

    monkeypatch.setattr(diagnostics_api, "decimals", counted)
    return read


@pytest.mark.parametrize("claimed_first", [False, True])
def test_only_the_claimed_text_is_read_again(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, claimed_first: bool
) -> None:
    """A network of 64 × 64 weights beside three claimed numbers: the three numbers' text is
    read for its decimals, none of the network's, whatever the order of the keys."""
    rng = np.random.default_rng(0)
    network = {
        "layers": [
            {"weights": rng.uniform(-1, 1, (64, 3)).round(3).tolist(), "bias": [0.0] * 64},
            {"weights": rng.uniform(-1, 1, (1, 64)).round(3).tolist(), "bias": [0.1]},
        ]
    }
    for layer, activation in zip(network["layers"], ("relu", "identity"), strict=True):
        layer["activation"] = activation
    loss = _ok(client, "/loss", {**examples.LOSS, "network": network})["loss"]
    claimed = f'{{"outputs": [{-1:.1f}], "loss": {loss:.5f}0, "layers": [{{}}, {{}}]}}'
    rest = json.dumps({**examples.LOSS, "network": network})[1:-1]
    text = (
        f'{{"claimed": {claimed}, {rest}}}'
        if claimed_first
        else f'{{{rest}, "claimed": {claimed}}}'
    )
    read = _counting_decimals(monkeypatch)
    response = client.post("/check", content=text, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert read == ["-1.0", f"{loss:.5f}0"]
    assert response.json()["checks"][1]["tolerance"] == pytest.approx(1e-6 * max(1, loss))


def test_many_claimed_numbers_are_read_from_their_floats(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over WRITTEN_NUMBERS claimed numbers no text is read again: each float's shortest repr
    gives its decimals, so 1.77660 counts as 1.7766 (a unit of 1e-4, not 1e-5)."""
    read = _counting_decimals(monkeypatch)
    claimed = '{"loss": 1.77660, "layers": [{"a": [0.10, 1.4500]}]}'
    assert _raw(client, _request({}), claimed)["checks"][1]["tolerance"] == pytest.approx(1e-5)
    assert len(read) == 3
    monkeypatch.setattr(diagnostics_api, "WRITTEN_NUMBERS", 2)
    a, loss = _raw(client, _request({}), claimed)["checks"]
    assert (a["tolerance"], loss["tolerance"]) == (pytest.approx([1e-3, 1e-2]), pytest.approx(1e-4))
    assert len(read) == 3


def test_tolerance_per_number_in_the_claimed_form(client: TestClient) -> None:
    """One tolerance per number, each from its own decimals, capped by its correct value's
    third significant figure: a = [0.1, 1.45] written as [0.10, 1.4500]."""
    result = _raw(client, _request({}), '{"layers": [{"a": [0.10, 1.4500]}]}')
    (item,) = result["checks"]
    assert item["verdict"] == "correct"
    assert item["tolerance"] == pytest.approx([1e-3, 1e-4])


def test_a_slip_is_wrong_and_what_follows_from_it_carried_forward(client: TestClient) -> None:
    """a⁽⁰⁾ = [0.2, 1.45] (wrong), then every later value computed from it: carried forward,
    pointing to layers[0].a, its hint saying so and its explain the slip's; score 1 − 1/6;
    first_wrong is the slip."""
    a0 = np.array([0.2, 1.45])
    y = float((W2 @ a0 + B2)[0])
    d2 = y - 1.0
    claimed = {
        "layers": [{"a": a0.tolist()}],
        "outputs": [y],
        "loss": 0.5 * d2**2,
        "gradients": [{}, {"weights": [(d2 * a0).tolist()], "bias": [d2]}],
        "network": {"layers": [{}, {"bias": (B2 - 0.01 * d2).tolist()}]},
    }
    result = _ok(client, "/check", _request(claimed))
    assert [(c["path"], c["verdict"], c["carried_from"]) for c in result["checks"]] == [
        ("layers[0].a", "wrong", None),
        ("outputs", "carried_forward", "layers[0].a"),
        ("loss", "carried_forward", "layers[0].a"),
        ("gradients[1].bias", "carried_forward", "layers[0].a"),
        ("gradients[1].weights", "carried_forward", "layers[0].a"),
        ("network.layers[1].bias", "carried_forward", "layers[0].a"),
    ]
    slip = result["checks"][0]
    assert all(
        c["hint"]
        == "computed correctly from your layers[0].a, which is wrong: the mistake is there"
        and c["explain"] == slip["explain"] == {"step": "forward.0.a.0", "sample": 0}
        and (c["mistake"], c["mistakes"]) == (None, [])
        for c in result["checks"][1:]
    )
    assert result["score"] == pytest.approx(5 / 6)
    assert result["all_correct"] is False
    assert result["first_wrong"]["path"] == "layers[0].a"


def test_the_notebooks_worked_solution_at_6_digits_is_all_correct(client: TestClient) -> None:
    """Every value of the notebook's step as the worked solution shows it (6 significant
    digits, /explain's default)."""
    grads = _ok(client, "/backward", copy.deepcopy(examples.LOSS))
    train = _ok(client, "/train", {**copy.deepcopy(examples.LOSS), "epochs": 1})

    def shown(value: Any) -> str:
        if isinstance(value, list):
            return "[" + ", ".join(shown(item) for item in value) + "]"
        return f"{value:.6g}"

    claimed = {
        "layers": [{"z": layer["z"], "a": layer["a"]} for layer in grads["layers"]],
        "outputs": grads["outputs"],
        "loss": grads["loss"],
        "gradients": grads["gradients"],
        "network": {
            "layers": [
                {"weights": x["weights"], "bias": x["bias"]} for x in train["network"]["layers"]
            ]
        },
    }
    text = json.dumps(claimed)
    for number in sorted(set(re.findall(r"-?[0-9.]+(?:e-?[0-9]+)?", text)), key=len, reverse=True):
        text = re.sub(rf"(?<![0-9.e-]){re.escape(number)}(?![0-9.e])", shown(float(number)), text)
    assert '"loss": 1.77661,' in text
    result = _raw(client, _request({}), text)
    assert len(result["checks"]) == 14
    assert result["all_correct"] is True, [c for c in result["checks"] if c["verdict"] != "correct"]


MAZUR = {
    # Matt Mazur, "A Step by Step Backpropagation Example" (2015),
    # https://mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/
    "network": {
        "layers": [
            {
                "weights": [[0.15, 0.20], [0.25, 0.30]],
                "bias": [0.35, 0.35],
                "activation": "sigmoid",
            },
            {
                "weights": [[0.40, 0.45], [0.50, 0.55]],
                "bias": [0.60, 0.60],
                "activation": "sigmoid",
            },
        ]
    },
    "inputs": [0.05, 0.10],
    "targets": [0.01, 0.99],
    "learning_rate": 0.5,
}
MAZUR_CLAIMED = """{
  "layers": [{"z": [0.3775, 0.3925], "a": [0.593269992, 0.596884378]}, {}],
  "outputs": [0.75136507, 0.772928465],
  "loss": 0.298371109,
  "network": {"layers": [
    {"weights": [[0.149780716, 0.19956143], [0.24975114, 0.29950229]]},
    {"weights": [[0.35891648, 0.408666186], [0.511301270, 0.561370121]]}
  ]}
}"""


def test_mazurs_published_figures_are_all_correct(client: TestClient) -> None:
    """His 2-2-2 sigmoid network, typed in with his 9-digit figures (his biases stay fixed, so
    only the weights' update is claimed)."""
    result = _raw(client, MAZUR, MAZUR_CLAIMED)
    assert len(result["checks"]) == 6
    assert result["all_correct"] is True, [c for c in result["checks"] if c["verdict"] != "correct"]


LOGITS_NETWORKS = {
    "cross_entropy": (
        {"weights": [[0.5, -0.4], [0.3, 0.8], [-0.6, 0.1]], "bias": [0.1, 0.0, -0.2]},
        "softmax",
        [[0.0, 1.0, 0.0]],
    ),
    "binary_cross_entropy": (
        {"weights": [[0.5, -0.4], [0.3, 0.8]], "bias": [0.1, -0.2]},
        "sigmoid",
        [[1.0, 0.0]],
    ),
}


def _logits_loss(loss: str, y: np.ndarray, t: np.ndarray) -> float:
    if loss == "cross_entropy":
        return float(-np.sum(t * np.log(y)))
    return float(-np.mean(t * np.log(y) + (1 - t) * np.log(1 - y)))


@pytest.mark.parametrize("loss", sorted(LOGITS_NETWORKS))
def test_a_loss_from_logits_is_recomputed_from_the_claimed_outputs(
    client: TestClient, loss: str
) -> None:
    """Outputs rounded to 3 figures and the loss computed from them to 6: both correct; outputs
    slipped by 0.05 and the loss computed from those: the loss is carried forward."""
    layer, activation, targets = LOGITS_NETWORKS[loss]
    body = {
        "network": {"layers": [{**layer, "activation": activation}]},
        "inputs": [[1.0, 2.0]],
        "targets": targets,
        "loss": loss,
    }
    outputs = np.array(_ok(client, "/loss", body)["outputs"])
    t = np.array(targets)
    rounded = np.vectorize(lambda v: float(f"{v:.3g}"))(outputs)
    from_rounded = _logits_loss(loss, rounded, t)
    assert abs(from_rounded - _logits_loss(loss, outputs, t)) > 1e-5  # not right by itself
    claimed = json.dumps({"outputs": rounded.tolist(), "loss": round(from_rounded, 6)})
    result = _raw(client, body, claimed)
    assert [c["verdict"] for c in result["checks"]] == ["correct", "correct"]
    slipped = rounded.copy()
    slipped[0, :2] += [0.05, -0.05]
    claimed = json.dumps(
        {"outputs": slipped.tolist(), "loss": round(_logits_loss(loss, slipped, t), 6)}
    )
    result = _raw(client, body, claimed)
    assert [(c["verdict"], c["carried_from"]) for c in result["checks"]] == [
        ("wrong", None),
        ("carried_forward", "outputs"),
    ]


SHOWN = re.compile(
    r"^(?P<symbol>[za]\d+\[\d+\]|L|∂L/∂[Wb]\d+\[[\d,]+\]|[Wb]\d+\[[\d,]+\](?= ←))"
    r".* = (?P<value>[−\d.e+]+)(?:   \(.*)?$"
)


def _claimed_as_shown(worked: str) -> str:
    """Every value a worked solution in text shows, claimed as the JSON text of /check with
    each number exactly as displayed."""
    found: dict[tuple[str, ...], str] = {}
    for line in worked.splitlines():
        match = SHOWN.match(line)
        if match:
            symbol, value = match["symbol"], match["value"].replace("−", "-")
            found[tuple(re.findall(r"∂L/∂|[zaLWb]|\d+", symbol))] = value
    layers = max(int(key[1]) for key in found if key[0] in "za")

    def nested(prefix: tuple[str, ...]) -> str:
        entries = {
            key[len(prefix) :]: v for key, v in found.items() if key[: len(prefix)] == prefix
        }
        if () in entries:
            return entries[()]
        rows = sorted({int(key[0]) for key in entries})
        return "[" + ", ".join(nested((*prefix, str(row))) for row in rows) + "]"

    claimed = {
        "layers": [
            {"z": nested(("z", str(n))), "a": nested(("a", str(n)))} for n in range(1, layers + 1)
        ],
        "loss": found["L",],
        "gradients": [
            {"weights": nested(("∂L/∂", "W", str(n))), "bias": nested(("∂L/∂", "b", str(n)))}
            for n in range(1, layers + 1)
        ],
        "network": {
            "layers": [
                {"weights": nested(("W", str(n))), "bias": nested(("b", str(n)))}
                for n in range(1, layers + 1)
            ]
        },
    }
    return re.sub(r'"([-\d.e+\[\], ]+)"', r"\1", json.dumps(claimed))


@pytest.mark.parametrize(
    "body",
    [copy.deepcopy(examples.LOSS), {**MAZUR, "loss": "half_squared_error"}],
    ids=["notebook", "mazur"],
)
def test_explains_displayed_values_are_all_correct(client: TestClient, body: Body) -> None:
    """/explain's worked solution in text at its default 6 significant digits, every value it
    shows claimed exactly as displayed: all correct."""
    explain = {key: value for key, value in body.items() if key != "learning_rate"}
    optimizer = {"type": "sgd", "learning_rate": body.get("learning_rate", 0.01)}
    response = client.post("/explain", json={**explain, "optimizer": optimizer, "format": "text"})
    assert response.status_code == 200, response.text
    claimed = _claimed_as_shown(response.text)
    result = _raw(client, body, claimed)
    layers = len(body["network"]["layers"])
    assert len(result["checks"]) == 6 * layers + 1
    assert result["all_correct"] is True, [c for c in result["checks"] if c["verdict"] != "correct"]


HAN_KAMBER = {
    # J. Han, M. Kamber, J. Pei, "Data Mining: Concepts and Techniques", 3rd ed. (2012), Example
    # 9.1, "Sample calculations for learning by the backpropagation algorithm" (Figure 9.5,
    # Tables 9.1-9.3; Example 6.9 in the 2nd ed.): inputs x1..x3 = 1, 0, 1 into units 4 and 5,
    # then unit 6; sigmoid units, I_j = Σ w_ij·O_i + θ_j, target 1, learning rate 0.9. Its
    # Err_j = O_j(1 − O_j)·(...) is −δ, so a bias gradient is −Err_j.
    "network": {
        "layers": [
            {"weights": [[0.2, 0.4, -0.5], [-0.3, 0.1, 0.2]], "bias": [-0.4, 0.2]},
            {"weights": [[-0.3, -0.2]], "bias": [0.1]},
        ]
    },
    "inputs": [1, 0, 1],
    "targets": [1],
    "learning_rate": 0.9,
}
for _layer in HAN_KAMBER["network"]["layers"]:  # type: ignore[index]
    _layer["activation"] = "sigmoid"
# The book's figures as printed: net inputs −0.7, 0.1, −0.105; outputs 0.332, 0.525, 0.474;
# Err6 = 0.1311; the updated w14, w24, w34 / w15, w25, w35 / w46, w56 and θ4, θ5, θ6.
HAN_KAMBER_CLAIMED = """{
  "layers": [{"z": [-0.7, 0.1], "a": [0.332, 0.525]}, {"z": [-0.105]}],
  "outputs": [0.474],
  "gradients": [{}, {"bias": [-0.1311]}],
  "network": {"layers": [
    {"weights": [[0.192, 0.4, -0.508], [-0.306, 0.1, 0.194]], "bias": [-0.408, 0.194]},
    {"weights": [[-0.261, -0.138]], "bias": [0.218]}
  ]}
}"""


def test_a_textbooks_published_figures_are_all_correct(client: TestClient) -> None:
    """Han, Kamber and Pei's Example 9.1 typed in with its printed 3-4 decimals, computed there
    from its own rounded figures, is all correct with the default settings."""
    result = _raw(client, HAN_KAMBER, HAN_KAMBER_CLAIMED)
    assert len(result["checks"]) == 9
    assert result["all_correct"] is True, [c for c in result["checks"] if c["verdict"] != "correct"]


def test_a_textbooks_two_significant_figures_need_min_significant_2(client: TestClient) -> None:
    """The book prints Err4 = −0.0087 and Err5 = −0.0065, two significant figures: short of the
    default three (−0.008725 and −0.006542 are the values), right with min_significant 2."""
    claimed = '{"gradients": [{"bias": [0.0087, 0.0065]}]}'
    (item,) = _raw(client, HAN_KAMBER, claimed)["checks"]
    assert item["verdict"] == "wrong"
    np.testing.assert_allclose(item["correct"], [0.008725, 0.006542], atol=5e-7)
    (item,) = _raw(client, {**HAN_KAMBER, "min_significant": 2}, claimed)["checks"]
    assert item["verdict"] == "correct"


@pytest.mark.parametrize(
    "change",
    [
        {"network": {"layers": [{"weights": [[0.1, 0.2]], "bias": [0.0], "activation": "relu"}]}},
        {"inputs": [1.0, "x", 2.0]},
        {"targets": [[1.0], [2.0]]},
        {"loss": "hinge"},
    ],
)
def test_a_bad_network_or_data_is_the_same_422_as_backwards(
    client: TestClient, change: Body
) -> None:
    backward = client.post("/backward", json={**copy.deepcopy(examples.LOSS), **change})
    checked = client.post("/check", json=_request({"loss": 1.0}, **change))
    assert backward.status_code == checked.status_code == 422
    assert checked.json() == backward.json()


@pytest.mark.parametrize(
    "body",
    [
        {
            "network": {"layers": [{"weights": [[0.5]], "bias": [37.0], "activation": "sigmoid"}]},
            "inputs": [0.5],
            "targets": [0.5],
            "loss": "binary_cross_entropy",
        },
        {
            "network": {
                "layers": [
                    {"weights": [[0.5]], "bias": [0.0], "activation": "relu"},
                    {"weights": [[0.5], [0.5]], "bias": [0.0, 746.0], "activation": "softmax"},
                ]
            },
            "inputs": [0.5],
            "targets": [1.0, 0.0],
            "loss": "cross_entropy",
        },
    ],
)
def test_a_loss_whose_outputs_round_to_0_or_1_is_not_right_from_them(
    client: TestClient, body: dict[str, Any]
) -> None:
    """The log of an output that is 0 in float64 is not finite: the loss recomputed from the
    outputs is then no yardstick, and a claim far from the correct loss (18.6 or 746) is wrong."""
    response = client.post("/check", json=body | {"learning_rate": 0.1, "claimed": {"loss": 0.5}})
    assert response.status_code == 200, response.text
    (mark,) = response.json()["checks"]
    assert (mark["verdict"], response.json()["all_correct"]) == ("wrong", False)
