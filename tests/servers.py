"""Real server processes for the tests that need one (signals, several workers, a browser)."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(
    log: Path | None = None, **settings: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A real server process on a free port with these settings, killed at exit if still up;
    its standard output (the access log) goes to ``log`` when given."""
    port = free_port()
    env = os.environ | {"PORT": str(port), "WORKERS": "1", "GRACEFUL_TIMEOUT": "30"} | settings
    with ExitStack() as files:
        stdout = files.enter_context(log.open("wb")) if log else subprocess.DEVNULL
        process = subprocess.Popen([sys.executable, "-m", "app.server"], env=env, stdout=stdout)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/livez", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield process, url
    finally:
        if process.poll() is None:  # SIGTERM, so that uvicorn stops its worker processes too
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
