"""Load test: many concurrent clients on mixed endpoints against a local server, for minutes.

    python bench/load.py                       # starts `python -m app.server` itself on port 8765
    python bench/load.py --clients 8 --duration 30 --attack error-bomb --attackers 8
    python bench/load.py --url http://127.0.0.1:8000 --clients 32 --duration 180
    python bench/load.py --slow-body 50 --slow-headers 50   # the same, with slow clients too
    python bench/load.py --class --students 300 --ramp 60   # a lecture hall's lesson, once each

Each client loops: it picks an endpoint by weight (seeded, so a run is reproducible), sends the
notebook's request for it and waits for the whole answer. A prober in a separate process hits
``GET /livez`` every 50 ms. A 503 (the server shedding load) is retried after its
``Retry-After`` and counted as shed, not as an error. The report gives, per endpoint,
requests, throughput, p50/p99 latency, sheds and errors (any other status than 200, or a
transport failure). ``--slow-body N`` and ``--slow-headers N`` also hold N connections that
send a request head and a few bytes of a 5,000-byte body, and N that send half a head, each
reconnecting as soon as the server closes it, for the whole run; the report then says how the
server ended them (the body's and the head's 408s), so that it shows whether the normal traffic
noticed them.

``--class`` replaces the mixed clients with a class: ``--students N`` (300) simulated students
started evenly over ``--ramp`` seconds (60), each doing once what the playground does in a
lesson, one request after the other (:data:`LESSON`): load the page and every asset it links, a
2,000-epoch ``/train/stream`` read to its end, a 64×64 decision map (``/forward`` of 4,096
points), a worked solution (``/explain``), a new exercise (``POST /exercises`` with the
student's name, its answer included) and three ``/check`` submissions built from that exercise
(:func:`submissions`: its answer to 4 significant figures, the same with one planted mistake, to
3 decimals), so each student's /check has numbers of its own. A 503 is retried after its
``Retry-After`` (as the page does) and counted as shed; a 503 without ``Retry-After``, any other
status and a transport failure are errors. The report gives the same table per kind of request,
then the lessons: how many finished, their length (p50/p99) and the students one core serves:
the lessons finished a minute (from the first student's start to the last one's end) over the
server's cores (``--cores``; by default ``min(workers, CPUs)``, the cores of a server this
script starts); with the server saturated (lessons far longer than their own work), that is what
a core keeps up with. Against ``--url`` give ``--cores`` yourself: the CPUs the replicas share,
e.g. ``--url http://127.0.0.1:8000 --cores 2`` for the compose stack on a 2-core host.

``--attack KIND --attackers N`` runs N attacker connections of one kind beside the normal
traffic, each sending its request again (on a new connection) whenever the last one ended, until
the run ends; they run in a process of their own, so that their work does not slow the load
generator's clients. The kinds are the hostile requests of issue 21:

* ``error-bomb``: a 4 MB ``/forward`` body whose ``inputs`` are a million strings ``"a"``; the
  answer is read and thrown away;
* ``stream-non-reader``: a ``/train/stream`` of a million epochs, every one traced, on a socket
  with a 4 KiB receive buffer that is never read;
* ``plain-non-reader``: a ``/train`` whose answer is a trace of about 49 MB, never read;
* ``explain``: ``/explain`` of a 1-40-40-1 tanh network on 1,000 samples with ``digits`` (17)
  and ``max_steps`` (1,000,000) at their limits and ``max_terms`` at 481, the most that the value
  limit (``BACKPROP_MAX_TRACE_VALUES``) accepts with 1,000 samples (a 66 KB body); the answer is
  read and thrown away.

The report then says how the attacks ended (the answers' statuses, sizes and times; a
non-reader's connection reset by the server, or still held when the run ended), the normal
traffic's success rate (answers 200 among all its answers, the 503s included), and the server's
resident memory (VmRSS summed over its processes, sampled every 0.25 s): idle at the start, the
peak, and ``--after`` seconds (60) after the attack ended, with no traffic in between. Everything
is bounded: the attack lasts ``--duration`` seconds, normal requests still unanswered 30 s after
it are cut off, and a server this script started is killed if its memory passes
``--max-server-mb`` (6,000 MB), so that an attack cannot exhaust a shared machine.
"""

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from multiprocessing import Process, Queue
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app import examples

MIX: list[tuple[str, str, dict[str, Any], int]] = [
    ("forward", "/forward", examples.FORWARD, 30),
    ("loss", "/loss", examples.LOSS, 10),
    ("backward", "/backward", examples.LOSS, 20),
    ("train", "/train", examples.TRAIN | {"epochs": 200}, 10),
    ("train/stream", "/train/stream", examples.LONG_RUN | {"epochs": 500}, 5),
    ("init", "/init", examples.INIT, 10),
    ("gradcheck", "/gradcheck", examples.GRADCHECK, 5),
    ("check", "/check", examples.CHECK, 10),
]


def decision_map(side: int = 64) -> dict[str, Any]:
    """The page's decision map of CLASSIFY's 2-3-2 network: /forward of a side × side grid."""
    grid = [
        [-0.5 + 2 * (i + 0.5) / side, 1.5 - 2 * (j + 0.5) / side]
        for j in range(side)
        for i in range(side)
    ]
    return {"network": examples.CLASSIFY["network"], "inputs": grid}


STREAM: dict[str, Any] = {
    key: examples.CLASSIFY[key] for key in ("network", "inputs", "targets", "loss", "optimizer")
} | {"epochs": 2000, "trace": {"every": 20, "include": ["loss", "accuracy"]}}
"""A 2,000-epoch run of the XOR data, traced every 20 epochs as the page's curve is."""
LESSON: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("page assets", "GET", "/", None),
    ("train/stream", "POST", "/train/stream", STREAM),
    ("forward (64×64 map)", "POST", "/forward", decision_map()),
    ("explain", "POST", "/explain", examples.EXPLAIN),
    ("exercises", "POST", "/exercises", {"template": "notebook", "include_answer": True}),
    ("check", "POST", "/check", None),
    ("check", "POST", "/check", None),
    ("check", "POST", "/check", None),
]
"""A student's lesson in order: (kind, method, path, body); the exercise's body gets the
student's name, and each /check's body (None here) is one of :func:`submissions` of that
exercise, in turn."""


def _mapped(value: Any, change: Any) -> Any:
    """``value`` with ``change`` applied to each number of its nested lists."""
    if isinstance(value, dict):
        return {key: _mapped(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_mapped(item, change) for item in value]
    return value if value is None or isinstance(value, str) else change(value)


def submissions(exercise: dict[str, Any]) -> list[dict[str, Any]]:
    """Three /check bodies a student hands in for their own exercise (an /exercises answer):
    every value rounded to 4 significant figures; the same with one planted mistake (the loss
    doubled, its ½ dropped); every value rounded to 3 decimals (a small one then wrong)."""
    body = {key: exercise[key] for key in ("network", "inputs", "targets", "loss")}
    optimizer = exercise["optimizer"]
    if optimizer["momentum"]:
        body |= {"optimizer": optimizer, "optimizer_state": exercise["optimizer_state"]}
    else:
        body["learning_rate"] = optimizer["learning_rate"]
    answer = {key: value for key, value in exercise["answer"].items() if value is not None}
    figures = _mapped(answer, lambda x: float(f"{x:.4g}"))
    planted = figures | {"loss": 2 * figures["loss"]}
    places = _mapped(answer, lambda x: round(x, 3))
    return [body | {"claimed": claimed} for claimed in (figures, planted, places)]


KEEPALIVE_EXPIRY = 2.0
"""Seconds a student's idle connection is kept for the next request: under the server's
keep-alive timeout (``KEEPALIVE_TIMEOUT``, 5 s), as a browser's is, so that a request is never
sent on a connection the server is closing at that moment (httpx's default, 5 s, races it)."""
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


@dataclass
class Tally:
    """Latencies and outcomes of one endpoint."""

    latencies: list[float] = field(default_factory=list)
    shed: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))


async def client(
    http: httpx.AsyncClient, rng: random.Random, stop: float, tallies: dict[str, Tally]
) -> None:
    """Send weighted random requests until ``stop``."""
    names, weights = [m[0] for m in MIX], [m[3] for m in MIX]
    routes = {m[0]: (m[1], m[2]) for m in MIX}
    while time.monotonic() < stop:
        name = rng.choices(names, weights)[0]
        path, body = routes[name]
        started = time.monotonic()
        try:
            response = await http.post(path, json=body)
        except httpx.HTTPError as error:
            tallies[name].errors[type(error).__name__] += 1
            continue
        if response.status_code == 503:
            tallies[name].shed += 1
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        elif response.status_code == 200:
            tallies[name].latencies.append(time.monotonic() - started)
        else:
            tallies[name].errors[str(response.status_code)] += 1


async def send(
    http: httpx.AsyncClient, kind: str, method: str, path: str, body: Any, tally: Tally
) -> httpx.Response | None:
    """One request of a lesson, whole answer read; a 503 with Retry-After retried after it (as
    the page does). Its time, from the first try, is tallied when it ends in a 200."""
    started = time.monotonic()
    while True:
        try:
            response = await http.request(method, path, json=body)
        except httpx.HTTPError as error:
            tally.errors[type(error).__name__] += 1
            return None
        retry = response.headers.get("retry-after")
        if response.status_code == 503 and retry is not None:
            tally.shed += 1
            await asyncio.sleep(float(retry))
            continue
        if response.status_code == 200:
            tally.latencies.append(time.monotonic() - started)
            return response
        tally.errors[str(response.status_code)] += 1
        return None


async def student(
    http: httpx.AsyncClient, number: int, start: float, tallies: dict[str, Tally]
) -> float | None:
    """Student ``number``'s lesson from ``start`` (monotonic): its seconds, or None when a step
    failed (the lesson goes on with the next step)."""
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    began, failed = time.monotonic(), False
    handed_in: list[dict[str, Any]] = []
    for kind, method, path, body in LESSON:
        if path == "/exercises":
            body = (body or {}) | {"student": f"student {number}", "course": "load"}
        elif path == "/check":
            if not handed_in:  # no exercise came: nothing of one's own to hand in
                failed = True
                continue
            body = handed_in.pop(0)
        response = await send(http, kind, method, path, body, tallies[kind])
        failed |= response is None
        if path == "/exercises" and response is not None:
            handed_in = submissions(response.json())
        if path == "/" and response is not None:
            for asset in dict.fromkeys(ASSET.findall(response.text)):
                failed |= await send(http, kind, "GET", asset, None, tallies[kind]) is None
    return None if failed else time.monotonic() - began


async def lecture(
    url: str, students: int, ramp: float
) -> tuple[dict[str, Tally], list[float | None], float]:
    """``students`` lessons started evenly over ``ramp`` seconds: the tallies per kind of
    request, each lesson's seconds (None: a step failed) and the seconds the whole class took."""
    tallies: dict[str, Tally] = {kind: Tally() for kind, *_ in LESSON}
    limits = httpx.Limits(
        max_connections=students,
        max_keepalive_connections=students,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300.0) as http:
        started = time.monotonic()
        gap = ramp / max(1, students - 1) if students > 1 else 0.0
        lessons = await asyncio.gather(
            *(student(http, i, started + i * gap, tallies) for i in range(students))
        )
        return tallies, list(lessons), time.monotonic() - started


def class_run(url: str, students: int, ramp: float, cores: int) -> str:
    """Run a class and return its report."""
    tallies, lessons, elapsed = asyncio.run(lecture(url, students, ramp))
    done = [seconds for seconds in lessons if seconds is not None]
    requests = sum(len(t.latencies) for t in tallies.values())
    lines = [
        f"{students} students over a {ramp:.0f} s ramp, {elapsed:.0f} s in all: {requests} "
        f"requests answered 200",
        report(tallies, elapsed),
    ]
    if done:
        lines.append(
            f"lessons: {len(done)} of {students} finished without an error, p50 "
            f"{statistics.median(done):.1f} s, p99 {percentile(done, 99):.1f} s; "
            f"{len(done) / elapsed * 60 / cores:.0f} lessons a minute per core ({cores} core(s))"
        )
    else:
        lines.append(f"lessons: none of {students} finished without an error")
    return "\n".join(lines)


SLOW_HEADS: dict[str, bytes] = {
    "slow body": b"POST /forward HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\n"
    b'Content-Length: 5000\r\n\r\n{"net',
    "partial headers": b"POST /forward HTTP/1.1\r\nHost: load\r\nContent-Le",
}


async def slow_client(url: str, kind: str, stop: float, endings: dict[str, int]) -> None:
    """Hold one slow connection of ``kind`` until ``stop``, reconnecting whenever the server ends
    it; count how each ended (the answer's status, or how it closed)."""
    host, port = url.removeprefix("http://").split(":")
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError as error:
            endings[type(error).__name__] += 1
            await asyncio.sleep(0.1)
            continue
        writer.write(SLOW_HEADS[kind])
        try:
            answer = await asyncio.wait_for(
                reader.read(), timeout=max(0.0, stop - time.monotonic())
            )
            status = answer.split(b" ", 2)[1].decode() if answer else "closed"
            endings[status] += 1
        except TimeoutError:
            endings["held at the end"] += 1
        except OSError as error:
            endings[type(error).__name__] += 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


ATTACKS = ("error-bomb", "stream-non-reader", "plain-non-reader", "explain")
NON_READERS = frozenset({"stream-non-reader", "plain-non-reader"})
RECEIVE_BUFFER = 4096
"""A non-reader's SO_RCVBUF: the kernel then holds little of the answer on the client's side."""
CUT_OFF_SECONDS = 30.0
"""How long after the run's end normal requests still waiting are given before they are cut."""


def explain_at_the_limit() -> dict[str, Any]:
    """/explain of a 1-40-40-1 tanh network on 1,000 samples, each size knob at its maximum or,
    for ``max_terms``, at the most the value limit accepts with that many samples."""
    rng = random.Random(21)

    def layer(units: int, inputs: int, activation: str) -> dict[str, Any]:
        weights = [[rng.uniform(-1, 1) for _ in range(inputs)] for _ in range(units)]
        return {"weights": weights, "bias": [0.0] * units, "activation": activation}

    inputs = [[i / 500 - 1] for i in range(1000)]
    return {
        "network": {"layers": [layer(40, 1, "tanh"), layer(40, 40, "tanh"), layer(1, 40, "tanh")]},
        "inputs": inputs,
        "targets": [[0.5 * x[0]] for x in inputs],
        "loss": "mean_squared_error",
        "max_terms": 481,
        "digits": 17,
        "max_steps": 1_000_000,
    }


def attack_request(kind: str) -> bytes:
    """The whole HTTP request an attacker of ``kind`` sends (on a connection of its own)."""
    if kind == "error-bomb":
        path = "/forward"
        body = {"network": examples.NOTEBOOK_NETWORK, "inputs": ["a"] * 1_000_000}
    elif kind == "stream-non-reader":
        path = "/train/stream"
        body = examples.LONG_RUN | {"epochs": 1_000_000, "trace": {"every": 1}}
    elif kind == "plain-non-reader":
        path = "/train"  # every field traced for 64,000 epochs: an answer of about 49 MB
        body = examples.TRAIN | {"epochs": 64_000}
    else:
        path, body = "/explain", explain_at_the_limit()
    data = orjson.dumps(body)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data


@dataclass
class AttackTally:
    """How one kind's attacks ended: counts by outcome, and the answers' seconds and bytes."""

    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    held: list[float] = field(default_factory=list)


async def read_answer(sock: socket.socket, started: float, tally: AttackTally) -> None:
    """Read a whole answer (until the server closes) and throw it away; tally its status."""
    loop = asyncio.get_running_loop()
    first, size = b"", 0
    while chunk := await loop.sock_recv(sock, 1 << 20):
        first = first or chunk[:64]
        size += len(chunk)
    if first.count(b" ") < 2:
        tally.outcomes["closed without an answer"] += 1
        return
    tally.outcomes[f"answered {first.split(b' ', 2)[1].decode()}"] += 1
    tally.seconds.append(time.monotonic() - started)
    tally.sizes.append(size)


async def hold_unread(sock: socket.socket, started: float, tally: AttackTally) -> None:
    """Never read; return when the server resets the connection."""
    while True:
        await asyncio.sleep(0.25)
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            tally.outcomes["reset by the server"] += 1
            tally.held.append(time.monotonic() - started)
            return


async def attacker(kind: str, url: str, request: bytes, stop: float, tally: AttackTally) -> None:
    """Send ``request`` on a new connection until ``stop``, each time the last one has ended."""
    host, port = url.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    while (left := stop - time.monotonic()) > 0:
        started = time.monotonic()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if kind in NON_READERS:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.setblocking(False)
            try:
                async with asyncio.timeout(left):
                    await loop.sock_connect(sock, (host, int(port)))
                    await loop.sock_sendall(sock, request)
                    if kind in NON_READERS:
                        await hold_unread(sock, started, tally)
                    else:
                        await read_answer(sock, started, tally)
            except TimeoutError:
                # A non-reader cannot see a server that closed its side behind unsent data.
                ending = "not reset by the end" if kind in NON_READERS else "no answer by the end"
                tally.outcomes[ending] += 1
                tally.held.append(time.monotonic() - started)
            except OSError as error:
                tally.outcomes[type(error).__name__] += 1
                await asyncio.sleep(0.1)


def attack_process(
    kind: str, attackers: int, url: str, duration: float, results: "Queue[AttackTally]"
) -> None:
    """Run ``attackers`` attackers of ``kind`` for ``duration`` seconds; put their tally."""
    request = attack_request(kind)
    tally = AttackTally()

    async def attack() -> None:
        stop = time.monotonic() + duration
        await asyncio.gather(*(attacker(kind, url, request, stop, tally) for _ in range(attackers)))

    asyncio.run(attack())
    tally.outcomes = dict(tally.outcomes)
    results.put(tally)


def attack_report(kind: str, attackers: int, tally: AttackTally) -> str:
    """One line on how the attacks ended."""
    outcomes = ", ".join(f"{how}: {n}" for how, n in sorted(tally.outcomes.items()))
    line = f"{attackers} {kind} attacker(s): {outcomes or 'no attack ended'}"
    if tally.seconds:
        line += (
            f"; answers took {min(tally.seconds):.1f} to {max(tally.seconds):.1f} s, "
            f"{min(tally.sizes) / 1e6:,.1f} to {max(tally.sizes) / 1e6:,.1f} MB"
        )
    if tally.held:
        line += f"; connections held {min(tally.held):.1f} to {max(tally.held):.1f} s"
    return line


def server_processes(pid: int) -> list[int]:
    """``pid`` and its descendants (the server and its workers)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                queue += [int(child) for child in (task / "children").read_text().split()]
    return found


def resident_mb(pid: int) -> float:
    """VmRSS summed over the server's processes, in MB (10⁶ bytes)."""
    total = 0
    for process in server_processes(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{process}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total / 1e6


class MemoryWatch(threading.Thread):
    """Samples the server's resident memory every 0.25 s; kills the server (when this script
    started it) if the memory passes ``limit_mb``."""

    def __init__(self, pid: int, limit_mb: float, server: subprocess.Popen[bytes] | None) -> None:
        super().__init__(daemon=True)
        self.pid, self.limit_mb, self.server = pid, limit_mb, server
        self.peak = 0.0
        self.killed_at: float | None = None
        self.stopped = threading.Event()
        self.seen = set(server_processes(pid))

    def replaced(self) -> int:
        """How many of the server's processes have started since the watch began (uvicorn
        replaces a worker that dies or stops answering its health check)."""
        return len(self.seen) - len(server_processes(self.pid))

    def run(self) -> None:
        """Sample until stopped."""
        while not self.stopped.wait(0.25):
            self.seen.update(server_processes(self.pid))
            now = resident_mb(self.pid)
            self.peak = max(self.peak, now)
            if now > self.limit_mb and self.server is not None and self.killed_at is None:
                self.killed_at = now
                for process in reversed(server_processes(self.pid)):
                    with contextlib.suppress(OSError):
                        os.kill(process, signal.SIGKILL)


def prober(url: str, duration: float, results: "Queue[Tally]") -> None:
    """Measure /livez every 50 ms while the load runs, in a process of its own so that the load
    generator's busy event loop does not count as the server's latency. Every probe's time is
    kept, a failed one's too (until it failed), so that a stalled server shows in the p99."""
    tally = Tally()
    stop = time.monotonic() + duration
    with httpx.Client(base_url=url, timeout=30) as http:
        while time.monotonic() < stop:
            started = time.monotonic()
            try:
                response = http.get("/livez")
                if response.status_code != 200:
                    tally.errors[str(response.status_code)] += 1
            except httpx.HTTPError as error:
                tally.errors[type(error).__name__] += 1
            # A failed probe counts too, with the time it took to fail (30 s for a timeout).
            tally.latencies.append(time.monotonic() - started)
            time.sleep(0.05)
    tally.errors = dict(tally.errors)  # a plain dict pickles; the defaultdict's lambda does not
    results.put(tally)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))]


def report(tallies: dict[str, Tally], elapsed: float) -> str:
    """A Markdown table of the run."""
    lines = [
        "| endpoint | requests | req/s | p50 ms | p99 ms | shed (503) | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, tally in tallies.items():
        lat = tally.latencies
        p50 = f"{statistics.median(lat) * 1e3:.1f}" if lat else "-"
        p99 = f"{percentile(lat, 99) * 1e3:.1f}" if lat else "-"
        errors = sum(tally.errors.values())
        lines.append(
            f"| {name} | {len(lat)} | {len(lat) / elapsed:.1f} | {p50} | {p99} | {tally.shed} | "
            f"{errors}{' ' + dict(tally.errors).__repr__() if errors else ''} |"
        )
    return "\n".join(lines)


def success_line(tallies: dict[str, Tally], probe: Tally) -> str:
    """The normal traffic's share of answers that were 200s, and /livez's percentiles."""
    ok = sum(len(t.latencies) for t in tallies.values())
    shed = sum(t.shed for t in tallies.values())
    errors = sum(sum(t.errors.values()) for t in tallies.values())
    answered = ok + shed + errors
    rate = f"{ok / answered:.1%}" if answered else "-"
    line = f"normal traffic: {rate} of {answered} answers were 200 ({shed} 503s, {errors} errors)"
    if probe.latencies:
        p50 = statistics.median(probe.latencies) * 1e3
        p99 = percentile(probe.latencies, 99) * 1e3
        worst = max(probe.latencies) * 1e3
        line += f"; /livez p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.0f} ms"
    return line


async def normal_traffic(
    url: str, clients: int, duration: float, seed: int, slow: dict[str, int]
) -> tuple[dict[str, Tally], dict[str, dict[str, int]], float, bool]:
    """The mixed clients (and ``slow`` connections) for ``duration`` seconds: their tallies, how
    the slow connections ended, the seconds taken, and whether clients had to be cut off."""
    tallies: dict[str, Tally] = {m[0]: Tally() for m in MIX}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(120.0)
    endings: dict[str, dict[str, int]] = {kind: defaultdict(int) for kind in slow}
    cut = False
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as http:
        started = time.monotonic()
        stop = started + duration
        slow_tasks = [
            slow_client(url, kind, stop, endings[kind])
            for kind, count in slow.items()
            for _ in range(count)
        ]
        try:
            async with asyncio.timeout(duration + CUT_OFF_SECONDS):
                await asyncio.gather(
                    *(client(http, random.Random(seed + i), stop, tallies) for i in range(clients)),
                    *slow_tasks,
                )
        except TimeoutError:
            cut = True
        elapsed = time.monotonic() - started
    return tallies, endings, elapsed, cut


def run(
    url: str,
    clients: int,
    duration: float,
    seed: int,
    slow: dict[str, int],
    attack: tuple[str, int] | None = None,
    watch: MemoryWatch | None = None,
    after: float = 60.0,
) -> None:
    """Run the load (with ``slow`` connections of each kind and the ``attack``, when given) and
    print the report; with a ``watch``, the server's memory too."""
    results: Queue[Tally] = Queue()
    probe_process = Process(target=prober, args=(url, duration, results))
    attacks: Queue[AttackTally] = Queue()
    attack_proc = None
    if attack is not None:
        attack_proc = Process(target=attack_process, args=(*attack, url, duration, attacks))
    idle = resident_mb(watch.pid) if watch is not None else 0.0
    if watch is not None:
        watch.start()
    probe_process.start()
    if attack_proc is not None:
        attack_proc.start()
    tallies, endings, elapsed, cut = asyncio.run(normal_traffic(url, clients, duration, seed, slow))
    probe = results.get(timeout=60)
    probe_process.join()
    tally = None
    if attack_proc is not None:
        tally = attacks.get(timeout=60)
        attack_proc.join()
    ended = time.monotonic()
    total = sum(len(t.latencies) for t in tallies.values())
    rate = total / elapsed
    print(f"{clients} clients, {elapsed:.0f} s, seed {seed}: {total} requests, {rate:.1f} req/s")
    print(report(tallies | {"GET /livez (prober)": probe}, elapsed))
    if cut:
        print(f"(normal requests still waiting {CUT_OFF_SECONDS:.0f} s after the end were cut off)")
    for kind, count in slow.items():
        how = ", ".join(f"{how}: {n}" for how, n in sorted(endings[kind].items()))
        print(f"{count} {kind} connections held throughout; the server ended them: {how}")
    if attack is not None and tally is not None:
        print(attack_report(*attack, tally))
    print(success_line(tallies, probe))
    if watch is not None:
        time.sleep(max(0.0, after - (time.monotonic() - ended)))
        watch.stopped.set()
        watch.join()
        processes = len(server_processes(watch.pid))
        line = (
            f"server memory (VmRSS of its {processes} processes): {idle:,.0f} MB idle at the "
            f"start, peak {watch.peak:,.0f} MB"
        )
        if watch.killed_at is not None:
            line += f"; KILLED at {watch.killed_at:,.0f} MB (over --max-server-mb)"
        elif attack is None:
            line += f", {resident_mb(watch.pid):,.0f} MB at the end"
        else:
            line += f", {resident_mb(watch.pid):,.0f} MB {after:.0f} s after the attack ended"
        if watch.replaced():
            line += f"; {watch.replaced()} worker(s) died and were replaced during the run"
        print(line, flush=True)


def wait_until_up(url: str, seconds: float = 30) -> None:
    """Poll /livez until the server answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/livez", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"no server answered at {url}")


def main() -> None:
    """Parse arguments, start a server unless --url is given, run the load."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running server (default: start one on port 8765)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds")
    parser.add_argument("--workers", type=int, default=2, help="when starting the server")
    parser.add_argument("--port", type=int, default=8765, help="when starting the server")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--class", dest="lecture", action="store_true", help="a class's lessons (see above)"
    )
    parser.add_argument("--students", type=int, default=300, help="with --class")
    parser.add_argument("--ramp", type=float, default=60.0, help="with --class: seconds")
    parser.add_argument(
        "--cores",
        type=int,
        help="with --class: the cores the server computes on, for the lessons per core "
        "(default: min(--workers, CPUs); give it with --url, e.g. the replicas' host cores)",
    )
    parser.add_argument("--slow-body", type=int, default=0, help="connections stalling a body")
    parser.add_argument(
        "--slow-headers", type=int, default=0, help="connections that never end their head"
    )
    parser.add_argument("--attack", choices=ATTACKS, help="attackers of this kind beside the load")
    parser.add_argument("--attackers", type=int, default=1, help="attacker connections (1-64)")
    parser.add_argument(
        "--after", type=float, default=60.0, help="seconds after the attack to measure memory"
    )
    parser.add_argument(
        "--server-pid", type=int, help="with --url: the server's pid, to measure its memory"
    )
    parser.add_argument(
        "--max-server-mb",
        type=float,
        default=6000.0,
        help="kill a server started here whose memory passes this",
    )
    args = parser.parse_args()
    if not 1 <= args.attackers <= 64:
        parser.error("--attackers must be between 1 and 64")
    if args.cores is not None and args.cores < 1:
        parser.error("--cores must be at least 1")
    if not 0 < args.duration <= 600:
        parser.error("--duration must be between 0 and 600 seconds")
    slow = {"slow body": args.slow_body, "partial headers": args.slow_headers}
    server = None
    url = args.url
    if url is None:
        url = f"http://127.0.0.1:{args.port}"
        env = os.environ | {
            "HOST": "127.0.0.1",
            "PORT": str(args.port),
            "WORKERS": str(args.workers),
            "GRACEFUL_TIMEOUT": "10",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "app.server"], env=env, stdout=subprocess.DEVNULL
        )
        wait_until_up(url)
        time.sleep(2)  # let the workers settle before the idle memory is read
    elif args.attack and not url.startswith("http://127.0.0.1:"):
        parser.error("with --attack, --url must be http://127.0.0.1:PORT: attacks stay local")
    if args.lecture:
        cores = args.cores or min(args.workers, os.cpu_count() or 1)
        try:
            print(class_run(url, args.students, args.ramp, cores), flush=True)
        finally:
            if server is not None:
                stop_server(server)
        return
    pid = server.pid if server is not None else args.server_pid
    watch = MemoryWatch(pid, args.max_server_mb, server) if pid is not None else None
    attack = (args.attack, args.attackers) if args.attack else None
    try:
        run(
            url,
            args.clients,
            args.duration,
            args.seed,
            {k: n for k, n in slow.items() if n},
            attack,
            watch,
            args.after if attack else 0.0,
        )
    finally:
        if server is not None:
            stop_server(server)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop the server this script started: SIGTERM, then SIGKILL to each of its processes."""
    processes = server_processes(server.pid)
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        for process in reversed(processes):
            with contextlib.suppress(OSError):
                os.kill(process, signal.SIGKILL)
        server.wait()


if __name__ == "__main__":
    main()
