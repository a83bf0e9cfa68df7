"""Run the service: ``python -m app.serve`` (what ``make run`` and the container do).

``WORKERS`` processes (default 1) share ``BLAS_THREADS`` (default: the machine's cores divided
among the workers, at least 1), set before NumPy loads so that workers do not oversubscribe the
cores. ``HOST`` and ``PORT`` say where to listen. On SIGTERM uvicorn stops accepting connections
and lets in-flight requests finish (up to ``GRACEFUL_TIMEOUT`` seconds, default 30).
"""

import os

import uvicorn

BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number ≥ 1, got {raw!r}")
    return int(raw)


def main() -> None:
    """Cap BLAS threads per worker, then hand over to uvicorn."""
    workers = _positive_int("WORKERS", 1)
    threads = _positive_int("BLAS_THREADS", max(1, (os.cpu_count() or 1) // workers))
    for name in BLAS_VARIABLES:
        os.environ[name] = str(threads)
    uvicorn.run(
        "app.main:app",
        host=os.environ.get("HOST", "127.0.0.1"),
        port=_positive_int("PORT", 8000),
        workers=workers,
        timeout_graceful_shutdown=_positive_int("GRACEFUL_TIMEOUT", 30),
    )


if __name__ == "__main__":
    main()
