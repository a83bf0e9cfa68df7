"""Clients that never read their answer, or leave before it, against a real server
(`python -m app.server`, one worker): their compute slots, their CPU and their memory come back.

A client socket with a small receive buffer that reads nothing fills the server's write buffer at
once; the send timeout is shortened through the environment, as an operator would set it.
"""

import itertools
import json
import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from app import examples
from app.api.middleware.concurrency import IDLE_TRIM_SECONDS
from tests.server.test_slow_clients import SLACK_SECONDS, _address, _post_head, _rejections
from tests.servers import running_server

SEND_TIMEOUT = 2
LONG_SEND_TIMEOUT = 20
"""A send timeout far longer than a POST takes to find a free slot."""
MiB = 1024 * 1024


def _large_train() -> dict[str, Any]:
    """A /train request whose answer is about 45 MB (a 1-256-1 network's parameters and
    gradients for each of 1,290 epochs, just under the trace limit)."""
    rng = np.random.default_rng(0)
    network = {
        "layers": [
            {"weights": rng.normal(0, 0.1, (256, 1)).tolist(), "bias": [0.0] * 256},
            {"weights": rng.normal(0, 0.1, (1, 256)).tolist(), "bias": [0.0]},
        ]
    }
    network["layers"][0]["activation"], network["layers"][1]["activation"] = "tanh", "identity"
    return {
        "network": network,
        "inputs": [[0.5]],
        "targets": [[0.2]],
        "optimizer": {"type": "sgd", "learning_rate": 0.01},
        "epochs": 1290,
        "trace": {"include": ["loss", "network", "gradients"]},
    }


LARGE_TRAIN = json.dumps(_large_train()).encode()
ENDLESS_STREAM = json.dumps(examples.TRAIN | {"epochs": 1_000_000}).encode()


def _long_train() -> bytes:
    """A /train run no machine finishes within the test (a million epochs of a 1-64-64-1
    network on 100 samples), with the work limit and the deadline raised to let it run."""
    rng = np.random.default_rng(1)
    sizes = [1, 64, 64, 1]
    layers = [
        {
            "weights": rng.normal(0, 0.3, (units, inputs)).tolist(),
            "bias": [0.0] * units,
            "activation": "tanh" if units != 1 else "identity",
        }
        for inputs, units in itertools.pairwise(sizes)
    ]
    samples = np.linspace(-1, 1, 100)
    body = {
        "network": {"layers": layers},
        "inputs": [[x] for x in samples],
        "targets": [[x * x] for x in samples],
        "optimizer": {"type": "sgd", "learning_rate": 0.01},
        "epochs": 1_000_000,
        "trace": {"every": 1_000_000, "include": ["loss"]},
    }
    return json.dumps(body).encode()


LONG_RUN_SETTINGS = {"BACKPROP_MAX_WORK": str(10**15), "BACKPROP_DEADLINE_SECONDS": "600"}


@contextmanager
def _non_reader(url: str, path: str, body: bytes) -> Iterator[socket.socket]:
    """A connection that sends one request and reads nothing of the answer."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(_address(url))
    sock.sendall(_post_head(len(body), path) + body)
    with sock:
        yield sock


def _forward_status(url: str) -> int:
    return httpx.post(f"{url}/forward", json=examples.FORWARD, timeout=10).status_code


def _wait_for_busy(url: str) -> None:
    """Wait until every compute slot is taken (a POST gets 503), failing after 10 s."""
    started = time.monotonic()
    while _forward_status(url) != 503:
        assert time.monotonic() - started < 10, "the slots were never all taken"
        time.sleep(0.1)


def _wait_for_a_slot(url: str, within: float) -> float:
    """Seconds until a POST finds a compute slot free (polling), failing after ``within``."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if _forward_status(url) == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"every compute slot was still held after {within} s")


def _resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError("no VmRSS")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _log_lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def _post_large_train(url: str) -> None:
    """POST the large /train request and read its answer."""
    response = httpx.post(
        f"{url}/train",
        content=LARGE_TRAIN,
        headers={"content-type": "application/json"},
        timeout=120,
    )
    assert response.status_code == 200
    assert len(response.content) > 40 * MiB


def test_streams_nobody_reads_hold_no_slot_and_end_at_the_send_timeout(tmp_path: Path) -> None:
    """Four /train/stream requests whose clients read nothing (as many as there are compute
    slots) hold no slot while they wait on their clients: a POST succeeds long before the send
    timeout aborts them; then each stream is logged as 499 with reason send_timeout and counted
    in the rejections."""
    log = tmp_path / "access.log"
    settings = {"BACKPROP_SEND_TIMEOUT_SECONDS": str(LONG_SEND_TIMEOUT)}
    with ExitStack() as stack, running_server(log, **settings) as (_, url):
        for _ in range(4):
            stack.enter_context(_non_reader(url, "/train/stream", ENDLESS_STREAM))
        time.sleep(1)  # every stream has filled its buffers and waits on its client
        started = time.monotonic()
        for _ in range(8):
            _wait_for_a_slot(url, within=LONG_SEND_TIMEOUT / 2)
        assert time.monotonic() - started < LONG_SEND_TIMEOUT / 2
        assert _rejections(url).get("send_timeout", 0) == 0
        while _rejections(url).get("send_timeout", 0) < 4:
            assert time.monotonic() - started < LONG_SEND_TIMEOUT + 20
            time.sleep(0.2)
    streams = [line for line in _log_lines(log) if line.get("route") == "/train/stream"]
    assert [(line["status"], line.get("reason")) for line in streams] == [(499, "send_timeout")] * 4


def test_large_answers_nobody_reads_are_dropped_after_the_send_timeout(tmp_path: Path) -> None:
    """Four clients that never read a 45 MB /train answer: the answers wait in the server's
    memory (the requests are complete, logged 200, their slots free) until the send timeout
    aborts the connections and frees it; each is then logged and counted as a send_timeout."""
    log = tmp_path / "access.log"
    settings = {"BACKPROP_SEND_TIMEOUT_SECONDS": str(SEND_TIMEOUT)}
    with ExitStack() as stack, running_server(log, **settings) as (server, url):
        assert _forward_status(url) == 200
        idle = _resident_mib(server.pid)
        for _ in range(4):
            stack.enter_context(_non_reader(url, "/train", LARGE_TRAIN))
        peak, started = idle, time.monotonic()
        while time.monotonic() - started < 60 and _rejections(url).get("send_timeout", 0) < 4:
            peak = max(peak, _resident_mib(server.pid))
            time.sleep(0.2)
        assert peak > idle + 100  # the answers were held (4 x 45 MB, partly in socket buffers)
        assert _rejections(url)["send_timeout"] == 4
        time.sleep(1)
        assert _resident_mib(server.pid) < peak - 100
    lines = [line for line in _log_lines(log) if line.get("route") == "/train"]
    assert (
        sorted((line["status"], line.get("reason")) for line in lines)
        == [(200, None)] * 4 + [(499, "send_timeout")] * 4
    )


def test_work_whose_client_has_gone_stops(tmp_path: Path) -> None:
    """Four /train runs and a /train/stream that no machine finishes in time, their clients
    gone after 1 s: the server stops computing (a POST finds a free slot, and the process
    spends next to no CPU), and all five are logged as 499."""
    log = tmp_path / "access.log"
    with running_server(log, **LONG_RUN_SETTINGS) as (server, url):
        body = _long_train()
        with ExitStack() as stack:
            for _ in range(3):
                stack.enter_context(_non_reader(url, "/train", body))
            stack.enter_context(_non_reader(url, "/train/stream", body))
            _wait_for_busy(url)
            time.sleep(1)
        _wait_for_a_slot(url, within=4 * SLACK_SECONDS)
        time.sleep(0.5)
        before = _cpu_seconds(server.pid)
        time.sleep(2)
        assert _cpu_seconds(server.pid) - before < 0.5
    training = {"/train", "/train/stream"}
    gone = [
        (line["route"], line["status"]) for line in _log_lines(log) if line["route"] in training
    ]
    assert sorted(gone) == [("/train", 499)] * 3 + [("/train/stream", 499)]


def test_memory_returns_to_its_idle_size_after_large_requests() -> None:
    """Two rounds of four concurrent 45 MB /train answers, read in full: once the process has
    been idle for IDLE_TRIM_SECONDS its resident memory is back within 20% of what it was idle
    before (plus 10 MiB of slack)."""
    with running_server() as (server, url):
        assert _forward_status(url) == 200
        idle = _resident_mib(server.pid)
        with ThreadPoolExecutor(4) as pool:
            for answer in [pool.submit(_post_large_train, url) for _ in range(8)]:
                answer.result()
        time.sleep(IDLE_TRIM_SECONDS + SLACK_SECONDS)
        assert _resident_mib(server.pid) < idle * 1.2 + 10
