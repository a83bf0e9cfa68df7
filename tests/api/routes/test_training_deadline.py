"""The training deadline (BACKPROP_DEADLINE_SECONDS): a run past it ends with what it computed,
checked after every epoch and every batch, on a fake clock and in real time."""

import copy
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

import app.api.routes.training as training_api
import app.nn.training as training_engine
from app import examples
from app.schemas.base import MAX_COUNT

LONG = copy.deepcopy(examples.TRAIN) | {
    "epochs": 1000,
    "trace": {"every": 100, "include": ["loss"]},
}


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The request starts at t = 0 and every check of the engine's clock advances it by 1 s."""
    ticks = iter(range(1, 10**9))
    monkeypatch.setattr(training_api, "monotonic", lambda: 0.0)
    monkeypatch.setattr(training_engine, "monotonic", lambda: float(next(ticks)))


@pytest.mark.usefixtures("fake_clock")
def test_deadline_ends_training_with_what_was_computed(client: TestClient) -> None:
    """With the default 30 s deadline and a clock at 1 s per epoch, training stops at epoch 30."""
    body = client.post("/train", json=LONG).json()
    assert body["status"] == "deadline_exceeded"
    assert body["epochs_run"] == 30
    assert [entry["epoch"] for entry in body["trace"]] == [1, 30]
    assert body["optimizer_state"]["epoch"] == 30
    resumed = client.post("/loss", json=examples.LOSS | {"network": body["network"]}).json()
    assert resumed["loss"] == body["final_loss"]


@pytest.mark.usefixtures("fake_clock")
def test_deadline_ends_a_stream_with_its_summary(client: TestClient) -> None:
    """The stream's last line is the summary with status deadline_exceeded."""
    lines = client.post("/train/stream", json=LONG).text.splitlines()
    summary = json.loads(lines[-1])
    assert summary["status"] == "deadline_exceeded"
    assert summary["epochs_run"] == 30
    assert json.loads(lines[-2])["epoch"] == 30


def test_deadline_in_real_time(limited_client: Callable[..., TestClient]) -> None:
    """A run of as many epochs as a request may ask for, with the epoch and work limits raised to
    2**53 epochs (more than any machine runs in a year), under the shortest deadline (1 s): it
    comes back early, cut by the deadline whatever the machine's speed."""
    epochs = MAX_COUNT
    client = limited_client(
        BACKPROP_DEADLINE_SECONDS=1, BACKPROP_MAX_EPOCHS=epochs, BACKPROP_MAX_WORK=10**24
    )
    request = LONG | {"epochs": epochs, "trace": {"every": epochs, "include": ["loss"]}}
    started = time.monotonic()
    body = client.post("/train", json=request).json()
    assert body["status"] == "deadline_exceeded"
    assert 0 < body["epochs_run"] < epochs
    assert time.monotonic() - started < 10


def _one_long_epoch(width: int) -> dict[str, Any]:
    """One epoch of 10,000 batches of one sample (BACKPROP_MAX_SAMPLES' default) through a
    1-width-width-1 tanh network with AdamW and AMSGrad."""
    rng = np.random.default_rng(0)

    def layer(units: int, inputs: int, activation: str) -> dict[str, Any]:
        weights = np.round(rng.normal(0, 1 / inputs**0.5, (units, inputs)), 3)
        return {"weights": weights.tolist(), "bias": [0.0] * units, "activation": activation}

    x = np.linspace(-1, 1, 10_000)
    return {
        "network": {
            "layers": [
                layer(width, 1, "tanh"),
                layer(width, width, "tanh"),
                layer(1, width, "identity"),
            ]
        },
        "inputs": [[v] for v in x.tolist()],
        "targets": [[v] for v in np.sin(3 * x).tolist()],
        "optimizer": {"type": "adamw", "learning_rate": 0.001, "amsgrad": True},
        "epochs": 1,
        "batch_size": 1,
        "trace": {"include": ["loss"]},
    }


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The engine's batches counted as they run (each computes its gradients once)."""
    count = [0]
    gradients = training_engine.Workspace.gradients

    def counted(*args: Any) -> Any:
        count[0] += 1
        return gradients(*args)

    monkeypatch.setattr(training_engine.Workspace, "gradients", counted)
    return count


def test_the_deadline_cuts_a_long_epoch(
    limited_client: Callable[..., TestClient], batches: list[int]
) -> None:
    """An epoch of 10,000 batches under a 1 s deadline: the run stops between two batches, long
    before the epoch's end (counted), and answers the network it was sent, its loss and no epoch
    run, as if the cut epoch had not started. With the answer's size limit out of the way, at
    width 724 (a 4 MB body) each batch's update streams AdamW's buffers of half a million
    parameters (4 MB each) through memory, about a millisecond on the fastest machine: the epoch
    is ten seconds of work or more, never done in 1 s."""
    client = limited_client(BACKPROP_DEADLINE_SECONDS=1, BACKPROP_MAX_TRACE_VALUES=10**15)
    request = _one_long_epoch(724)
    response = client.post("/train", json=request)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["epochs_run"], body["trace"]) == ("deadline_exceeded", 0, [])
    assert 0 < batches[0] < 10_000
    assert body["network"] == request["network"]
    assert (body["optimizer_state"]["step"], body["optimizer_state"]["epoch"]) == (0, 0)
    untrained = client.post("/train", json=request | {"stop": {"loss_below": 1e300}}).json()
    assert body["final_loss"] == untrained["final_loss"]


@pytest.mark.usefixtures("fake_clock")
def test_the_deadline_is_checked_after_every_batch(client: TestClient, batches: list[int]) -> None:
    """With a clock at 1 s per check, a stream's epoch of 100 batches stops after batch 30 of the
    default 30 s deadline: exactly 30 batches run, and the summary has no epoch run."""
    request = examples.TRAIN | {
        "inputs": [examples.TRAIN["inputs"]] * 100,
        "targets": [examples.TRAIN["targets"]] * 100,
        "epochs": 3,
        "batch_size": 1,
    }
    lines = client.post("/train/stream", json=request).text.splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert (summary["status"], summary["epochs_run"]) == ("deadline_exceeded", 0)
    assert summary["network"] == examples.TRAIN["network"]
    assert batches[0] == 30
