"""End-to-end benchmarks: the notebook's network trained through a real server, full trace.

Both time POSTs of the notebook's request for N epochs with the default trace (every epoch,
every field) at the client, from sending to the last byte received, against one in-process
baseline: the notebook's loop recording the same numbers into the same JSON layout, then
``orjson.dumps`` of the whole document (bench/notebook.py ``run_recorded``).

* ``train``: POST /train, one JSON answer.
* ``stream``: POST /train/stream, JSON Lines, while a thread samples the server's resident
  memory (VmRSS) to show that a stream's memory stays flat.
"""

import threading
from dataclasses import dataclass, field

import httpx
import orjson

from app import examples
from bench import notebook
from bench.common import MB, Result, Server, Target, median, proc_status_kb, spread, timed

TRAIN_TARGET = Target(2.0)
STREAM_TARGET = Target(2.5)
SIZE_FACTOR = 1.25  # the answer and the baseline's JSON must be this close in size
JSON = {"content-type": "application/json"}


def train_body(epochs: int) -> bytes:
    """The notebook's /train request for ``epochs`` epochs, default (full) trace."""
    return orjson.dumps(examples.TRAIN | {"epochs": epochs})


def baseline(epochs: int) -> bytes:
    """The notebook's loop keeping every number of the answer, serialized like the answer."""
    return orjson.dumps(notebook.run_recorded(epochs))


def post_train(http: httpx.Client, body: bytes) -> bytes:
    """POST /train and read the whole answer."""
    response = http.post("/train", content=body, headers=JSON)
    if response.status_code != 200:
        raise RuntimeError(f"/train answered {response.status_code}: {response.text[:500]}")
    return response.content


def post_stream(http: httpx.Client, body: bytes) -> bytes:
    """POST /train/stream and read every line until the stream ends."""
    with http.stream("POST", "/train/stream", content=body, headers=JSON) as response:
        if response.status_code != 200:
            raise RuntimeError(f"/train/stream answered {response.status_code}")
        return b"".join(response.iter_bytes())


@dataclass
class RssSampler:
    """Samples a process's VmRSS every ``interval`` seconds in a thread, while in its block."""

    pid: int
    interval: float = 0.01
    samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(proc_status_kb(self.pid, "VmRSS"))
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def full_traces(epochs: int, repeat: int, which: list[str]) -> list[Result]:
    """Run the selected ``train`` and ``stream`` benchmarks on one server, one baseline."""
    body = train_body(epochs)
    base_times: list[float] = []

    def measure_baseline() -> bytes:
        seconds, document = timed(lambda: baseline(epochs))
        base_times.append(seconds)
        return document

    results: dict[str, tuple[list[float], bytes]] = {}
    rss = RssSampler(0)
    with Server() as server, httpx.Client(base_url=server.url, timeout=None) as http:
        post_train(http, train_body(10)), post_stream(http, train_body(10))  # warm-up
        rss.pid = server.pid
        idle_kb = proc_status_kb(server.pid, "VmRSS")
        # The streams first: their memory is then not mixed with what a /train answer leaves.
        for name in ("stream", "train"):
            if name not in which:
                continue
            times = []
            for _ in range(repeat):  # interleaved with the baseline
                expected = measure_baseline()
                seconds, answer = _timed_post(http, body, name, rss)
                times.append(seconds)
            results[name] = (times, answer)
    base = median(base_times)
    print(
        f"  baseline (notebook loop + orjson.dumps), {epochs:,} epochs × {len(base_times)}: "
        f"{spread(base_times)}, {len(expected) / MB:.1f} MB of JSON"
    )
    rows = []
    if "stream" in results:
        rows.append(_stream_result(epochs, results["stream"], base, expected, rss, idle_kb))
    if "train" in results:
        rows.append(_train_result(epochs, results["train"], base, expected))
    return rows


def _timed_post(http: httpx.Client, body: bytes, name: str, rss: RssSampler) -> tuple[float, bytes]:
    """One timed request; a stream's runs while ``rss`` samples the server's memory."""
    if name == "train":
        return timed(lambda: post_train(http, body))
    with rss:
        return timed(lambda: post_stream(http, body))


def _sizes_close(got: int, expected: int) -> bool:
    return 1 / SIZE_FACTOR <= got / expected <= SIZE_FACTOR


def _train_result(
    epochs: int, run: tuple[list[float], bytes], base: float, expected: bytes
) -> Result:
    """The /train row: time, sizes, whether the answer holds the baseline's very numbers."""
    times, answer = run
    same = orjson.loads(answer) == orjson.loads(expected)
    close = _sizes_close(len(answer), len(expected))
    print(
        f"  POST /train × {len(times)}: {spread(times)}; answer {len(answer):,} bytes, "
        f"baseline JSON {len(expected):,} bytes (within {SIZE_FACTOR}×: {close}); "
        f"same document as the baseline: {same}"
    )
    if not close:
        print(f"FAILURE: /train's answer and the baseline's JSON differ by over {SIZE_FACTOR}×")
    measured = median(times)
    return Result(
        f"POST /train, notebook net, {epochs:,} epochs, full trace ({len(answer) / MB:.1f} MB)",
        f"{measured:.2f} s",
        f"{base:.2f} s (notebook loop + orjson, {len(expected) / MB:.1f} MB)",
        measured / base,
        TRAIN_TARGET,
        checks_ok=close,
        note="" if close else "answer size far from the baseline's",
    )


def _stream_result(
    epochs: int,
    run: tuple[list[float], bytes],
    base: float,
    expected: bytes,
    rss: RssSampler,
    idle_kb: int,
) -> Result:
    """The /train/stream row: time, lines, and the server's memory during the streams."""
    times, answer = run
    lines = answer.splitlines()
    summary = orjson.loads(lines[-1])
    complete = len(lines) == epochs + 1 and summary.get("epochs_run") == epochs
    same_end = summary.get("network") == orjson.loads(expected)["network"]
    low, high = min(rss.samples) / 1024, max(rss.samples) / 1024
    print(
        f"  POST /train/stream × {len(times)}: {spread(times)}; {len(lines):,} lines, "
        f"{len(answer):,} bytes; final network equal to the baseline's: {same_end}; server "
        f"VmRSS idle {idle_kb / 1024:.1f} MB, during the streams {low:.1f} to {high:.1f} MB "
        f"({len(rss.samples)} samples)"
    )
    if not complete:
        print(f"FAILURE: the stream has {len(lines)} lines, expected {epochs + 1}")
    measured = median(times)
    return Result(
        f"POST /train/stream, notebook net, {epochs:,} epochs, full trace",
        f"{measured:.2f} s (server RSS {low:.0f}-{high:.0f} MB)",
        f"{base:.2f} s (notebook loop + orjson)",
        measured / base,
        STREAM_TARGET,
        checks_ok=complete,
        note="" if complete else "stream incomplete",
    )
