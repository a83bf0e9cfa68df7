"""Load test: many concurrent clients on mixed endpoints against a local server, for minutes.

    python bench/load.py                       # starts `python -m app.serve` itself on port 8765
    python bench/load.py --url http://127.0.0.1:8000 --clients 32 --duration 180
    python bench/load.py --slow-body 50 --slow-headers 50   # the same, with slow clients too

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
"""

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from multiprocessing import Process, Queue
from pathlib import Path
from typing import Any

import httpx

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


def prober(url: str, duration: float, results: "Queue[Tally]") -> None:
    """Measure /livez every 50 ms while the load runs, in a process of its own so that the load
    generator's busy event loop does not count as the server's latency."""
    tally = Tally()
    stop = time.monotonic() + duration
    with httpx.Client(base_url=url, timeout=30) as http:
        while time.monotonic() < stop:
            started = time.monotonic()
            try:
                response = http.get("/livez")
                if response.status_code == 200:
                    tally.latencies.append(time.monotonic() - started)
                else:
                    tally.errors[str(response.status_code)] += 1
            except httpx.HTTPError as error:
                tally.errors[type(error).__name__] += 1
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


async def run(
    url: str, clients: int, duration: float, seed: int, slow: dict[str, int] | None = None
) -> None:
    """Run the load (and ``slow`` connections of each kind) and print the report."""
    tallies: dict[str, Tally] = {m[0]: Tally() for m in MIX}
    results: Queue[Tally] = Queue()
    probe_process = Process(target=prober, args=(url, duration, results))
    probe_process.start()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(120.0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as http:
        started = time.monotonic()
        stop = started + duration
        endings: dict[str, dict[str, int]] = {kind: defaultdict(int) for kind in slow or {}}
        slow_tasks = [
            slow_client(url, kind, stop, endings[kind])
            for kind, count in (slow or {}).items()
            for _ in range(count)
        ]
        await asyncio.gather(
            *(client(http, random.Random(seed + i), stop, tallies) for i in range(clients)),
            *slow_tasks,
        )
        elapsed = time.monotonic() - started
    probe = results.get(timeout=60)
    probe_process.join()
    total = sum(len(t.latencies) for t in tallies.values())
    rate = total / elapsed
    print(f"{clients} clients, {elapsed:.0f} s, seed {seed}: {total} requests, {rate:.1f} req/s")
    print(report(tallies | {"GET /livez (prober)": probe}, elapsed))
    for kind, count in (slow or {}).items():
        ended = ", ".join(f"{how}: {n}" for how, n in sorted(endings[kind].items()))
        print(f"{count} {kind} connections held throughout; the server ended them: {ended}")


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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slow-body", type=int, default=0, help="connections stalling a body")
    parser.add_argument(
        "--slow-headers", type=int, default=0, help="connections that never end their head"
    )
    args = parser.parse_args()
    slow = {"slow body": args.slow_body, "partial headers": args.slow_headers}
    server = None
    url = args.url
    if url is None:
        url = "http://127.0.0.1:8765"
        env = os.environ | {"PORT": "8765", "WORKERS": str(args.workers)}
        server = subprocess.Popen(
            [sys.executable, "-m", "app.serve"], env=env, stdout=subprocess.DEVNULL
        )
        wait_until_up(url)
    try:
        asyncio.run(
            run(url, args.clients, args.duration, args.seed, {k: n for k, n in slow.items() if n})
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
