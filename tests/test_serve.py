"""`python -m app.serve`: settings from the environment and a graceful shutdown."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from app import examples
from app.serve import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A real server process on a free port, stopped after the test if still running."""
    port = _free_port()
    env = os.environ | {"PORT": str(port), "WORKERS": "1", "GRACEFUL_TIMEOUT": "30"}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.serve"], env=env, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/livez", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield process, url
    if process.poll() is None:
        process.kill()
        process.wait()


def test_sigterm_lets_a_running_stream_finish(
    server: tuple[subprocess.Popen[bytes], str],
) -> None:
    """SIGTERM while a stream is in flight: the stream still ends with its summary.

    After its graceful shutdown uvicorn re-raises the signal, so the process ends by SIGTERM.
    """
    process, url = server
    body = examples.TRAIN | {"epochs": 20_000, "trace": {"every": 1000, "include": ["loss"]}}
    with httpx.stream("POST", f"{url}/train/stream", json=body, timeout=120) as response:
        lines = response.iter_lines()
        assert json.loads(next(lines))["epoch"] == 1
        process.send_signal(signal.SIGTERM)
        rest = [json.loads(line) for line in lines]
    assert rest[-1]["status"] == "completed"
    assert rest[-1]["epochs_run"] == 20_000
    assert process.wait(timeout=60) in (0, -signal.SIGTERM)


@pytest.mark.parametrize(
    ("name", "value"), [("WORKERS", "0"), ("PORT", "eighty"), ("BLAS_THREADS", "-2")]
)
def test_bad_settings_stop_with_a_message(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """A setting that is not a whole number ≥ 1 stops the launcher with a clear message."""
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=f"{name} must be a whole number"):
        main()
