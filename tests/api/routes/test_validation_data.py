"""Validation during training (issue 13, item 2): validation_loss and validation_accuracy in the
trace, final_validation_loss in the summary, stop.validation_loss_below and early stopping."""

import copy
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

import app.api.routes.training as training_api
from app import examples
from app.client import Client
from app.main import in_process_app
from app.nn.training import Run
from tests.helpers import strict_json

NOTEBOOK_VALIDATION = {"inputs": [[1.0, 0.5, -1.0], [0.0, 1.0, 2.0]], "targets": [[0.5], [1.5]]}
XOR_VALIDATION = {
    "inputs": [[0.1, 0.9], [0.9, 0.1], [0.8, 0.9], [0.2, 0.1], [0.5, 0.4]],
    "targets": [[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.3, 0.7]],
}
"""Near-XOR points, one with a soft target (so accuracy is null for it alone: see below)."""


def _notebook(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(examples.TRAIN) | {"validation": copy.deepcopy(NOTEBOOK_VALIDATION)}
    return body | changes


def _xor(**changes: Any) -> dict[str, Any]:
    validation = copy.deepcopy(XOR_VALIDATION)
    validation["targets"][-1] = [0.0, 1.0]  # hard labels: the accuracy is defined
    body = copy.deepcopy(examples.CLASSIFY) | {"validation": validation, "epochs": 30}
    del body["stop"]
    return body | changes


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return strict_json(response.text)


def _measured(client: TestClient, body: dict[str, Any], network: dict[str, Any]) -> Any:
    """/loss of ``network`` on the request's validation data."""
    validation = body["validation"]
    request = {"network": network, "loss": body.get("loss", "half_squared_error")} | validation
    return _post(client, "/loss", request)


def _starts(body: dict[str, Any], trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The network at the start of each epoch of a full trace: the request's, then each
    previous entry's."""
    return [body["network"], *[entry["network"] for entry in trace[:-1]]]


CASES = {
    "notebook, one sample, half squared error": _notebook(),
    "three samples in mini-batches, mean squared error": _notebook(
        inputs=[[-1.0, 2.0, 1.5], [1.0, 0.0, 0.0], [0.5, 0.5, 0.5]],
        targets=[[1.0], [0.0], [2.0]],
        loss="mean_squared_error",
        batch_size=2,
        shuffle=True,
        optimizer={"type": "sgd", "learning_rate": 0.05, "momentum": 0.9},
    ),
    "cross-entropy full batch": _xor(batch_size=None, shuffle=False),
    "cross-entropy mini-batches": _xor(),
}


@pytest.mark.parametrize("body", CASES.values(), ids=CASES.keys())
def test_validation_loss_is_that_of_the_network_at_the_start_of_the_epoch(
    client: TestClient, body: dict[str, Any]
) -> None:
    """Entry e's validation_loss and validation_accuracy are /loss's on the validation data with
    the network at the start of epoch e; the summary's are those of the returned network."""
    result = _post(client, "/train", body)
    assert result["status"] == "completed"
    for entry, network in zip(result["trace"], _starts(body, result["trace"]), strict=True):
        expected = _measured(client, body, network)
        assert entry["validation_loss"] == expected["loss"]
        assert entry["validation_accuracy"] == expected["accuracy"]
    final = _measured(client, body, result["network"])
    assert result["final_validation_loss"] == final["loss"]
    assert result["final_validation_accuracy"] == final["accuracy"]
    assert result["best_epoch"] is None


def test_validation_accuracy_follows_accuracy_rules(client: TestClient) -> None:
    """Accuracy is null for a regression loss and for soft validation targets."""
    regression = _post(client, "/train", _notebook(epochs=2))
    assert [e["validation_accuracy"] for e in regression["trace"]] == [None, None]
    assert regression["final_validation_accuracy"] is None
    soft = _post(client, "/train", _xor(validation=copy.deepcopy(XOR_VALIDATION), epochs=2))
    assert [e["validation_accuracy"] for e in soft["trace"]] == [None, None]
    assert all(isinstance(e["validation_loss"], float) for e in soft["trace"])


def test_validation_fields_are_there_only_with_validation(client: TestClient) -> None:
    """By default entries carry the validation fields when validation is given, and only then;
    the summary always has its fields (null without validation)."""
    without = _post(client, "/train", examples.TRAIN | {"epochs": 2})
    assert all("validation_loss" not in e for e in without["trace"])
    assert without["final_validation_loss"] is None
    assert without["final_validation_accuracy"] is None
    with_it = _post(client, "/train", _notebook(epochs=2))
    assert list(with_it["trace"][0])[:5] == [
        "epoch",
        "loss",
        "accuracy",
        "validation_loss",
        "validation_accuracy",
    ]
    only = _post(client, "/train", _notebook(epochs=2, trace={"include": ["validation_loss"]}))
    assert [set(e) for e in only["trace"]] == [{"epoch", "validation_loss"}] * 2


@pytest.mark.parametrize(
    ("include", "kept"),
    [
        (["validation_loss"], {"validation"}),
        (["validation_accuracy"], {"validation"}),
        (["loss"], set()),
    ],
)
def test_the_engine_measures_validation_only_for_the_fields_that_need_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, include: list[str], kept: set[str]
) -> None:
    """The engine's records keep the validation only when an included field reads it."""
    asked: list[set[str]] = []

    def spying_train(*args: Any, **kwargs: Any) -> Run:
        asked.append(set(kwargs["keep"]))
        return real_train(*args, **kwargs)

    real_train = training_api.train
    monkeypatch.setattr(training_api, "train", spying_train)
    result = _post(client, "/train", _notebook(epochs=3, trace={"include": include}))
    assert asked == [kept]
    assert [set(entry) for entry in result["trace"]] == [{"epoch", *include}] * 3
    assert result["final_validation_loss"] is not None


def test_a_sparse_trace_holds_the_full_traces_validation(client: TestClient) -> None:
    """With every > 1 the recorded entries (the last one recomputed) equal the full trace's."""
    full = _post(client, "/train", _notebook(epochs=12))["trace"]
    sparse = _post(client, "/train", _notebook(epochs=12, trace={"every": 5}))["trace"]
    assert sparse == [full[0], full[5], full[10], full[11]]


def test_a_validation_loss_that_overflows_is_null(client: TestClient) -> None:
    """Validation data the network overflows on gives null, not an error, and the run goes on
    as without it; early stopping never counts it as an improvement."""
    overflow = {"inputs": [1e300, 1e300, 1e300], "targets": [0.0]}
    result = _post(client, "/train", _notebook(epochs=3, validation=overflow))
    plain = _post(client, "/train", examples.TRAIN | {"epochs": 3})
    assert result["status"] == "completed"
    assert [e["validation_loss"] for e in result["trace"]] == [None, None, None]
    assert result["final_validation_loss"] is None
    assert result["network"] == plain["network"]
    stopped = _post(client, "/train", _notebook(validation=overflow, stop={"patience": 2}))
    assert stopped["status"] == "early_stopped"
    assert (stopped["epochs_run"], stopped["best_epoch"]) == (2, 0)
    assert stopped["network"] == examples.TRAIN["network"]


# A planted overfit: a 1-32-1 tanh network fits 6 noisy samples of sin(x) exactly, while its loss
# on 25 clean samples of sin(x) falls to a minimum after 25 epochs, then rises for good.
_RNG = np.random.default_rng(0)
_X = np.linspace(-2, 2, 6)
_T = np.sin(_X) + _RNG.normal(0, 0.4, 6)
_XV = np.linspace(-2, 2, 25)
OVERFIT: dict[str, Any] = {
    "inputs": [[x] for x in _X],
    "targets": [[t] for t in _T],
    "validation": {"inputs": [[x] for x in _XV], "targets": [[np.sin(x)] for x in _XV]},
    "loss": "mean_squared_error",
    "optimizer": {"type": "adam", "learning_rate": 0.02},
    "epochs": 300,
    "trace": {"include": ["loss", "validation_loss", "network"]},
}


@pytest.fixture
def overfit(client: TestClient) -> dict[str, Any]:
    """The planted overfit's request, with a seeded network from /init."""
    init = {"sizes": [1, 32, 1], "activation": "tanh", "seed": 0}
    return copy.deepcopy(OVERFIT) | {"network": _post(client, "/init", init)["network"]}


def _early_stop(losses: list[float], patience: int) -> tuple[int, int]:
    """Where early stopping ends on the validation losses of the networks after 0, 1, 2, …
    epochs, and the best of them: (epochs run, best epoch)."""
    best = 0
    for epoch in range(1, len(losses)):
        if losses[epoch] < losses[best]:
            best = epoch
        if epoch - best == patience:
            return epoch, best
    raise AssertionError("the run would not stop")


@pytest.mark.parametrize("patience", [1, 9, 12, 40])
def test_early_stopping_returns_the_best_network(
    client: TestClient, overfit: dict[str, Any], patience: int
) -> None:
    """Early stopping ends exactly `patience` epochs after the lowest validation loss seen and
    returns the network that had it, with its own loss and validation loss; with a patience
    past Adam's early wobbles that is the full run's lowest (the planted overfit)."""
    full = _post(client, "/train", overfit)
    losses = [e["validation_loss"] for e in full["trace"]] + [full["final_validation_loss"]]
    stop, best = _early_stop(losses, patience)
    if patience > 10:
        assert best == int(np.argmin(losses)) == 25
    stopped = _post(client, "/train", overfit | {"stop": {"patience": patience}})
    assert stopped["status"] == "early_stopped"
    assert (stopped["epochs_run"], stopped["best_epoch"]) == (stop, best)
    assert stopped["trace"] == full["trace"][:stop]
    assert stopped["network"] == full["trace"][best - 1]["network"]
    assert stopped["final_validation_loss"] == losses[best]
    assert stopped["final_loss"] == full["trace"][best]["loss"]
    assert full["best_epoch"] is None


def test_early_stopping_resumes_from_the_best_network(
    client: TestClient, overfit: dict[str, Any]
) -> None:
    """The returned optimizer_state is that of the best network: resuming from both for 5 epochs
    gives the full run's network 5 epochs after the best."""
    full = _post(client, "/train", overfit)
    stopped = _post(client, "/train", overfit | {"stop": {"patience": 10}})
    best = stopped["best_epoch"]
    state = stopped["optimizer_state"]
    assert (state["step"], state["epoch"]) == (best, best)
    resumed = overfit | {"network": stopped["network"], "optimizer_state": state, "epochs": 5}
    assert _post(client, "/train", resumed)["network"] == full["trace"][best + 4]["network"]


def test_patience_counts_epochs_without_improvement(client: TestClient) -> None:
    """At learning rate 0 nothing improves: the run ends after exactly `patience` epochs with
    the network it was sent, its own optimizer state (step 0) and best_epoch 0."""
    body = _notebook(epochs=100, optimizer={"type": "sgd", "learning_rate": 0.0})
    result = _post(client, "/train", body | {"stop": {"patience": 3}})
    assert (result["status"], result["epochs_run"], result["best_epoch"]) == ("early_stopped", 3, 0)
    assert result["network"] == body["network"]
    assert result["optimizer_state"]["step"] == 0
    assert [e["epoch"] for e in result["trace"]] == [1, 2, 3]
    last = _post(client, "/train", body | {"epochs": 3, "stop": {"patience": 3}})
    assert last == result  # patience runs out at the last epoch: early_stopped all the same


def test_patience_not_exhausted_completes_with_the_last_network(client: TestClient) -> None:
    """A run whose validation loss keeps improving completes as without patience, saying which
    epoch's network was best."""
    plain = _post(client, "/train", _notebook(epochs=20))
    patient = _post(client, "/train", _notebook(epochs=20, stop={"patience": 5}))
    assert patient["status"] == "completed"
    assert patient["best_epoch"] == 20
    assert patient | {"best_epoch": None} == plain


def test_validation_loss_below_is_a_target(client: TestClient) -> None:
    """validation_loss_below ends the run as target_reached at the first network that meets
    it; a network that meets it already trains for 0 epochs."""
    include = ["validation_loss", "network"]
    full = _post(client, "/train", _notebook(epochs=200, trace={"include": include}))
    losses = [e["validation_loss"] for e in full["trace"]]
    target = losses[40]  # that of the network after 40 epochs
    result = _post(client, "/train", _notebook(epochs=200, stop={"validation_loss_below": target}))
    assert result["status"] == "target_reached"
    assert result["epochs_run"] == 40
    assert result["final_validation_loss"] == target
    assert result["network"] == full["trace"][39]["network"]
    met = _post(client, "/train", _notebook(stop={"validation_loss_below": 1.0}))
    assert (met["status"], met["epochs_run"], met["trace"]) == ("target_reached", 0, [])


def test_either_target_ends_the_run(client: TestClient) -> None:
    """With loss_below and validation_loss_below the first met ends the run."""
    body = _notebook(epochs=200, stop={"loss_below": 1.0, "validation_loss_below": 1e-9})
    result = _post(client, "/train", body)
    assert result["status"] == "target_reached"
    assert result["final_loss"] <= 1.0 < result["trace"][-1]["loss"]


STREAMED = {
    "notebook": _notebook(epochs=12, trace={"every": 5}),
    "xor": _xor(),
    "early stopped": _notebook(
        epochs=50, optimizer={"type": "sgd", "learning_rate": 0.0}, stop={"patience": 4}
    ),
    "target": _notebook(epochs=200, stop={"validation_loss_below": 0.1}, trace={"every": 7}),
}


@pytest.mark.parametrize("body", STREAMED.values(), ids=STREAMED.keys())
def test_stream_equals_train(client: TestClient, body: dict[str, Any]) -> None:
    """/train/stream's lines are /train's entries, then its summary, validation fields too."""
    whole = _post(client, "/train", body)
    response = client.post("/train/stream", json=body)
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[:-1] == whole.pop("trace")
    assert lines[-1] == whole


def test_the_client_returns_the_validation_fields() -> None:
    """app.client's models carry the new fields, in /train's answer and in the stream."""
    body = _notebook(epochs=3, stop={"patience": 1})
    client = Client(app=in_process_app())
    answer = client.train(body)
    assert answer.trace[0].validation_loss is not None
    assert answer.final_validation_loss is not None
    assert (answer.status, answer.best_epoch) == ("completed", 3)
    *entries, summary = client.train_stream(body)
    assert [e.validation_loss for e in entries] == [e.validation_loss for e in answer.trace]
    assert summary.final_validation_loss == answer.final_validation_loss
    assert summary.best_epoch == answer.best_epoch


def _problems(client: TestClient, body: dict[str, Any]) -> list[tuple[list[Any], str, str]]:
    response = client.post("/train", json=body)
    assert response.status_code == 422, response.text
    return [(p["loc"], p["type"], p["msg"]) for p in response.json()["detail"]]


INVALID = {
    "inputs row too short": (
        _notebook(validation={"inputs": [[1.0, 2.0, 3.0], [1.0, 2.0]], "targets": [[1.0], [2.0]]}),
        [
            (
                ["body", "validation", "inputs", 1],
                "shape_mismatch",
                "validation.inputs row 1 has 2 numbers but layer 0 expects 3 inputs",
            )
        ],
    ),
    "one sample too long": (
        _notebook(validation={"inputs": [1.0, 2.0, 3.0, 4.0], "targets": [1.0]}),
        [
            (
                ["body", "validation", "inputs"],
                "shape_mismatch",
                "validation.inputs has 4 numbers but layer 0 expects 3 inputs",
            )
        ],
    ),
    "targets too wide": (
        _notebook(validation={"inputs": [[1.0, 2.0, 3.0]], "targets": [[1.0, 2.0]]}),
        [
            (
                ["body", "validation", "targets", 0],
                "shape_mismatch",
                "validation.targets row 0 has 2 numbers but the last layer (layer 1) has 1 output",
            )
        ],
    ),
    "form mismatch": (
        _notebook(validation={"inputs": [[1.0, 2.0, 3.0]], "targets": [1.0]}),
        [
            (
                ["body", "validation", "targets"],
                "shape_mismatch",
                "validation.inputs is a batch (a list of rows), so validation.targets must be a "
                "batch (a list of rows) too",
            )
        ],
    ),
    "row counts differ": (
        _notebook(validation={"inputs": [[1.0, 2.0, 3.0]], "targets": [[1.0], [2.0]]}),
        [
            (
                ["body", "validation", "targets"],
                "shape_mismatch",
                "validation.targets has 2 rows but validation.inputs has 1: one target row per "
                "sample",
            )
        ],
    ),
    "cross-entropy targets not probabilities": (
        _xor(validation={"inputs": [[0.0, 1.0]], "targets": [[0.5, 0.7]]}),
        [
            (
                ["body", "validation", "targets", 0],
                "invalid_target",
                "cross_entropy targets are one-hot or probability rows that sum to 1, but this "
                "row sums to 1.2",
            )
        ],
    ),
    "stop rules without validation": (
        examples.TRAIN | {"stop": {"validation_loss_below": 0.1, "patience": 3}},
        [
            (
                ["body", "stop", "validation_loss_below"],
                "invalid_combination",
                "stop.validation_loss_below reads the validation loss: send validation (inputs "
                "and targets)",
            ),
            (
                ["body", "stop", "patience"],
                "invalid_combination",
                "stop.patience reads the validation loss: send validation (inputs and targets)",
            ),
        ],
    ),
    "include without validation": (
        examples.TRAIN | {"trace": {"include": ["loss", "validation_accuracy"]}},
        [
            (
                ["body", "trace", "include", 1],
                "invalid_combination",
                "validation_accuracy is measured on the validation data: send validation",
            )
        ],
    ),
    "no stop rule": (
        _notebook(stop={"loss_below": None}),
        [
            (
                ["body", "stop"],
                "missing",
                "stop needs at least one of loss_below, validation_loss_below, patience",
            )
        ],
    ),
}


@pytest.mark.parametrize(("body", "expected"), INVALID.values(), ids=INVALID.keys())
@pytest.mark.parametrize("path", ["/train", "/train/stream"])
def test_invalid_validation_is_a_422_naming_the_field(
    client: TestClient, path: str, body: dict[str, Any], expected: list[tuple[Any, ...]]
) -> None:
    """Each mistake is a 422 at its JSON path, in words, on both endpoints."""
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert [(p["loc"], p["type"], p["msg"]) for p in response.json()["detail"]] == expected


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_patience_is_a_positive_integer(client: TestClient, value: Any) -> None:
    """patience 0, negative, fractional or boolean is a 422 at stop.patience."""
    problems = _problems(client, _notebook(stop={"patience": value}))
    assert [loc for loc, _, _ in problems] == [["body", "stop", "patience"]]


def test_validation_counts_in_the_limits(limited_client: Callable[..., TestClient]) -> None:
    """Validation samples count against BACKPROP_MAX_SAMPLES, and their forward passes against
    the work budget: 3 for a sparse trace, 1,001 when stop reads them after every epoch."""
    client = limited_client(BACKPROP_MAX_SAMPLES=3, BACKPROP_MAX_WORK=400_000_000)
    many = {"inputs": [[1.0, 2.0, 3.0]] * 4, "targets": [[1.0]] * 4}
    problems = _problems(client, _notebook(validation=many))
    assert [(loc, kind) for loc, kind, _ in problems] == [
        (["body", "validation", "inputs"], "limit_exceeded")
    ]
    assert "validation samples is 4" in problems[0][2]
    three = {"inputs": [[1.0, 2.0, 3.0]] * 3, "targets": [[1.0]] * 3}
    sparse = {"every": 1000, "include": ["loss"]}
    body = _notebook(epochs=1000, validation=three, trace=sparse)
    assert client.post("/train", json=body).status_code == 200
    watched = client.post("/train", json=body | {"stop": {"patience": 1000}})
    assert watched.status_code == 422
    message = watched.json()["detail"][0]["msg"]
    assert (
        "+ validations × (validation samples × parameters + 80,000 × layers)) is 480,204,033"
        in message
    )


@pytest.mark.parametrize("path", ["/train", "/train/stream"])
def test_the_swagger_example_stops_before_overfitting(client: TestClient, path: str) -> None:
    """Swagger UI's early-stopping example returns epoch 25's network, whose validation loss is
    lower than that of the network the full 2,000 epochs would give."""
    schema = client.get("/openapi.json").json()
    content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    example = content["examples"]["early_stopping"]["value"]
    assert example == examples.EARLY_STOPPING
    stopped = _post(client, "/train", example)
    assert (stopped["status"], stopped["epochs_run"], stopped["best_epoch"]) == (
        "early_stopped",
        75,
        25,
    )
    full = _post(client, "/train", example | {"stop": None})
    assert full["status"] == "completed"
    assert full["final_loss"] < 1e-20 < stopped["final_loss"]
    assert stopped["final_validation_loss"] < full["final_validation_loss"] / 2
