"""What httptools cannot parse, against a real server (`python -m app.server`, one worker).

Each refusal is the API's JSON ``{"detail": "..."}`` with an ``X-Request-ID`` and
``Connection: close``, one access-log line and one count in ``backprop_rejected_requests_total``
under its own reason. A request that asks to switch protocols is served as HTTP/1.1.
"""

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import examples
from tests.servers import running_server

FORWARD = json.dumps(examples.FORWARD).encode()


def _exchange(url: str, data: bytes) -> bytes:
    """Send ``data`` on a new connection; everything the server sends until it closes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def _answers(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """The answers in ``data`` (each with a Content-Length): status, headers, body."""
    answers = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        length = int(headers["content-length"])
        answers.append((int(lines[0].split()[1]), headers, rest[:length]))
        data = rest[length:]
    return answers


def _refusal(url: str, data: bytes, status: int) -> tuple[str, str]:
    """The one answer to ``data``: a JSON refusal with ``status``; its detail and request id."""
    ((got, headers, body),) = _answers(_exchange(url, data))
    assert got == status, body
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    return json.loads(body)["detail"], headers["x-request-id"]


def _rejections(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = re.findall(r'backprop_rejected_requests_total\{reason="(\w+)"\} ([\d.e+]+)', text)
    return {reason: float(value) for reason, value in found}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server with default limits and its access log."""
    log = tmp_path_factory.mktemp("protocol") / "access.log"
    with running_server(log) as (_, url):
        yield url, log


MALFORMED = {
    "GARBAGE\r\n\r\n": "Invalid method encountered",
    "GET / HTTP/9.9\r\nHost: x\r\n\r\n": "Invalid HTTP version",
    "GET / HTTP/1.1\r\nHo st: x\r\n\r\n": "Invalid header token",
    "GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n": "its URL is not valid",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": "HTTP/1.1 only, not HTTP/2",
    (
        "POST /forward HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ): "Transfer-Encoding can't be present with Content-Length",
    # In the body: the request is being read by the app when its chunk turns out malformed.
    (
        "POST /forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        'Transfer-Encoding: chunked\r\n\r\n4\r\n{"ne\r\nzz\r\n'
    ): "Invalid character in chunk size",
}


@pytest.mark.parametrize("request_bytes", MALFORMED)
def test_what_cannot_be_parsed_gets_a_json_400(
    server: tuple[str, Path], request_bytes: str
) -> None:
    """A malformed request line, header, URL or chunk: a JSON 400 saying what is wrong, with
    its request id in the access log and a count under malformed_request."""
    url, log = server
    before = _rejections(url).get("malformed_request", 0)
    detail, request_id = _refusal(url, request_bytes.encode(), 400)
    assert detail.startswith("The request is not valid HTTP/1.1: ")
    assert MALFORMED[request_bytes] in detail
    assert _rejections(url)["malformed_request"] == before + 1
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    (line,) = [line for line in lines if line["request_id"] == request_id]
    assert (line["status"], line["reason"], line["level"]) == (400, "malformed_request", "warning")
    httpx.post(f"{url}/forward", json=examples.FORWARD, timeout=10).raise_for_status()


def test_a_70_kb_uri_gets_the_head_limits_431(server: tuple[str, Path]) -> None:
    """A URL over BACKPROP_MAX_HEADER_BYTES (64 KiB) makes the head too large: a JSON 431."""
    url, _ = server
    detail, _ = _refusal(url, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431)
    assert "BACKPROP_MAX_HEADER_BYTES" in detail


def test_a_uri_over_what_httptools_parses_gets_a_414() -> None:
    """With a head limit above 64 KiB, a URL over the 65,535 bytes httptools can parse: 414."""
    with running_server(BACKPROP_MAX_HEADER_BYTES="200000") as (_, url):
        request = b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        detail, _ = _refusal(url, request, 414)
        assert detail == (
            "The request's URL is 70,001 bytes long, over the 65,535 bytes the server can read"
        )
        assert _rejections(url)["uri_too_long"] == 1


def _get(extra: str = "", path: str = "/livez") -> str:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n"


@pytest.mark.parametrize(
    "upgrade",
    [
        "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n",
        "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    ],
)
def test_an_upgrade_is_ignored_and_the_next_request_served(
    server: tuple[str, Path], upgrade: str
) -> None:
    """An Upgrade (h2c, WebSocket) is answered as HTTP/1.1, and the request sent after it on the
    same connection is answered too (uvicorn dropped it)."""
    url, _ = server
    data = (_get(upgrade) + _get("Connection: close\r\n", "/readyz")).encode()
    answers: list[tuple[int, dict[str, Any], bytes]] = _answers(_exchange(url, data))
    assert [status for status, _, _ in answers] == [200, 200]
    assert all(headers["x-request-id"] for _, headers, _ in answers)


def test_an_upgrade_with_a_body_gets_a_400(server: tuple[str, Path]) -> None:
    """httptools would not read the body of an Upgrade request: a 400 rather than the wrong
    answer to an empty body."""
    url, _ = server
    request = (
        "POST /forward HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(FORWARD)}\r\n\r\n"
    ).encode() + FORWARD
    before = _rejections(url).get("unsupported_upgrade", 0)
    detail, _ = _refusal(url, request, 400)
    assert "send it without the Upgrade header" in detail
    assert _rejections(url)["unsupported_upgrade"] == before + 1
