"""Observability middleware: a request id on every response, metrics and one access-log line per
request.

:class:`Observability` is a pure ASGI middleware (so streamed answers stay streamed). For each HTTP
request it

* gives it an id (:mod:`app.api.middleware.request_context`) and sends it back as
  ``X-Request-ID`` on every response: errors, 404s and streams included; handlers can read it as
  ``request.state.request_id``;
* counts the request and its duration per route template (``/train``, never the raw path; a
  mounted app's files by its mount path, ``/static``; unknown paths are ``unmatched``) in
  :mod:`app.api.metrics`, and counts a 408, 413, 422 or 503 answer as a rejection unless the code
  that refused it already counted it with its own reason;
* writes its line to :mod:`app.api.middleware.access_log` when the answer has been sent, for a
  stream when the stream has ended; an answer that never ended without an error (the client went
  away, or the send timeout cut it off) is logged with status 499;
* answers an unexpected exception (before any answer started) with a JSON ``500``
  ``{"detail": "Internal Server Error"}`` and ``Connection: close``, then lets the exception
  reach the server, which logs it and closes the connection.

Metrics and logging never break a response: their failures are logged and swallowed.
"""

import logging
import time
from dataclasses import dataclass
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import metrics
from app.api.metrics import RejectionReason
from app.api.middleware import access_log, request_context
from app.api.middleware.request_context import RequestRecord

REJECTIONS_BY_STATUS: Final[dict[int, RejectionReason]] = {
    408: "body_timeout",
    413: "body_too_large",
    422: "validation",
    503: "busy",
}
"""The reason a refusal counts under when the code that refused it did not count it itself."""
CLIENT_CLOSED_REQUEST: Final = 499
"""The status logged for a client that left before its answer (nginx's convention)."""
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_MAX_LOGGED_PATH: Final = 2048

_log = logging.getLogger(__name__)


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
    # Refused before routing (the body's 408 and 413, the concurrency cap's 503): the path if it
    # is a documented one. The app's startup builds the schema, which FastAPI caches.
    openapi = getattr(scope.get("app"), "openapi", None)
    if status != 404 and callable(openapi) and scope["path"] in openapi().get("paths", {}):
        return str(scope["path"])
    return "unmatched"


def log_refused_connection(
    status: int, reason: RejectionReason, client: tuple[str, int] | None
) -> str:
    """Count and log a request the HTTP protocol refused before it reached the app (its head
    was too slow or too large, or the worker had too many connections); returns its new id."""
    request_id = request_context.new_request_id()
    metrics.record_rejection(reason)
    fields = {
        "request_id": request_id,
        "method": None,
        "route": None,
        "path": None,
        "status": status,
        "duration_ms": None,
        "epochs": None,
        "client": f"{client[0]}:{client[1]}" if client else None,
        "reason": reason,
    }
    access_log.write(logging.WARNING, "refused", fields)
    return request_id


def log_send_timeout(scope: Scope) -> None:
    """Count and log a request whose answer the HTTP protocol cut off because the client read
    none of it for the send timeout. A request still being served gets its own line with status
    499 and this reason; one already logged (its answer was handed over whole, then waited in
    the connection's buffer) gets a second line, with its id."""
    try:
        metrics.record_rejection("send_timeout")
        record = request_context.of_scope(scope)
        if record is not None and not record.logged:
            record.reason, record.rejection_counted = "send_timeout", True
            return
        client = scope.get("client")
        fields = {
            "request_id": record.request_id if record else None,
            "method": scope.get("method"),
            "route": route_template(scope, CLIENT_CLOSED_REQUEST),
            "path": str(scope.get("path", ""))[:_MAX_LOGGED_PATH],
            "status": CLIENT_CLOSED_REQUEST,
            "duration_ms": None,
            "epochs": None,
            "client": f"{client[0]}:{client[1]}" if client else None,
            "reason": "send_timeout",
        }
        access_log.write(logging.WARNING, "send_timeout", fields)
    except Exception:
        _log.exception("could not record a send timeout")


@dataclass
class _Exchange:
    """One request's answer as the middleware saw it go out."""

    started: float
    status: int = 500
    response_started: bool = False
    ended: float | None = None
    failed: bool = False


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
        record = RequestRecord(request_context.request_id_of(scope))
        scope.setdefault("state", {})["request_id"] = record.request_id
        request_context.attach(scope, record)
        token = request_context.begin(record)

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.response_started, exchange.status = True, message["status"]
                message.setdefault("headers", [])
                MutableHeaders(scope=message)["X-Request-ID"] = record.request_id
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                exchange.ended = time.perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, send_tagged)
        except Exception:
            exchange.failed = True
            if not exchange.response_started:
                # Answer in the API's error shape, with the id; the server still logs the error,
                # and closes the connection as the exception reaches it: the header says so.
                response = JSONResponse(
                    {"detail": "Internal Server Error"}, 500, headers={"Connection": "close"}
                )
                try:
                    await response(scope, receive, send_tagged)
                except Exception:
                    _log.exception("could not send the 500 answer")
            raise
        finally:
            request_context.end(token)
            self._finish(scope, record, exchange)

    @staticmethod
    def _finish(scope: Scope, record: RequestRecord, exchange: _Exchange) -> None:
        """Metrics and the log line of a finished request; failures here never reach the client."""
        try:
            duration = (exchange.ended or time.perf_counter()) - exchange.started
            # The answer never ended, with no error: the client went away first (or the server
            # cut off a client that read none of it, which says why in ``record.reason``).
            ended = exchange.ended is not None or exchange.failed
            gone = record.gone or record.reason is not None or not ended
            status = CLIENT_CLOSED_REQUEST if gone else exchange.status
            route = route_template(scope, status)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            metrics.record_request(route, method, status, duration)
            reason = REJECTIONS_BY_STATUS.get(status)
            if reason is not None and not record.rejection_counted:
                metrics.record_rejection(reason)
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
            if record.reason is not None:
                fields["reason"] = record.reason
            level = logging.ERROR if exchange.failed or status >= 500 else logging.INFO
            record.logged = True
            access_log.write(level, "request", fields)
        except Exception:
            _log.exception("could not record request %s", record.request_id)
