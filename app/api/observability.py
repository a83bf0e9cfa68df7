"""Observability: a request id on every response, one JSON access-log line per request, and
Prometheus metrics at ``GET /metrics``.

:class:`Observability` is a pure ASGI middleware (so streamed answers stay streamed). For each HTTP
request it

* takes the client's ``X-Request-ID`` if it matches ``[A-Za-z0-9._:-]{1,128}``, else makes a new
  one (uuid4 hex), and sends it back on every response: errors, 404s and streams included; handlers
  can read it as ``request.state.request_id`` or :func:`current_request_id`;
* counts the request and its duration per route template (``/train``, never the raw path; a
  mounted app's files by its mount path, ``/static``; unknown paths are ``unmatched``) and counts
  413, 422 and 503 answers as rejections;
* writes one JSON line to stdout (logger ``backprop.access``) when the answer has been sent, for a
  stream when the stream has ended: ``time``, ``level``, ``request_id``, ``method``, ``route``,
  ``path``, ``status``, ``duration_ms``, ``epochs``, ``client``.

Training code reports what metrics cannot see from outside with :func:`record_training`, which
also puts the epochs into the request's log line. Metrics and logging never break a response: their
failures are logged and swallowed.

With several worker processes each one counts in its own memory, so a scrape would see one worker
only. Prometheus' multiprocess mode fixes that: when ``PROMETHEUS_MULTIPROC_DIR`` names a directory
at process start (``python -m app.serve`` sets it for ``WORKERS`` > 1), every process writes its
values to files there and ``/metrics`` sums the files of all workers at each scrape.
"""

import logging
import os
import re
import sys
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final, TextIO

import orjson
from fastapi import APIRouter
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus' text exposition format, understood by every Prometheus version."""

MULTIPROC_DIR: Final = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
"""Read once, as prometheus_client does: the choice of value storage is made at import time."""

TRAINING_STATUSES: Final = ("completed", "diverged", "target_reached", "deadline_exceeded")
REJECTION_REASONS: Final = ("validation", "body_too_large", "busy", "non_finite")
_REJECTIONS_BY_STATUS: Final = {413: "body_too_large", 422: "validation", 503: "busy"}
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_MAX_LOGGED_PATH: Final = 2048
_MAX_SNIFFED_BODY: Final = 64 * 1024
# 1 ms … 60 s: from /livez to the longest training run a deadline allows.
_DURATION_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip

# The metrics are the one sanctioned module-level state outside the engine: they count what the
# whole process (with PROMETHEUS_MULTIPROC_DIR, the whole service) has done, however many apps
# create_app builds. Their own registry keeps /metrics identical in both modes.
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
    "busy (503).",
    ["reason"],
    registry=REGISTRY,
)
for _status in TRAINING_STATUSES:
    TRAINING_RUNS.labels(_status)
for _reason in REJECTION_REASONS:
    REJECTIONS.labels(_reason)

_log = logging.getLogger(__name__)
access_log: Final = logging.getLogger("backprop.access")


@dataclass
class RequestRecord:
    """What the access-log line of the request being served needs from inside the app."""

    request_id: str
    epochs: int | None = None


# The request being served. It holds a mutable record, so that code running in a copy of the
# context (sync handlers and stream generators run in worker threads) can add to it.
_current: ContextVar[RequestRecord | None] = ContextVar("backprop_request", default=None)


def record_training(status: str, epochs: int) -> None:
    """Count a training run that ended with ``status`` after ``epochs`` epochs.

    Call it once per run, when the run ends (for a stream, when its summary is produced). Called
    while serving a request, it also adds the epochs to that request's log line.
    """
    try:
        TRAINING_RUNS.labels(status).inc()
        EPOCHS.inc(epochs)
        record = _current.get()
        if record is not None:
            record.epochs = (record.epochs or 0) + epochs
    except Exception:
        _log.exception("could not record a training run")


def record_rejection(reason: str) -> None:
    """Count a refused request. The middleware already counts every 413, 422 and 503 answer, so
    call this only for a refusal that is answered with another status."""
    try:
        REJECTIONS.labels(reason).inc()
    except Exception:
        _log.exception("could not record a rejection")


@cache
def _request_metrics(route: str, method: str, status: int) -> tuple[Counter, Histogram]:
    """The request counter and duration histogram children for these labels.

    Cached for speed: ``labels()`` costs microseconds per call (label checks, a lock) and always
    returns the same child; routes, methods and statuses are few, so the cache stays small.
    """
    return REQUESTS.labels(route, method, str(status)), DURATION.labels(route, method)


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    record = _current.get()
    return record.request_id if record else None


def exposition() -> bytes:
    """The metrics in Prometheus' text format: this process's, or every worker's in multiprocess
    mode (a fresh registry per scrape, as prometheus_client requires)."""
    if MULTIPROC_DIR is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"description": "Prometheus text exposition format, version 0.0.4"}},
)
def metrics() -> PlainTextResponse:
    """Request counts and latencies per route, epochs trained, training outcomes and rejections,
    summed over all worker processes, in Prometheus' text format."""
    return PlainTextResponse(exposition(), media_type=CONTENT_TYPE)


class _JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, then the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
        }
        fields = getattr(record, "fields", None)
        line |= fields if isinstance(fields, dict) else {"message": record.getMessage()}
        return orjson.dumps(line, default=str).decode()


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to the current ``sys.stdout``, looked up at each line (test capture replaces it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_access_log() -> None:
    """Send ``backprop.access`` lines, as JSON, to stdout only; safe to call any number of times."""
    if not any(isinstance(handler, _StdoutHandler) for handler in access_log.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(_JsonFormatter())
        access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.fullmatch(text) else uuid.uuid4().hex
    return uuid.uuid4().hex


def route_template(scope: Scope, status: int) -> str:
    """The matched route's path template, so that label values stay few whatever the paths."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    # A mounted app (the docs' static files) is labelled with its mount path, never a file name.
    if "app_root_path" in scope:
        return str(scope["root_path"])[len(scope["app_root_path"]) :]
    # FastAPI leaves "route" out for its plain Starlette routes (/docs, /openapi.json); a matched
    # route without path parameters has its template as its path.
    if scope.get("endpoint") is not None and not scope.get("path_params"):
        return str(scope["path"])
    # Refused before routing (the concurrency cap's 503): the path if it is a documented one.
    # FastAPI builds the schema once per app (~0.2 s) and caches it; a 404 never needs it.
    openapi = getattr(scope.get("app"), "openapi", None)
    if status != 404 and callable(openapi) and scope["path"] in openapi().get("paths", {}):
        return str(scope["path"])
    return "unmatched"


def _rejection(status: int, body: bytes) -> str | None:
    reason = _REJECTIONS_BY_STATUS.get(status)
    if reason == "validation" and b'"non_finite"' in body:
        try:
            detail = orjson.loads(body)["detail"]
            if any(error.get("type") == "non_finite" for error in detail):
                return "non_finite"
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            pass
    return reason


@dataclass
class _Exchange:
    """One request's answer as the middleware saw it go out."""

    started: float
    status: int = 500
    response_started: bool = False
    ended: float | None = None
    failed: bool = False
    error_body: bytes = b""


class Observability:
    """Request id, metrics and one access-log line for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tag the answer with the request id; record metrics and log once it is sent."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(started=time.perf_counter())
        record = RequestRecord(_request_id(scope))
        scope.setdefault("state", {})["request_id"] = record.request_id
        token = _current.set(record)

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.response_started, exchange.status = True, message["status"]
                message.setdefault("headers", [])
                MutableHeaders(scope=message)["X-Request-ID"] = record.request_id
            elif message["type"] == "http.response.body":
                if exchange.status == 422:  # to tell the engine's non_finite from validation
                    exchange.error_body = (exchange.error_body + message.get("body", b""))[
                        :_MAX_SNIFFED_BODY
                    ]
                if not message.get("more_body", False):
                    exchange.ended = time.perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, send_tagged)
        except Exception:
            exchange.failed = True
            if not exchange.response_started:
                # Answer in the API's error shape, with the id; the server still logs the error.
                response = JSONResponse({"detail": "Internal Server Error"}, 500)
                try:
                    await response(scope, receive, send_tagged)
                except Exception:
                    _log.exception("could not send the 500 answer")
            raise
        finally:
            _current.reset(token)
            self._finish(scope, record, exchange)

    @staticmethod
    def _finish(scope: Scope, record: RequestRecord, exchange: _Exchange) -> None:
        """Metrics and the log line of a finished request; failures here never reach the client."""
        try:
            duration = (exchange.ended or time.perf_counter()) - exchange.started
            status = exchange.status
            route = route_template(scope, status)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            requests, durations = _request_metrics(route, method, status)
            requests.inc()
            durations.observe(duration)
            reason = _rejection(status, exchange.error_body)
            if reason is not None:
                record_rejection(reason)
            client = scope.get("client")
            fields = {
                "request_id": record.request_id,
                "method": scope["method"],
                "route": route,
                "path": scope["path"][:_MAX_LOGGED_PATH],
                "status": status,
                "duration_ms": round(duration * 1000, 3),
                "epochs": record.epochs,
                "client": f"{client[0]}:{client[1]}" if client else None,
            }
            level = logging.ERROR if exchange.failed or status >= 500 else logging.INFO
            access_log.log(level, "request", extra={"fields": fields})
        except Exception:
            _log.exception("could not record request %s", record.request_id)
