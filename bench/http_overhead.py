"""HTTP overhead benchmark: requests per second of POST /forward against GET /livez.

Both are driven by the same load generator, ``wrk``, on one single-worker server: /livez does no
work, so the ratio says how much of the HTTP path /forward's parsing, validation, arithmetic and
serialization cost. Runs alternate between the two; the figures are medians. A /forward run
that got any answer other than 200 fails the benchmark. Beside throughput it prints the server's
CPU time per request of each (from ``/proc``): on a machine shared with other work throughput
moves with the neighbours' load, and the CPU time a request costs much less. (The module is not
named ``http``: that would shadow the standard library for scripts run from bench/, such as
load.py.)
"""

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import orjson

from app import examples
from bench.common import Result, Server, Target, median, skipped, spread

TARGET = Target(0.75, at_most=False)
NAME = "POST /forward vs GET /livez, 1 worker"
UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run reports: throughput, 99th percentile latency, failed answers, and the
    server's CPU seconds per request over the run (when the server's pid was given)."""

    requests_per_second: float
    p99: float
    non_2xx: int
    socket_errors: str
    cpu_per_request: float = 0.0


def find_wrk() -> str | None:
    """The wrk binary; installed with apt-get when missing and running as root."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("  wrk not found: installing the Debian package (apt-get install -y wrk)")
    if _apt("install", "-y", "-q", "wrk") != 0:
        _apt("update", "-q")
        _apt("install", "-y", "-q", "wrk")
    return shutil.which("wrk")


def _apt(*args: str) -> int:
    """Run apt-get quietly; its exit status."""
    done = subprocess.run(["apt-get", *args], check=False, capture_output=True)
    return done.returncode


def post_script(body: bytes) -> str:
    """A wrk Lua script sending ``body`` as a JSON POST."""
    return (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [==[{body.decode()}]==]\n"
    )


def parse(output: str) -> WrkRun:
    """Requests/sec, the 99% latency, non-2xx answers and socket errors from wrk's report."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", output)
    if rate is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's report:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:\s+(.+)", output)
    return WrkRun(
        float(rate.group(1)),
        float(p99.group(1)) * UNITS[p99.group(2)],
        int(non_2xx.group(1)) if non_2xx else 0,
        errors.group(1).strip() if errors else "",
    )


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    binary: str,
    url: str,
    seconds: float,
    connections: int,
    script: Path | None,
    server_pid: int | None = None,
) -> WrkRun:
    """One wrk run with one thread; with ``server_pid``, the server's CPU time per request."""
    command = [binary, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    command += ["-s", str(script)] if script else []
    started = cpu_seconds(server_pid) if server_pid else 0.0
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    run = parse(done.stdout)
    if server_pid is None or not run.requests_per_second:
        return run
    used = cpu_seconds(server_pid) - started
    return replace(run, cpu_per_request=used / (run.requests_per_second * seconds))


def http_overhead(repeat: int, seconds: float, connections: int) -> Result:
    """Median req/s of POST /forward over that of GET /livez, p99 latencies of both."""
    binary = find_wrk()
    if binary is None:
        print("  wrk is not installed (and could not be installed): skipping; apt-get install wrk")
        return skipped(NAME, TARGET, "wrk not installed")
    with tempfile.TemporaryDirectory() as tmp, Server() as server:
        script = Path(tmp) / "forward.lua"
        script.write_text(post_script(orjson.dumps(examples.FORWARD)))
        forward_url, livez_url = f"{server.url}/forward", f"{server.url}/livez"
        wrk(binary, livez_url, 1, connections, None)  # warm-up
        wrk(binary, forward_url, 1, connections, script)
        livez, forward = [], []
        for _ in range(repeat):
            livez.append(wrk(binary, livez_url, seconds, connections, None, server.pid))
            forward.append(wrk(binary, forward_url, seconds, connections, script, server.pid))
    failed = sum(run.non_2xx for run in forward + livez)
    errors = "; ".join(sorted({r.socket_errors for r in forward + livez if r.socket_errors}))
    livez_rps = median([r.requests_per_second for r in livez])
    forward_rps = median([r.requests_per_second for r in forward])
    livez_p99, forward_p99 = median([r.p99 for r in livez]), median([r.p99 for r in forward])
    livez_range = spread([r.requests_per_second for r in livez], "req/s")
    forward_range = spread([r.requests_per_second for r in forward], "req/s")
    print(
        f"  wrk -t1 -c{connections} -d{seconds:g}s × {repeat}: GET /livez "
        f"{livez_range}, p99 {livez_p99 * 1e3:.2f} ms; POST /forward {forward_range}, "
        f"p99 {forward_p99 * 1e3:.2f} ms; non-2xx answers: {failed}"
        + (f"; socket errors: {errors}" if errors else "")
    )
    livez_cpu = median([r.cpu_per_request for r in livez])
    forward_cpu = median([r.cpu_per_request for r in forward])
    print(
        f"  server CPU per request (median): GET /livez {livez_cpu * 1e6:.0f} µs, POST /forward "
        f"{forward_cpu * 1e6:.0f} µs: /livez's over /forward's {livez_cpu / forward_cpu:.2f}× "
        "(what the throughput ratio is when the server has a core to itself)"
    )
    if failed:
        print(f"FAILURE: {failed} requests were not answered with 2xx")
    return Result(
        NAME,
        f"{forward_rps:.0f} req/s /forward (p99 {forward_p99 * 1e3:.1f} ms)",
        f"{livez_rps:.0f} req/s /livez (p99 {livez_p99 * 1e3:.1f} ms)",
        forward_rps / livez_rps,
        TARGET,
        checks_ok=not failed,
        note=f"{failed} non-2xx answers" if failed else "",
    )
