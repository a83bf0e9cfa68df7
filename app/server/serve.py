"""Run the service: ``python -m app.server`` (what ``make run`` and the container do).

``WORKERS`` processes (default 1) share ``BLAS_THREADS`` (default: the machine's cores divided
among the workers, at least 1), set before NumPy loads so that workers do not oversubscribe the
cores; with several workers they share a temporary ``PROMETHEUS_MULTIPROC_DIR`` (or the one
given) so that /metrics counts all of them, and a temporary ``BACKPROP_SLOTS_DIR`` so that
``BACKPROP_MAX_CONCURRENT`` (default: 4 per worker) caps the server's compute requests whichever
worker a connection reaches. ``HOST`` and ``PORT`` say where to listen. On
SIGTERM uvicorn stops accepting connections and lets in-flight requests finish (up to
``GRACEFUL_TIMEOUT`` seconds, default 30). uvicorn closes a keep-alive connection idle for
``KEEPALIVE_TIMEOUT`` seconds (default 5); its HTTP protocol is
:class:`~app.server.send_timeout.SendTimeoutProtocol`, which also bounds each request head in time
and size, each worker's open connections and answers what it cannot parse in the API's format
(:mod:`app.server.http_protocol`), and bounds the time an answer waits on a client that does not
read it (:mod:`app.server.send_timeout`), and the process may open enough files for them. Unless
they are set, the command first runs itself again with ``PYTHONMALLOC=malloc`` and
``MALLOC_ARENA_MAX=1``, so that freed Python objects go back to glibc's allocator, in one arena,
which can hand them back to the kernel.
"""

import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path

import uvicorn

from app.config import Settings, get_settings
from app.server.send_timeout import SendTimeoutProtocol

BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number ≥ 1, got {raw!r}")
    return int(raw)


def _metrics_dir(workers: int) -> str | None:
    """Give the workers one directory for their metric files, so /metrics sums all of them.

    Returns the directory to delete at exit when it was created here. The variable must be set
    before any worker imports prometheus_client; the workers inherit it.
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if given:  # the operator's directory: keep it, but drop an earlier run's counts
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return None
    if workers == 1:
        return None
    created = tempfile.mkdtemp(prefix="backprop-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
    return created


def _shared_slots(workers: int) -> str | None:
    """Give several workers one pool of compute slots; returns the directory to delete at exit.

    Without ``BACKPROP_MAX_CONCURRENT`` the server runs 4 compute requests per worker.
    """
    limit = Settings().max_concurrent
    if not os.environ.get(limit.env, "").strip():
        os.environ[limit.env] = str(limit.value * workers)
    if workers == 1:
        return None
    created = tempfile.mkdtemp(prefix="backprop-slots-")
    os.environ["BACKPROP_SLOTS_DIR"] = created
    return created


FILES_BESIDE_CONNECTIONS = 256
"""Open files a worker needs besides its connections: the listening socket, logs, libraries,
metric and slot files."""


def _open_files_for_connections() -> None:
    """Raise the soft open-file limit to what ``BACKPROP_MAX_CONNECTIONS`` needs (up to the hard
    limit), so that the connection bound, not the file limit, is what a flood of clients meets."""
    wanted = get_settings().max_connections.value + FILES_BESIDE_CONNECTIONS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        if raised < wanted:
            print(
                f"warning: the open-file limit ({hard}) is below BACKPROP_MAX_CONNECTIONS + "
                f"{FILES_BESIDE_CONNECTIONS}; lower BACKPROP_MAX_CONNECTIONS or raise the limit",
                file=sys.stderr,
            )


ALLOCATOR_ENVIRONMENT = {"PYTHONMALLOC": "malloc", "MALLOC_ARENA_MAX": "1"}
"""The allocator settings this command runs under, each unless the operator set it."""


def with_system_allocator() -> None:
    """Run this command again under :data:`ALLOCATOR_ENVIRONMENT` unless the operator set each
    variable (both are read only when the process starts).

    ``PYTHONMALLOC=malloc``: Python's own small-object allocator keeps each 1 MiB arena while any
    object in it lives: after a large body's million objects are freed, a few long-lived objects
    of other requests keep arenas of empty pools (52 MB of them in a worker after eight error
    bombs beside normal traffic), which nothing can hand back. glibc's malloc, one arena
    trimmed when the process falls idle (:mod:`app.server.allocator`), hands free pages back: the
    same worker came back within 5% of its idle size. ``make bench`` showed no cost (http,
    engine-tiny, train).

    ``MALLOC_ARENA_MAX=1``: the one arena from the first allocation. With several workers,
    uvicorn starts a thread in each (it answers the supervisor's health checks) before the app
    starts and sets the limit with ``mallopt``; that thread's allocation made a second arena,
    which the compute threads then shared with the main one, and whose free memory is never
    handed back (a worker after eight error bombs: 192 MB in it, 0.3 MB in use, and 130 MB
    resident against 80 MB idle; with the variable, 85 MB).
    """
    unset = {name: value for name, value in ALLOCATOR_ENVIRONMENT.items() if name not in os.environ}
    if unset:
        os.environ.update(unset)
        os.execv(sys.executable, [sys.executable, "-m", "app.server"])


def main() -> None:
    """Cap BLAS threads per worker, share metrics and compute slots, then hand over to uvicorn."""
    workers = _positive_int("WORKERS", 1)
    os.environ["WORKERS"] = str(workers)  # the workers read it to know their share of the slots
    threads = _positive_int("BLAS_THREADS", max(1, (os.cpu_count() or 1) // workers))
    for name in BLAS_VARIABLES:
        os.environ[name] = str(threads)
    _open_files_for_connections()
    created = [path for path in (_metrics_dir(workers), _shared_slots(workers)) if path]
    try:
        uvicorn.run(
            "app.main:app",
            host=os.environ.get("HOST", "127.0.0.1"),
            port=_positive_int("PORT", 8000),
            workers=workers,
            http=SendTimeoutProtocol,
            timeout_keep_alive=_positive_int("KEEPALIVE_TIMEOUT", 5),
            timeout_graceful_shutdown=_positive_int("GRACEFUL_TIMEOUT", 30),
            access_log=False,  # the app writes one JSON line per request instead
        )
    finally:
        for path in created:
            shutil.rmtree(path, ignore_errors=True)
