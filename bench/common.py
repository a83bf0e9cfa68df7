"""Shared helpers of the benchmark suite: timing medians, results and their table, the machine,
and a real server (``python -m app.server``) started on a free port with its memory readable."""

import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
MB = 1024 * 1024


def timed(run: Callable[[], T], clock: Callable[[], float] = time.perf_counter) -> tuple[float, T]:
    """Seconds of one call on ``clock`` (default: the wall clock), and what it returned."""
    started = clock()
    value = run()
    return clock() - started, value


def median(values: list[float]) -> float:
    """The median: robust to the odd repetition slowed by another process on a shared machine."""
    return statistics.median(values)


def spread(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    """The lowest and highest of the repetitions, to show how noisy a median is."""
    return f"{min(values) * scale:.4g} to {max(values) * scale:.4g} {unit}"


@dataclass(frozen=True)
class Target:
    """A bound on a ratio: ``ratio ≤ limit`` (``at_most``) or ``ratio ≥ limit``."""

    limit: float
    at_most: bool = True

    def met(self, ratio: float) -> bool:
        """Whether ``ratio`` satisfies the bound."""
        return ratio <= self.limit if self.at_most else ratio >= self.limit

    def __str__(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {self.limit:g}×"


@dataclass(frozen=True)
class Result:
    """One benchmark's row: formatted figures, the ratio, the target and whether it was met.

    ``ok`` is None for a skipped benchmark; ``checks_ok`` is False when a correctness check
    (e.g. bit-equality with the baseline) failed, which fails the row whatever the ratio.
    """

    name: str
    measured: str
    baseline: str
    ratio: float | None
    target: Target | None
    checks_ok: bool = True
    note: str = ""

    @property
    def ok(self) -> bool | None:
        """PASS (True), FAIL (False) or SKIPPED (None)."""
        if self.ratio is None or self.target is None:
            return None if self.checks_ok else False
        return self.checks_ok and self.target.met(self.ratio)

    @property
    def verdict(self) -> str:
        """PASS, FAIL or SKIPPED, with the note if any."""
        word = {True: "PASS", False: "FAIL", None: "SKIPPED"}[self.ok]
        return f"{word} ({self.note})" if self.note else word

    def line(self) -> str:
        """A one-line summary printed as soon as the benchmark ends."""
        ratio = "-" if self.ratio is None else f"{self.ratio:.3f}×"
        return (
            f"==> {self.name}: {self.measured} vs baseline {self.baseline}: ratio {ratio}, "
            f"target {self.target or '-'}: {self.verdict}"
        )


def skipped(name: str, target: Target, why: str) -> Result:
    """The row of a benchmark that could not run here."""
    return Result(name, "-", "-", None, target, note=why)


def table(results: list[Result]) -> str:
    """The results as a Markdown table, ready to paste in docs/performance.md."""
    lines = [
        "| benchmark | measured | baseline | ratio | target | ok |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}×"
        lines.append(
            f"| {r.name} | {r.measured} | {r.baseline} | {ratio} | {r.target or '-'} | "
            f"{r.verdict} |"
        )
    return "\n".join(lines)


def machine() -> str:
    """CPU model, cores, load, Python, NumPy and its BLAS: what the figures depend on."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"{cpu}, {usable} cores (of {os.cpu_count()}), load average {load}; "
        f"Python {platform.python_version()}, NumPy {np.__version__} ({blas()})"
    )


def blas() -> str:
    """The BLAS NumPy was built with, as NumPy reports it."""
    try:
        config = np.show_config(mode="dicts")
        info = config["Build Dependencies"]["blas"]
        return f"{info['name']} {info.get('version', '')}".strip()
    except (TypeError, KeyError):
        return "BLAS unknown"


def free_port() -> int:
    """A TCP port nothing listens on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def proc_status_kb(pid: int, field: str) -> int:
    """A ``/proc/PID/status`` field in kB, e.g. ``VmRSS`` (resident now) or ``VmHWM`` (peak)."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no {field} in /proc/{pid}/status")
    return int(found.group(1))


class Server:
    """``python -m app.server`` with one worker on a free port, as a context manager.

    With ``WORKERS=1`` uvicorn serves in the process it was started in, so the child's pid is the
    process whose memory is read. Training deadlines are raised so that a slow shared machine
    does not cut a run short, and the concurrency cap is raised so that a load generator's
    connections are served rather than shed (a 503 would not measure the HTTP path).
    """

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = os.environ | {
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WORKERS": "1",
            "BACKPROP_DEADLINE_SECONDS": "3600",
            "BACKPROP_MAX_CONCURRENT": "256",
        }
        self.env |= env
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)

    @property
    def pid(self) -> int:
        """The server process's id."""
        if self.process is None:
            raise RuntimeError("server not started")
        return self.process.pid

    def __enter__(self) -> "Server":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.server"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self._wait_ready()
        return self

    def _wait_ready(self, seconds: float = 60) -> None:
        """Poll /readyz until it answers 200; show the server's stderr if it never does."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.log.seek(0)
        tail = self.log.read().decode(errors="replace")[-2000:]
        self.__exit__()
        raise RuntimeError(f"the server at {self.url} never became ready:\n{tail}")

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
