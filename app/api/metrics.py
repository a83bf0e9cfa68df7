"""Prometheus metrics: requests, durations, epochs, training outcomes and rejections, served at
``GET /metrics`` by :mod:`app.api.routes.metrics`.

The metrics are the one sanctioned module-level state outside the engine: they count what the
whole process has done, however many apps ``create_app`` builds, in a registry of their own. With
several worker processes each one counts in its own memory, so a scrape would see one worker only;
Prometheus' multiprocess mode fixes that: when ``PROMETHEUS_MULTIPROC_DIR`` names a directory at
process start (``python -m app.server`` sets it for ``WORKERS`` > 1), every process writes its
values to files there and ``/metrics`` sums the files of all workers at each scrape. Recording
never breaks a response: its failures are logged and swallowed.
"""

import logging
import os
from functools import cache
from typing import Final, Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from app.api.middleware import request_context
from app.nn.training import Status

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus' text exposition format, understood by every Prometheus version."""

MULTIPROC_DIR: Final = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
"""Read once, as prometheus_client does: the choice of value storage is made at import time."""

TRAINING_STATUSES: Final = get_args(Status)
RejectionReason = Literal[
    "validation",
    "body_too_large",
    "busy",
    "non_finite",
    "deadline_exceeded",
    "body_timeout",
    "header_timeout",
    "header_too_large",
    "connections",
    "malformed_request",
    "uri_too_long",
    "unsupported_upgrade",
    "send_timeout",
]
REJECTION_REASONS: Final = get_args(RejectionReason)
# 1 ms … 60 s: from /livez to the longest training run a deadline allows.
_DURATION_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip

REGISTRY: Final = CollectorRegistry()
REQUESTS: Final = Counter(
    "backprop_requests_total",
    "HTTP requests answered, per route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
DURATION: Final = Histogram(
    "backprop_request_duration_seconds",
    "Time from a request's arrival to the end of its answer (of the stream, for streams).",
    ["route", "method"],
    buckets=_DURATION_BUCKETS,
    registry=REGISTRY,
)
EPOCHS: Final = Counter(
    "backprop_epochs_trained_total",
    "Training epochs run, over /train and /train/stream.",
    registry=REGISTRY,
)
TRAINING_RUNS: Final = Counter(
    "backprop_training_runs_total",
    "Training runs ended, per final status.",
    ["status"],
    registry=REGISTRY,
)
REJECTIONS: Final = Counter(
    "backprop_rejected_requests_total",
    "Requests refused, per reason: validation and non_finite (422), body_too_large (413), "
    "busy (503), body_timeout (408); and by the HTTP protocol before the app: header_timeout "
    "(408), header_too_large (431), connections (503, the worker's connection bound), "
    "malformed_request (400, not valid HTTP/1.1), uri_too_long (414), unsupported_upgrade "
    "(400, an Upgrade request with a body), send_timeout (499: the client read none of its "
    "answer in time; the connection is aborted).",
    ["reason"],
    registry=REGISTRY,
)
for _status in TRAINING_STATUSES:
    TRAINING_RUNS.labels(_status)
for _reason in REJECTION_REASONS:
    REJECTIONS.labels(_reason)

_log = logging.getLogger(__name__)


def record_training(status: str, epochs: int) -> None:
    """Count a training run that ended with ``status`` after ``epochs`` epochs.

    Call it once per run, when the run ends (for a stream, when its summary is produced). Called
    while serving a request, it also adds the epochs to that request's log line.
    """
    try:
        TRAINING_RUNS.labels(status).inc()
        EPOCHS.inc(epochs)
        record = request_context.current()
        if record is not None:
            record.epochs = (record.epochs or 0) + epochs
    except Exception:
        _log.exception("could not record a training run")


def record_rejection(reason: RejectionReason) -> None:
    """Count a refused request where it is refused; the request's own answer is then not counted
    again by its status (see :func:`app.api.middleware.observability.rejection_of`)."""
    try:
        REJECTIONS.labels(reason).inc()
        record = request_context.current()
        if record is not None:
            record.rejection_counted = True
    except Exception:
        _log.exception("could not record a rejection")


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count an answered request and its duration."""
    requests, durations = _request_metrics(route, method, status)
    requests.inc()
    durations.observe(seconds)


@cache
def _request_metrics(route: str, method: str, status: int) -> tuple[Counter, Histogram]:
    """The request counter and duration histogram children for these labels.

    Cached for speed: ``labels()`` costs microseconds per call (label checks, a lock) and always
    returns the same child; routes, methods and statuses are few, so the cache stays small.
    """
    return REQUESTS.labels(route, method, str(status)), DURATION.labels(route, method)


def exposition() -> bytes:
    """The metrics in Prometheus' text format: this process's, or every worker's in multiprocess
    mode (a fresh registry per scrape, as prometheus_client requires)."""
    if MULTIPROC_DIR is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
