"""Observability: X-Request-ID on every answer, Prometheus metrics that move with the traffic
(also summed over worker processes), and one JSON access-log line per request on stdout."""

import copy
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app import examples
from app.api import metrics
from app.api.metrics import record_training
from app.api.middleware import access_log
from app.main import create_app
from tests.helpers import current_request_id

LOG_KEYS = {
    "time",
    "level",
    "request_id",
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "epochs",
    "client",
}
TIMEOUT = 60  # seconds; generous bounds for waits that normally take milliseconds
ROOT = Path(__file__).resolve().parents[3]


def _forward_body() -> dict[str, Any]:
    return {"network": copy.deepcopy(examples.TRAIN["network"]), "inputs": [-1.0, 2.0, 1.5]}


def _overflowing_body() -> dict[str, Any]:
    body = _forward_body()
    body["network"]["layers"][0]["weights"] = [[1e200, 1e200, 1e200], [1e200, 1e200, 1e200]]
    body["inputs"] = [1e200, 1e200, 1e200]
    return body


def _value(text: str, name: str, **labels: str) -> float:
    """A sample's value in a Prometheus exposition (0 if absent, as for a fresh counter)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def _scrape(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text


def _log_lines(text: str) -> list[dict[str, Any]]:
    """The access-log lines among captured stdout."""
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if "request_id" in line]


def _line_of(text: str, request_id: str) -> dict[str, Any]:
    matching = [line for line in _log_lines(text) if line["request_id"] == request_id]
    assert len(matching) == 1, matching
    return matching[0]


def _app_with_probes() -> FastAPI:
    """The real app plus routes that exercise the hooks training code uses."""
    app = create_app()

    @app.get("/probe/state")
    def state(request: Request) -> dict[str, str | None]:
        return {"state": request.state.request_id, "current": current_request_id()}

    @app.post("/probe/train")
    def train() -> dict[str, str]:
        record_training("diverged", 3)
        return {"status": "diverged"}

    @app.post("/probe/stream")
    def stream() -> Iterator[dict[str, int]]:
        for epoch in range(1, 4):
            yield {"epoch": epoch}
        record_training("completed", 3)

    @app.get("/probe/status/{code}")
    def status(code: int) -> None:
        raise HTTPException(code, "probe")

    @app.get("/probe/crash")
    def crash() -> None:
        raise RuntimeError("probe crash")

    return app


@pytest.fixture
def probed() -> TestClient:
    return TestClient(_app_with_probes())


# --- X-Request-ID ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_id",
    ["abc", "0f8fad5b-d9cb-469f-a165-70867728950e", "svc:req_1.2-3", "a" * 128],
    ids=["short", "uuid", "punctuation", "128 chars"],
)
def test_a_sane_request_id_is_echoed(client: TestClient, request_id: str) -> None:
    response = client.get("/livez", headers={"X-Request-ID": request_id})
    assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize(
    "request_id",
    ["", "a" * 129, "b" * 300, "has space", "new\nline", "semi;colon", 'quote"', b"\xff"],
    ids=["empty", "129 chars", "300 chars", "space", "newline", "semicolon", "quote", "latin-1"],
)
def test_an_insane_request_id_is_replaced(client: TestClient, request_id: str | bytes) -> None:
    response = client.get("/livez", headers={"X-Request-ID": request_id})
    assert re.fullmatch("[0-9a-f]{32}", response.headers["x-request-id"])


def test_without_a_request_id_each_answer_gets_a_new_one(client: TestClient) -> None:
    ids = {client.get("/livez").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(re.fullmatch("[0-9a-f]{32}", request_id) for request_id in ids)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/livez", None, 200),
        ("POST", "/forward", _forward_body(), 200),
        ("GET", "/nowhere", None, 404),
        ("GET", "/forward", None, 405),
        ("POST", "/forward", {"inputs": [1.0]}, 422),
        ("POST", "/forward", _overflowing_body(), 422),
        ("POST", "/train/stream", examples.TRAIN, 200),
        ("GET", "/metrics", None, 200),
    ],
    ids=["livez", "forward", "404", "405", "422", "non-finite 422", "stream", "metrics"],
)
def test_every_answer_carries_the_request_id(
    client: TestClient, method: str, path: str, body: Any, status: int
) -> None:
    response = client.request(method, path, json=body, headers={"X-Request-ID": "trace-42"})
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"] == "trace-42"


def test_a_413_carries_the_request_id(limited_client: Callable[..., TestClient]) -> None:
    client = limited_client(BACKPROP_MAX_BODY_BYTES=100)
    response = client.post("/forward", json=_forward_body(), headers={"X-Request-ID": "big-1"})
    assert response.status_code == 413
    assert response.headers["x-request-id"] == "big-1"


def test_handlers_see_the_request_id(probed: TestClient) -> None:
    response = probed.get("/probe/state", headers={"X-Request-ID": "seen-1"})
    assert response.json() == {"state": "seen-1", "current": "seen-1"}
    assert current_request_id() is None


def test_an_unexpected_error_is_a_json_500_with_the_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = TestClient(_app_with_probes(), raise_server_exceptions=False)
    response = client.get("/probe/crash", headers={"X-Request-ID": "crash-1"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert response.headers["x-request-id"] == "crash-1"
    # The server closes the connection after an exception: the answer says so.
    assert response.headers["connection"] == "close"
    line = _line_of(capsys.readouterr().out, "crash-1")
    assert (line["status"], line["level"], line["route"]) == (500, "error", "/probe/crash")


# --- /metrics --------------------------------------------------------------------------------


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {
        family.name: family.type for family in text_string_to_metric_families(response.text)
    }
    assert families["backprop_requests"] == "counter"
    assert families["backprop_request_duration_seconds"] == "histogram"
    assert families["backprop_epochs_trained"] == "counter"
    assert families["backprop_training_runs"] == "counter"
    assert families["backprop_rejected_requests"] == "counter"


def test_metrics_are_documented_as_text(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/metrics"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"text/plain"}


def test_every_outcome_and_reason_is_exposed_from_the_start(client: TestClient) -> None:
    text = _scrape(client)
    for status in metrics.TRAINING_STATUSES:
        assert f'backprop_training_runs_total{{status="{status}"}}' in text
    for reason in metrics.REJECTION_REASONS:
        assert f'backprop_rejected_requests_total{{reason="{reason}"}}' in text


def test_request_counts_and_latency_move_by_the_number_of_calls(client: TestClient) -> None:
    labels = {"route": "/forward", "method": "POST"}
    before = _scrape(client)
    calls = 3
    for _ in range(calls):
        assert client.post("/forward", json=_forward_body()).status_code == 200
    after = _scrape(client)

    def moved(name: str, **extra: str) -> float:
        return _value(after, name, **labels, **extra) - _value(before, name, **labels, **extra)

    assert moved("backprop_requests_total", status="200") == calls
    assert moved("backprop_request_duration_seconds_count") == calls
    assert moved("backprop_request_duration_seconds_bucket", le="+Inf") == calls
    assert moved("backprop_request_duration_seconds_bucket", le="60.0") == calls
    assert 0 < moved("backprop_request_duration_seconds_sum") < calls * TIMEOUT


@pytest.mark.parametrize(
    ("path", "route", "status"),
    [
        ("/nowhere/12345", "unmatched", "404"),
        ("/docs", "/docs", "200"),
        ("/static/favicon.svg", "/static", "200"),
        ("/static/nowhere/12345", "/static", "404"),
    ],
    ids=["unknown", "docs", "static file", "unknown static file"],
)
def test_routes_are_labelled_by_template(
    client: TestClient, path: str, route: str, status: str
) -> None:
    labels = {"route": route, "method": "GET", "status": status}
    before = _value(_scrape(client), "backprop_requests_total", **labels)
    assert str(client.get(path).status_code) == status
    after = _scrape(client)
    assert _value(after, "backprop_requests_total", **labels) - before == 1
    assert "/nowhere" not in after


@pytest.mark.parametrize(
    ("body", "reason"),
    [({"inputs": [1.0]}, "validation"), (_overflowing_body(), "non_finite")],
    ids=["validation", "non_finite"],
)
def test_a_422_counts_as_a_rejection_by_reason(
    client: TestClient, body: dict[str, Any], reason: str
) -> None:
    before = _scrape(client)
    response = client.post("/forward", json=body)
    assert response.status_code == 422
    after = _scrape(client)
    for each in metrics.REJECTION_REASONS:
        moved = _value(after, "backprop_rejected_requests_total", reason=each) - _value(
            before, "backprop_rejected_requests_total", reason=each
        )
        assert moved == (1 if each == reason else 0), each


def test_a_413_counts_as_body_too_large(limited_client: Callable[..., TestClient]) -> None:
    client = limited_client(BACKPROP_MAX_BODY_BYTES=100)
    name, labels = "backprop_rejected_requests_total", {"reason": "body_too_large"}
    before = _value(_scrape(client), name, **labels)
    assert client.post("/forward", json=_forward_body()).status_code == 413
    assert _value(_scrape(client), name, **labels) - before == 1


def test_a_503_counts_as_busy(probed: TestClient) -> None:
    name, labels = "backprop_rejected_requests_total", {"reason": "busy"}
    before = _value(_scrape(probed), name, **labels)
    assert probed.get("/probe/status/503").status_code == 503
    assert probed.get("/probe/status/409").status_code == 409
    assert _value(_scrape(probed), name, **labels) - before == 1


def test_a_request_refused_before_routing_keeps_its_route(
    limited_client: Callable[..., TestClient],
) -> None:
    """The concurrency cap answers 503 before routing; the label is still the route's."""
    limited_client(BACKPROP_MAX_CONCURRENT=1)  # sets the limit for the app built next
    app = _app_with_probes()
    entered, release = threading.Event(), threading.Event()

    @app.post("/probe/hold")
    def hold() -> dict[str, bool]:
        entered.set()
        return {"released": release.wait(TIMEOUT)}

    with TestClient(app) as client:
        before = _scrape(client)
        holder = threading.Thread(target=client.post, args=("/probe/hold",))
        holder.start()
        try:
            assert entered.wait(TIMEOUT)
            assert client.post("/forward", json=_forward_body()).status_code == 503
        finally:
            release.set()
            holder.join(TIMEOUT)
        after = _scrape(client)
    labels = {"route": "/forward", "method": "POST", "status": "503"}
    name = "backprop_requests_total"
    assert _value(after, name, **labels) - _value(before, name, **labels) == 1
    reason = {"reason": "busy"}
    rejected = "backprop_rejected_requests_total"
    assert _value(after, rejected, **reason) - _value(before, rejected, **reason) == 1


def test_record_training_counts_runs_and_epochs(client: TestClient) -> None:
    before = _scrape(client)
    record_training("target_reached", 12)
    record_training("target_reached", 5)
    record_training("deadline_exceeded", 1)
    after = _scrape(client)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("backprop_epochs_trained_total") == 18
    assert moved("backprop_training_runs_total", status="target_reached") == 2
    assert moved("backprop_training_runs_total", status="deadline_exceeded") == 1
    assert moved("backprop_training_runs_total", status="completed") == 0


def test_metrics_failures_never_break_an_answer(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def labels(self, *args: str) -> None:
            raise RuntimeError("metrics backend down")

        def inc(self, amount: float = 1) -> None:
            raise RuntimeError("metrics backend down")

    for name in ("REQUESTS", "DURATION", "REJECTIONS", "TRAINING_RUNS", "EPOCHS"):
        monkeypatch.setattr(metrics, name, Broken())
    metrics._request_metrics.cache_clear()  # so that the broken metrics are asked
    response = client.post("/forward", json={}, headers={"X-Request-ID": "still-1"})
    assert response.status_code == 422
    assert response.headers["x-request-id"] == "still-1"
    record_training("completed", 1)


def test_logging_failures_never_break_an_answer(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def log(self, *args: Any, **kwargs: Any) -> None:
            raise OSError("stdout closed")

    monkeypatch.setattr(access_log, "access_log", Broken())
    response = client.get("/livez", headers={"X-Request-ID": "still-2"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "still-2"


def test_workers_metrics_are_summed_in_multiprocess_mode(tmp_path: Path) -> None:
    """Two worker processes count into PROMETHEUS_MULTIPROC_DIR; a third scrape sees the sums."""
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from app.api.metrics import record_training\n"
        "from app.main import create_app\n"
        "calls, epochs = int(sys.argv[1]), int(sys.argv[2])\n"
        "client = TestClient(create_app())\n"
        "for _ in range(calls):\n"
        "    assert client.get('/livez').status_code == 200\n"
        "record_training('completed', epochs)\n"
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", worker, str(calls), str(epochs)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for calls, epochs in [(2, 10), (3, 7)]
    ]
    for process in workers:
        _, stderr = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, stderr
    assert len(list(tmp_path.glob("counter_*.db"))) >= 2
    scrape = subprocess.run(
        [
            sys.executable,
            "-c",
            "from app.api.metrics import exposition as e; print(e().decode())",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    text = scrape.stdout
    livez = {"route": "/livez", "method": "GET"}
    assert _value(text, "backprop_requests_total", status="200", **livez) == 5
    assert _value(text, "backprop_request_duration_seconds_count", **livez) == 5
    assert _value(text, "backprop_epochs_trained_total") == 17
    assert _value(text, "backprop_training_runs_total", status="completed") == 2


# --- access log ------------------------------------------------------------------------------


def test_one_json_line_per_request(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    response = client.get("/livez", headers={"X-Request-ID": "log-1"})
    lines = _log_lines(capsys.readouterr().out)
    assert len(lines) == 1
    line = lines[0]
    assert set(line) == LOG_KEYS
    assert line["request_id"] == response.headers["x-request-id"] == "log-1"
    assert (line["level"], line["method"], line["route"], line["path"]) == (
        "info",
        "GET",
        "/livez",
        "/livez",
    )
    assert line["status"] == 200
    assert 0 <= line["duration_ms"] < TIMEOUT * 1000
    assert line["epochs"] is None
    assert line["client"] == "testclient:50000"
    assert line["time"].endswith("+00:00")


@pytest.mark.parametrize(
    ("method", "path", "body", "route", "status"),
    [
        ("POST", "/forward", {"inputs": [1.0]}, "/forward", 422),
        ("GET", "/nowhere/at/all", None, "unmatched", 404),
        ("POST", "/train/stream", examples.TRAIN, "/train/stream", 200),
    ],
    ids=["422", "404", "stream"],
)
def test_the_line_names_route_template_path_and_status(
    client: TestClient,
    capsys: pytest.CaptureFixture[str],
    method: str,
    path: str,
    body: Any,
    route: str,
    status: int,
) -> None:
    response = client.request(method, path, json=body)
    line = _line_of(capsys.readouterr().out, response.headers["x-request-id"])
    assert (line["route"], line["path"], line["status"]) == (route, path, status)


def test_the_line_carries_the_epochs_trained(
    probed: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = probed.post("/probe/train", headers={"X-Request-ID": "epochs-1"})
    assert response.status_code == 200
    assert _line_of(capsys.readouterr().out, "epochs-1")["epochs"] == 3


def test_a_stream_is_logged_when_it_ends(
    probed: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """The generator records its epochs after its last item: the line, written later, has them."""
    response = probed.post("/probe/stream", headers={"X-Request-ID": "stream-1"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "stream-1"
    assert [json.loads(line) for line in response.text.splitlines()] == [
        {"epoch": 1},
        {"epoch": 2},
        {"epoch": 3},
    ]
    line = _line_of(capsys.readouterr().out, "stream-1")
    assert (line["route"], line["status"], line["epochs"]) == ("/probe/stream", 200, 3)


def test_building_the_app_again_adds_no_second_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for _ in range(3):
        create_app()
    TestClient(create_app()).get("/livez", headers={"X-Request-ID": "once-1"})
    assert capsys.readouterr().out.count('"request_id":"once-1"') == 1


@pytest.mark.parametrize("path", ["/train", "/train/stream"])
def test_training_endpoints_count_epochs_and_outcomes(client: TestClient, path: str) -> None:
    """A 10-epoch run adds 10 epochs and one completed run; a diverged one adds its own status."""
    before = _scrape(client)
    assert client.post(path, json=examples.TRAIN).status_code == 200
    diverging = examples.TRAIN | {"optimizer": {"type": "sgd", "learning_rate": 1e150}}
    assert client.post(path, json=diverging).status_code == 200
    after = _scrape(client)
    epochs = "backprop_epochs_trained_total"
    runs = "backprop_training_runs_total"
    assert _value(after, epochs) - _value(before, epochs) == 10
    assert _value(after, runs, status="completed") - _value(before, runs, status="completed") == 1
    assert _value(after, runs, status="diverged") - _value(before, runs, status="diverged") == 1


def test_the_schema_is_built_when_the_app_starts() -> None:
    """A request refused before routing (a body's 408) is labelled from the OpenAPI schema: the
    app's startup builds it, so that no request waits on the event loop while it is built."""
    app = create_app()
    assert app.openapi_schema is None
    with TestClient(app):
        assert app.openapi_schema is not None
