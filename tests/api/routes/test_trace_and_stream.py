"""Trace control on /train and the JSON Lines stream of /train/stream."""

import asyncio
import copy
import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

import app.api.routes.training as training_api
from app import examples
from app.main import create_app
from app.nn.training import EpochRecord, Run
from app.schemas.training import StreamTrainRequest


def _body(**changes: Any) -> dict[str, Any]:
    return copy.deepcopy(examples.TRAIN) | changes


def _train(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/train", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _stream(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/train/stream", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jsonl")
    assert response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


@pytest.mark.parametrize(
    ("epochs", "every", "expected"),
    [(10, 1, list(range(1, 11))), (10, 3, [1, 4, 7, 10]), (10, 4, [1, 5, 9, 10]), (1, 5, [1])],
)
def test_every_records_the_grid_and_the_last_epoch(
    client: TestClient, epochs: int, every: int, expected: list[int]
) -> None:
    """Epochs 1, 1+k, 1+2k, … and always the last one."""
    body = _train(client, _body(epochs=epochs, trace={"every": every}))
    assert [entry["epoch"] for entry in body["trace"]] == expected


def test_recorded_entries_equal_the_full_trace(client: TestClient) -> None:
    """A sparse trace holds exactly the full trace's entries for those epochs."""
    full = _train(client, _body(epochs=12))["trace"]
    sparse = _train(client, _body(epochs=12, trace={"every": 5}))["trace"]
    assert sparse == [full[0], full[5], full[10], full[11]]


INCLUDED_AND_KEPT = [
    ([], set()),
    (["loss"], set()),
    (["accuracy"], {"outputs"}),
    (["loss", "outputs"], {"outputs"}),
    (["outputs", "layers"], {"outputs", "layers"}),
    (["gradients"], {"gradients"}),
    (["network", "loss"], {"network"}),
]


@pytest.mark.parametrize("path", ["/train", "/train/stream"])
@pytest.mark.parametrize(("include", "kept"), INCLUDED_AND_KEPT)
def test_the_engine_keeps_only_what_include_needs(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    include: list[str],
    kept: set[str],
) -> None:
    """The engine's records keep only the parts the included fields are computed from."""
    asked: list[set[str]] = []

    def spying_train(*args: Any, **kwargs: Any) -> Run:
        asked.append(set(kwargs["keep"]))
        return real_train(*args, **kwargs)

    real_train = training_api.train
    monkeypatch.setattr(training_api, "train", spying_train)
    response = client.post(path, json=_body(epochs=3, trace={"include": include}))
    assert response.status_code == 200, response.text
    assert asked == [kept]


def test_include_keeps_only_the_listed_fields(client: TestClient) -> None:
    """Each entry has epoch plus the included fields, nothing else; the summary is untouched."""
    body = _train(client, _body(trace={"include": ["loss", "network"]}))
    assert all(set(entry) == {"epoch", "loss", "network"} for entry in body["trace"])
    assert body["network"] == body["trace"][-1]["network"]
    only_epochs = _train(client, _body(trace={"include": []}))
    assert only_epochs["trace"] == [{"epoch": e} for e in range(1, 11)]


def test_last_entry_of_an_early_stop_is_recorded(client: TestClient) -> None:
    """With stop and every > 1, the epoch that reached the target is still in the trace."""
    body = _train(client, _body(epochs=100, stop={"loss_below": 1.0}, trace={"every": 3}))
    assert body["status"] == "target_reached"
    assert body["trace"][-1]["epoch"] == body["epochs_run"]


def test_trace_limit_counts_only_recorded_values(
    limited_client: Callable[..., TestClient],
) -> None:
    """Long runs fit the trace limit when only a few numbers are recorded."""
    client = limited_client(BACKPROP_MAX_TRACE_VALUES=500)
    sparse = _body(epochs=2000, trace={"every": 1000, "include": ["loss"]})
    assert client.post("/train", json=sparse).status_code == 200
    full = client.post("/train", json=_body(epochs=2000))
    assert full.status_code == 422
    assert "BACKPROP_MAX_TRACE_VALUES" in full.json()["detail"][0]["msg"]


# A linear network that SGD at 0.3 blows up after five finite epochs.
MID_RUN_DIVERGENCE: dict[str, Any] = {
    "network": {
        "layers": [
            {"weights": [[1.0, 1.0], [1.0, -1.0]], "bias": [0.0, 0.0], "activation": "identity"},
            {"weights": [[1.0, 1.0]], "bias": [0.0], "activation": "identity"},
        ]
    },
    "inputs": [[3.0, 1.0], [1.0, 2.0]],
    "targets": [[1.0], [2.0]],
    "optimizer": {"type": "sgd", "learning_rate": 0.3},
    "epochs": 2000,
    "trace": {"every": 2},
}

TRACE_SETTINGS = [
    {},
    {"trace": {"every": 3}},
    {"trace": {"every": 4, "include": ["loss", "gradients"]}},
    {"optimizer": {"type": "adam", "learning_rate": 0.05}, "trace": {"include": ["accuracy"]}},
    {"stop": {"loss_below": 1.0}, "epochs": 50},
    {"optimizer": {"type": "sgd", "learning_rate": 1e150}},
    MID_RUN_DIVERGENCE,
    {
        "inputs": [[-1.0, 2.0, 1.5], [1.0, 0.0, 0.0], [0.5, 0.5, 0.5]],
        "targets": [[1.0], [0.0], [2.0]],
        "batch_size": 2,
        "shuffle": True,
        "seed": 3,
    },
]


@pytest.mark.parametrize("changes", TRACE_SETTINGS, ids=lambda c: json.dumps(c)[:60])
def test_stream_equals_train(client: TestClient, changes: dict[str, Any]) -> None:
    """The stream's lines are /train's trace entries, then its summary (all but the trace)."""
    body = _body(**changes)
    whole = _train(client, body)
    lines = _stream(client, body)
    assert lines[:-1] == whole["trace"]
    summary = whole | {}
    del summary["trace"]
    assert lines[-1] == summary


def test_divergence_mid_stream_ends_with_the_summary(client: TestClient) -> None:
    """Five finite epochs stream out, then the summary says where training diverged."""
    lines = _stream(client, _body(**MID_RUN_DIVERGENCE))
    assert [line["epoch"] for line in lines[:-1]] == [1, 3, 5]
    assert lines[-1]["status"] == "diverged"
    assert lines[-1]["diverged_at_epoch"] == 6
    assert lines[-1]["epochs_run"] == 5


def test_stream_errors_come_before_the_stream(client: TestClient) -> None:
    """Invalid bodies and non-finite initial networks are a 422, not a broken stream."""
    invalid = client.post("/train/stream", json=_body(epochs=0))
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "epochs"]
    huge = _body(inputs=[1e300, 1e300, 1e300])
    huge["network"]["layers"][0]["weights"] = [[1e300, 1e300, 1e300], [0.0, 0.0, 0.0]]
    overflow = client.post("/train/stream", json=huge)
    assert overflow.status_code == 422
    assert overflow.json()["detail"][0]["type"] == "non_finite"


def test_stream_has_its_own_work_budget(limited_client: Callable[..., TestClient]) -> None:
    """A stream's work is bounded by BACKPROP_MAX_STREAM_WORK, /train's by BACKPROP_MAX_WORK."""
    client = limited_client(BACKPROP_MAX_WORK=10_000_000, BACKPROP_MAX_STREAM_WORK=100_000_000)
    body = _body(epochs=100, trace={"every": 100, "include": ["loss"]})
    assert client.post("/train", json=body).status_code == 422
    assert client.post("/train/stream", json=body).status_code == 200
    too_long = client.post("/train/stream", json=_body(epochs=1000))
    assert too_long.status_code == 422
    assert "BACKPROP_MAX_STREAM_WORK" in too_long.json()["detail"][0]["msg"]


def test_stream_memory_stays_flat(client: TestClient) -> None:
    """Traced memory after 2,000 streamed epochs is within 1 MB of that after 200.

    Holding the entries would take a few KB each (several MB here).
    """
    body = _body(epochs=2000)
    tracemalloc.start()
    try:
        with client.stream("POST", "/train/stream", json=body) as response:
            for index, _ in enumerate(response.iter_lines()):
                if index == 200:
                    early, _peak = tracemalloc.get_traced_memory()
            late, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert index == 2000  # 2,000 entries and the summary line
    assert late - early < 1_000_000


def test_disconnect_stops_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that goes away after 5 chunks stops a million-epoch run: the stream computes its
    lines a batch at a time, sends each batch, and no epoch runs after the send that failed."""
    epochs_run, epochs_at_failure = 0, None

    def counting_entry(run: training_api.TrainingRun, record: EpochRecord) -> bytes:
        nonlocal epochs_run
        epochs_run += 1
        return real_entry(run, record)

    real_entry = training_api._entry
    monkeypatch.setattr(training_api, "_entry", counting_entry)
    body = json.dumps(_body(epochs=1_000_000)).encode()
    chunks_sent = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal chunks_sent, epochs_at_failure
        if message["type"] == "http.response.body" and message.get("body"):
            chunks_sent += 1
            if chunks_sent > 5:
                epochs_at_failure = epochs_run
                raise OSError("client went away")  # what uvicorn's send does (ASGI 2.4)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/train/stream",
        "raw_path": b"/train/stream",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("test", 80),
        "client": ("test", 1),
        "headers": [(b"content-type", b"application/json")],
    }
    app = create_app()
    with pytest.raises(Exception):  # noqa: B017, PT011 - Starlette reports the disconnect its own way
        asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=60))
    assert epochs_at_failure is not None
    assert 6 <= epochs_run == epochs_at_failure < 100_000


def _first_trip(body: dict[str, Any]) -> list[int]:
    """The epochs of the lines that a stream's first trip to the thread pool sends."""
    run = training_api.start(StreamTrainRequest.model_validate(body))
    chunk = training_api._next_lines(run, training_api._lines(run))
    return [json.loads(line)["epoch"] for line in chunk.splitlines()]


def test_a_sparse_stream_sends_each_line_as_it_is_computed(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a record every 50,000 epochs the first trip sends epoch 1's line at once rather than
    holding it until epoch 50,001's is computed; a dense trace still sends many lines a trip.
    The stream's clock advances 10 µs a reading, so that the pace it judges by is the same on
    every machine, however loaded (a real 10 ms trip could end after one line of the dense
    trace)."""
    readings = iter(range(10**9))
    monkeypatch.setattr(training_api, "perf_counter", lambda: next(readings) * 1e-5)
    sparse = _body(epochs=100_000, trace={"every": 50_000, "include": ["loss"]})
    assert _first_trip(sparse) == [1]
    dense = _first_trip(_body(epochs=2_000, trace={"every": 1, "include": ["loss"]}))
    assert dense[:3] == [1, 2, 3]
