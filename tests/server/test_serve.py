"""`python -m app.server`: settings from the environment and a graceful shutdown."""

import json
import os
import platform
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from app import examples
from app.server.serve import _shared_slots, main
from tests.servers import running_server


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A real one-worker server process on a free port."""
    with running_server() as started:
        yield started


def _environment(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def test_the_server_runs_under_the_system_allocator(
    server: tuple[subprocess.Popen[bytes], str],
) -> None:
    """`python -m app.server` runs itself again under PYTHONMALLOC=malloc and MALLOC_ARENA_MAX=1
    (same process)."""
    process, url = server
    assert httpx.get(f"{url}/livez").status_code == 200
    environment = _environment(process.pid)
    assert environment.get("PYTHONMALLOC") == "malloc"
    assert environment.get("MALLOC_ARENA_MAX") == "1"


def test_an_allocator_the_operator_chose_is_kept() -> None:
    """PYTHONMALLOC given (here pymalloc, Python's default) is left as it is, and so is
    MALLOC_ARENA_MAX."""
    with running_server(PYTHONMALLOC="pymalloc") as (process, url):
        assert httpx.get(f"{url}/livez").status_code == 200
        assert _environment(process.pid)["PYTHONMALLOC"] == "pymalloc"
    with running_server(MALLOC_ARENA_MAX="2") as (process, url):
        assert httpx.get(f"{url}/livez").status_code == 200
        environment = _environment(process.pid)
        assert (environment["PYTHONMALLOC"], environment["MALLOC_ARENA_MAX"]) == ("malloc", "2")


HEAP_MAX_SIZE = 64 * 1024 * 1024
"""The size and alignment of every heap of a glibc thread arena (64-bit)."""


def _thread_arena_heaps(pid: int) -> list[str]:
    """The mappings of ``pid`` that are heaps of a glibc thread arena: glibc reserves each as
    one anonymous mapping of HEAP_MAX_SIZE at an address aligned to it, and makes its start
    writable as the heap grows, so it shows as a read-write mapping at such an address followed
    by an inaccessible one up to HEAP_MAX_SIZE (or the read-write part alone, when full)."""
    rows = [line.split() for line in Path(f"/proc/{pid}/maps").read_text().splitlines()]
    spans = [(*(int(bound, 16) for bound in row[0].split("-")), row[1], len(row)) for row in rows]
    heaps = []
    for index, (start, end, mode, fields) in enumerate(spans):
        if start % HEAP_MAX_SIZE or mode != "rw-p" or fields != 5:
            continue
        after = spans[index + 1] if index + 1 < len(spans) else None
        if after is not None and after[0] == end and after[2] == "---p" and after[3] == 5:
            end = after[1]
        if end - start == HEAP_MAX_SIZE:
            heaps.append(f"{start:x}-{end:x}")
    return heaps


def _workers(server: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{server}/task").iterdir()
        for child in (task / "children").read_text().split()
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's arenas")
def test_each_worker_allocates_from_one_arena() -> None:
    """With several workers, every thread of a worker allocates from glibc's main arena, the one
    the idle trim hands back: no thread arena, not even for the thread uvicorn starts in each
    worker before the app starts, nor for the compute threads after requests ran."""
    with running_server(WORKERS="2") as (process, url):
        for _ in range(8):  # a new connection each, spread over both workers
            assert httpx.post(f"{url}/train", json=examples.TRAIN, timeout=30).status_code == 200
        workers = _workers(process.pid)
        assert len(workers) == 2
        assert {worker: _thread_arena_heaps(worker) for worker in workers} == {
            worker: [] for worker in workers
        }


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


def test_the_cap_is_server_wide_across_workers() -> None:
    """Two workers share BACKPROP_MAX_CONCURRENT=2: two open streams hold both slots, so every
    other compute request is refused, whichever worker its connection reaches; once the streams
    are closed the slots come back."""
    body = examples.TRAIN | {"epochs": 1_000_000, "trace": {"every": 1000, "include": ["loss"]}}
    with (
        running_server(WORKERS="2", BACKPROP_MAX_CONCURRENT="2") as (_, url),
        ExitStack() as streams,
    ):
        lines = []  # kept: dropping a line iterator would close its connection
        for _ in range(2):
            response = streams.enter_context(
                httpx.stream("POST", f"{url}/train/stream", json=body, timeout=60)
            )
            lines.append(response.iter_lines())
            assert json.loads(next(lines[-1]))["epoch"] == 1
        statuses = [
            httpx.post(f"{url}/forward", json=examples.FORWARD, timeout=30).status_code
            for _ in range(12)  # a new connection each, spread over both workers
        ]
        assert statuses == [503] * 12
        streams.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = httpx.post(f"{url}/forward", json=examples.FORWARD, timeout=30)
            if answer.status_code == 200:
                break
            time.sleep(0.1)
        assert answer.status_code == 200


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


def test_several_workers_get_four_slots_each_in_one_shared_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without BACKPROP_MAX_CONCURRENT, 3 workers share 12 slots; an operator's value stays."""
    monkeypatch.delenv("BACKPROP_MAX_CONCURRENT", raising=False)
    monkeypatch.delenv("BACKPROP_SLOTS_DIR", raising=False)
    created = _shared_slots(3)
    assert created is not None
    assert os.environ["BACKPROP_MAX_CONCURRENT"] == "12"
    assert os.environ["BACKPROP_SLOTS_DIR"] == created
    os.rmdir(created)
    monkeypatch.setenv("BACKPROP_MAX_CONCURRENT", "5")
    monkeypatch.delenv("BACKPROP_SLOTS_DIR")
    assert _shared_slots(1) is None
    assert os.environ["BACKPROP_MAX_CONCURRENT"] == "5"
    assert "BACKPROP_SLOTS_DIR" not in os.environ
