"""Slow, stalled and idle clients against a real server (`python -m app.server`, one worker).

A client still sending its body holds no compute slot, and the server times it out with a 408;
connections that never finish their request head are closed; each worker bounds its connections.
The timeouts are shortened through the environment, as an operator would set them.
"""

import json
import re
import resource
import select
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from app import examples
from tests.servers import running_server

FORWARD = json.dumps(examples.FORWARD).encode()
NOTEBOOK_OUTPUTS = [-0.8850000000000001]
SLACK_SECONDS = 3.0
"""Room for a busy machine between a timeout and the moment the test sees its effect."""


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _connect(url: str, *data: bytes) -> socket.socket:
    sock = socket.create_connection(_address(url), timeout=10)
    for chunk in data:
        sock.sendall(chunk)
    return sock


def _post_head(length: int, path: str = "/forward") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _answer(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """Everything the server sends until it closes the connection: status, headers, body."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0] else 0
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return status, headers, body


def _forward_works(url: str) -> None:
    response = httpx.post(f"{url}/forward", json=examples.FORWARD, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"] == NOTEBOOK_OUTPUTS


def _rejections(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = re.findall(r'backprop_rejected_requests_total\{reason="(\w+)"\} ([\d.e+]+)', text)
    return {reason: float(value) for reason, value in found}


@contextmanager
def _open_files(count: int) -> Iterator[None]:
    """Let this process hold ``count`` more sockets than it may by default."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 256
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize("slow", [8, 50])
def test_slow_bodies_hold_no_slot_and_get_a_408(slow: int) -> None:
    """`slow` connections stall in their body (twice the 4 compute slots and more): /forward
    from another client still answers 200, and each slow one gets a 408 and a closed connection
    within BACKPROP_BODY_TIMEOUT_SECONDS."""
    with ExitStack() as stack, running_server(BACKPROP_BODY_TIMEOUT_SECONDS="2") as (_, url):
        started = time.monotonic()
        socks = [stack.enter_context(_connect(url, _post_head(5000), b'{"ne')) for _ in range(slow)]
        time.sleep(0.5)
        _forward_works(url)
        assert httpx.get(f"{url}/livez", timeout=10).status_code == 200
        for sock in socks:
            status, headers, body = _answer(sock, timeout=2 + SLACK_SECONDS)
            assert status == 408
            assert headers["connection"] == "close"
            detail = json.loads(body)["detail"]
            assert detail.startswith("The request body came too slowly: 4 bytes in 2.")
            assert "may pause for at most 2 s (set by BACKPROP_BODY_TIMEOUT_SECONDS)" in detail
        assert time.monotonic() - started < 2 + SLACK_SECONDS
        _forward_works(url)


def test_a_slow_but_steady_body_succeeds() -> None:
    """A 6,000-byte body in 600-byte pieces every 0.4 s (4 s in all, over the 1 s pause limit
    but never pausing that long, and faster than 1,000 bytes/s) gets its answer."""
    body = FORWARD.ljust(6000)
    settings = {"BACKPROP_BODY_TIMEOUT_SECONDS": "1", "BACKPROP_BODY_MIN_RATE": "1000"}
    with running_server(**settings) as (_, url), _connect(url, _post_head(len(body))) as sock:
        started = time.monotonic()
        for offset in range(0, len(body), 600):
            time.sleep(0.4)
            sock.sendall(body[offset : offset + 600])
        sock.shutdown(socket.SHUT_WR)
        status, _, answer = _answer(sock, timeout=10)
        assert time.monotonic() - started > 3.5
    assert status == 200
    assert json.loads(answer)["outputs"] == NOTEBOOK_OUTPUTS


def test_a_trickling_body_gets_a_408_for_its_pace() -> None:
    """100 bytes every 0.3 s (about 330 bytes/s) never pauses 1 s, but is under the minimum
    rate of 1,000 bytes/s: past the first second's allowance it gets a 408 naming the rate."""
    settings = {"BACKPROP_BODY_TIMEOUT_SECONDS": "1", "BACKPROP_BODY_MIN_RATE": "1000"}
    with running_server(**settings) as (_, url), _connect(url, _post_head(20_000)) as sock:
        started = time.monotonic()
        while not select.select([sock], [], [], 0.3)[0] and time.monotonic() - started < 10:
            sock.sendall(b" " * 100)
        status, _, answer = _answer(sock, timeout=10)
        elapsed = time.monotonic() - started
    assert status == 408
    detail = json.loads(answer)["detail"]
    assert "at 1,000 bytes per second or faster (set by BACKPROP_BODY_MIN_RATE)" in detail
    # At 330 bytes/s the allowance (1 s + bytes / 1,000) runs out after about 1.5 s.
    assert 1.2 < elapsed < 1.5 + SLACK_SECONDS


def test_partial_headers_are_closed_while_the_service_answers() -> None:
    """1,000 connections that never finish their headers and 20 that send nothing: /livez and
    /forward keep answering; the partial ones get a 408 and the idle ones are closed silently,
    within BACKPROP_HEADER_TIMEOUT_SECONDS."""
    partial = b"POST /forward HTTP/1.1\r\nHost: test\r\nContent-Le"
    with (
        _open_files(1100),
        ExitStack() as stack,
        running_server(BACKPROP_HEADER_TIMEOUT_SECONDS="4") as (_, url),
    ):
        started = time.monotonic()
        heads = [stack.enter_context(_connect(url, partial)) for _ in range(1000)]
        idle = [stack.enter_context(_connect(url)) for _ in range(20)]
        assert time.monotonic() - started < 4, "opening the connections took the whole timeout"
        assert httpx.get(f"{url}/livez", timeout=10).status_code == 200
        _forward_works(url)
        answers = [_answer(sock, timeout=4 + SLACK_SECONDS) for sock in heads]
        silences = [_answer(sock, timeout=4 + SLACK_SECONDS) for sock in idle]
        assert time.monotonic() - started < 4 + SLACK_SECONDS
        assert {status for status, _, _ in answers} == {408}
        detail = json.loads(answers[0][2])["detail"]
        assert "was not complete within 4 s (set by BACKPROP_HEADER_TIMEOUT_SECONDS)" in detail
        assert silences == [(0, {}, b"")] * 20
        _forward_works(url)
        assert _rejections(url)["header_timeout"] == 1000


def test_a_long_request_is_not_cut_by_the_header_timeout() -> None:
    """The head timer stops once the head is complete: a stream that lasts until its 3 s
    deadline (a million epochs of a 3-64-64-1 network on 100 samples, which no machine finishes
    in time) under a 1 s header timeout ends with its summary, and the keep-alive connection
    serves the next request."""
    rng = np.random.default_rng(0)
    layers = [
        {"weights": rng.normal(0, 0.3, (units, inputs)).tolist(), "bias": [0.0] * units}
        | {"activation": activation}
        for inputs, units, activation in ((3, 64, "tanh"), (64, 64, "tanh"), (64, 1, "identity"))
    ]
    body = {
        "network": {"layers": layers},
        "inputs": rng.normal(size=(100, 3)).tolist(),
        "targets": rng.normal(size=(100, 1)).tolist(),
        "optimizer": {"type": "sgd", "learning_rate": 0.001},
        "epochs": 1_000_000,
        "trace": {"every": 500_000, "include": ["loss"]},
    }
    settings = {"BACKPROP_HEADER_TIMEOUT_SECONDS": "1", "BACKPROP_DEADLINE_SECONDS": "3"}
    with (
        running_server(**settings) as (_, url),
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        lines = client.post("/train/stream", json=body).text.splitlines()
        assert json.loads(lines[-1])["status"] == "deadline_exceeded"
        time.sleep(0.5)
        assert client.post("/forward", json=examples.FORWARD).json()["outputs"] == NOTEBOOK_OUTPUTS


def test_a_partial_second_head_on_a_kept_connection_gets_a_408() -> None:
    """After a full request on a keep-alive connection, the next head must be complete in time."""
    request = _post_head(len(FORWARD)) + FORWARD
    with (
        running_server(BACKPROP_HEADER_TIMEOUT_SECONDS="1") as (_, url),
        _connect(url, request) as sock,
    ):
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /livez HTTP/1.1\r\nHo")
        status, headers, body = _answer(sock, timeout=1 + SLACK_SECONDS)
    assert status == 408
    assert headers["x-request-id"]
    assert {"date", "server", "content-length"} <= set(headers)
    assert "BACKPROP_HEADER_TIMEOUT_SECONDS" in json.loads(body)["detail"]


def test_a_head_over_its_size_limit_gets_a_431() -> None:
    """A head over BACKPROP_MAX_HEADER_BYTES gets a 431; one under it is served."""
    with running_server(BACKPROP_MAX_HEADER_BYTES="4096") as (_, url):
        small = b"GET /livez HTTP/1.1\r\nHost: test\r\nX-Pad: " + b"a" * 2000 + b"\r\n\r\n"
        with _connect(url, small) as sock:
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        large = b"GET /livez HTTP/1.1\r\nHost: test\r\n" + b"X-Pad: " + b"a" * 8000
        with _connect(url, large) as sock:
            status, headers, body = _answer(sock, timeout=10)
        assert status == 431
        assert headers["connection"] == "close"
        detail = json.loads(body)["detail"]
        assert "over the limit of 4,096 bytes (set by BACKPROP_MAX_HEADER_BYTES)" in detail
        # A head that ends in the read that takes it past the limit is refused just the same.
        complete = large + b"\r\n\r\n"
        with _connect(url, complete) as sock:
            status, headers, body = _answer(sock, timeout=10)
        assert status == 431
        assert headers["x-request-id"]
        assert "BACKPROP_MAX_HEADER_BYTES" in json.loads(body)["detail"]
        assert _rejections(url)["header_too_large"] == 2


def test_connections_past_the_bound_get_a_503() -> None:
    """With BACKPROP_MAX_CONNECTIONS=10 held open, the next connection gets a JSON 503 with
    Retry-After and is closed; once they go, new connections are served again."""
    with (
        ExitStack() as stack,
        running_server(BACKPROP_MAX_CONNECTIONS="10", BACKPROP_HEADER_TIMEOUT_SECONDS="60") as (
            _,
            url,
        ),
    ):
        time.sleep(0.5)  # the start-up probe's connection has gone
        held = [stack.enter_context(_connect(url)) for _ in range(10)]
        time.sleep(0.5)
        with _connect(url, b"GET /livez HTTP/1.1\r\nHost: test\r\n\r\n") as sock:
            status, headers, body = _answer(sock, timeout=10)
        assert status == 503
        assert headers["retry-after"] == "1"
        detail = json.loads(body)["detail"]
        assert "10 connections open, the most one worker keeps" in detail
        assert "BACKPROP_MAX_CONNECTIONS" in detail
        for sock in held:
            sock.close()
        time.sleep(0.5)
        assert httpx.get(f"{url}/livez", timeout=10).status_code == 200
        assert _rejections(url)["connections"] == 1


def test_timeouts_are_counted_and_logged(tmp_path: Path) -> None:
    """The body's 408 is in /metrics and in the access log with its route; a head's 408 is in
    both too; a client that leaves mid-body is logged as 499, not as a server error."""
    log = tmp_path / "access.log"
    settings = {"BACKPROP_BODY_TIMEOUT_SECONDS": "1", "BACKPROP_HEADER_TIMEOUT_SECONDS": "1"}
    with running_server(log, **settings) as (_, url):
        before = _rejections(url)
        with _connect(url, _post_head(5000), b"{") as sock:
            assert _answer(sock, timeout=1 + SLACK_SECONDS)[0] == 408
        with _connect(url, b"GET /livez HTTP/1.1\r\n") as sock:
            assert _answer(sock, timeout=1 + SLACK_SECONDS)[0] == 408
        _connect(url, _post_head(5000, "/train"), b"{").close()
        time.sleep(0.5)
        after = _rejections(url)
    assert after["body_timeout"] - before["body_timeout"] == 1
    assert after["header_timeout"] - before["header_timeout"] == 1
    lines: list[dict[str, Any]] = [json.loads(line) for line in log.read_text().splitlines()]
    body_line = next(line for line in lines if line["status"] == 408 and line["route"])
    assert body_line["route"] == "/forward"
    assert body_line["method"] == "POST"
    head_line = next(line for line in lines if line.get("reason") == "header_timeout")
    assert head_line["status"] == 408
    assert head_line["level"] == "warning"
    gone = next(line for line in lines if line["route"] == "/train")
    assert gone["status"] == 499
    assert gone["level"] == "info"
