"""The benchmark suite (issue 6): each figure as a ratio against a baseline run in the same run.

    python -m bench                          # everything, 5 repetitions (what `make bench` runs)
    python -m bench --quick                  # smaller sizes and 3 repetitions, for development
    python -m bench engine-tiny http --repeat 3

Benchmarks: engine-tiny and engine-large (bench/engine.py), minibatch and validation
(bench/minibatch.py), train and stream
(bench/end_to_end.py), http (bench/http_overhead.py), memory (bench/memory.py), explain
(bench/explain.py), startup (bench/startup.py). Each prints its
repetitions, then a line with the median, the baseline's median, the ratio and the target with
PASS or FAIL; at the end a Markdown table of all of them and the machine they ran on. Servers
are started here (``python -m app.server``, one worker, a free port) and stopped at the end.
The exit status is 1 when any benchmark fails its target or its correctness check.
"""

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.server.allocator import keep_freed_memory
from bench.common import Result, machine, table
from bench.end_to_end import full_traces
from bench.engine import engine_large, engine_tiny
from bench.explain import explain_brief
from bench.http_overhead import http_overhead
from bench.memory import peak_memory
from bench.minibatch import minibatch, validation
from bench.startup import startup

NAMES = [
    "engine-tiny", "engine-large", "minibatch", "validation", "train", "stream", "http", "memory",
    "explain", "startup",
]  # fmt: skip
FULL = {
    "tiny": 100_000, "large": 50, "batches": 500, "trace": 20_000, "seconds": 10.0, "repeat": 5
}  # fmt: skip
QUICK = {"tiny": 10_000, "large": 10, "batches": 100, "trace": 2_000, "seconds": 2.0, "repeat": 3}


def parse_args() -> argparse.Namespace:
    """The command line: which benchmarks, how many repetitions, full or quick sizes."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "benchmarks", nargs="*", metavar="NAME", help=f"any of {', '.join(NAMES)} (default: all)"
    )
    parser.add_argument("--repeat", type=int, help="repetitions per benchmark (default 5)")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes, 3 repetitions, 2 s wrk runs"
    )
    parser.add_argument("--wrk-seconds", type=float, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    args = parser.parse_args()
    unknown = sorted(set(args.benchmarks) - set(NAMES))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    return args


def guarded(name: str, run: Callable[[], list[Result]]) -> list[Result]:
    """Run one benchmark; an exception becomes a FAIL row so that the others still run."""
    print(f"\n## {name}", flush=True)
    started = time.monotonic()
    try:
        results = run()
    except Exception as error:
        traceback.print_exc()
        results = [Result(name, "-", "-", None, None, False, f"error: {error}")]
    for result in results:
        print(result.line())
    print(f"  ({time.monotonic() - started:.0f} s)", flush=True)
    return results


def main() -> int:
    """Run the selected benchmarks, print the table and the machine; 1 if any failed."""
    args = parse_args()
    sizes = QUICK if args.quick else FULL
    repeat = args.repeat or int(sizes["repeat"])
    seconds = args.wrk_seconds or sizes["seconds"]
    tiny, large, trace = int(sizes["tiny"]), int(sizes["large"]), int(sizes["trace"])
    batches = int(sizes["batches"])
    chosen = args.benchmarks or NAMES
    # The engine benchmarks run in this process: under the allocator settings of the server's.
    kept = keep_freed_memory()
    print(f"Machine: {machine()}")
    print(f"Repetitions: {repeat} (figures are medians){'; quick sizes' if args.quick else ''}")
    print(f"Allocator: freed memory kept for reuse as in the server: {kept}")
    results: list[Result] = []
    if "engine-tiny" in chosen:
        results += guarded("engine-tiny", lambda: engine_tiny(tiny, repeat))
    if "engine-large" in chosen:
        results += guarded("engine-large", lambda: [engine_large(large, repeat)])
    if "minibatch" in chosen:
        results += guarded("minibatch", lambda: minibatch(batches, repeat))
    if "validation" in chosen:
        results += guarded("validation", lambda: [validation(batches, repeat)])
    traces = [name for name in ("stream", "train") if name in chosen]
    if traces:
        results += guarded(" and ".join(traces), lambda: full_traces(trace, repeat, traces))
    if "http" in chosen:
        results += guarded("http", lambda: [http_overhead(repeat, seconds, args.connections)])
    if "memory" in chosen:
        results += guarded("memory", lambda: [peak_memory(trace)])
    if "explain" in chosen:
        results += guarded("explain", lambda: [explain_brief(repeat)])
    if "startup" in chosen:
        results += guarded("startup", lambda: startup(repeat))
    print("\n" + table(results))
    print(f"\nMachine: {machine()}")
    return 1 if any(result.ok is False for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
