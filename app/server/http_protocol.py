"""The HTTP protocol `python -m app.server` gives uvicorn: httptools plus guards of its own.

uvicorn closes idle keep-alive connections but has no limit of its own on a request's head, so
a client could hold a connection (and its file descriptor) for ever by never finishing its headers,
or fill memory with an endless header. Per connection, this protocol

* closes a connection whose request head (request line and headers) is not complete
  ``BACKPROP_HEADER_TIMEOUT_SECONDS`` after the connection opened or after the request's first
  byte: a ``408`` when part of a head had arrived, silently when nothing had;
* answers ``431`` and closes once an incomplete head passes ``BACKPROP_MAX_HEADER_BYTES``;
* answers ``503`` with ``Retry-After`` and closes a new connection while the worker already keeps
  ``BACKPROP_MAX_CONNECTIONS`` open;
* answers what httptools cannot parse (a malformed request line, header, URL or chunk) with a
  ``400`` naming the problem, and a URL over the 65,535 bytes
  httptools can parse with a ``414`` (unless the head is over its size limit first: ``431``),
  then closes, where uvicorn answers a plain-text ``400`` with no request id;
* serves a request that asks to switch protocols (``Upgrade``; the service has none, not even
  WebSocket) as plain HTTP/1.1, as RFC 9110 allows, parsing what follows its head as the next
  request (uvicorn drops it), and refuses one with a body with a ``400`` (httptools, expecting the
  other protocol, would not read the body).

Each answer is the API's ``{"detail": "..."}`` with an ``X-Request-ID``, counted in
``backprop_rejected_requests_total`` and written to the access log. The body's own time limit is
the app's (:mod:`app.api.middleware.body`), which also runs under a plain ``uvicorn app.main:app``.
"""

import asyncio
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import httptools
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from app.api.errors import send_error
from app.api.metrics import RejectionReason
from app.api.middleware.concurrency import RETRY_AFTER_SECONDS
from app.api.middleware.observability import log_refused_connection
from app.config import get_settings

REFUSED_LINGER_SECONDS = 1.0
"""How long a refused connection stays half-open, so that the client reads the answer."""
MAX_URL_BYTES = 65_535
"""The longest URL httptools parses (its URL parser counts in 16 bits)."""
HTTP2_PREFACE_ERROR = "Pause on PRI/Upgrade"
"""llhttp's reason for an HTTP/2 connection preface (``PRI * HTTP/2.0``)."""

UPGRADE_WITH_BODY = (
    "The request asks to switch protocols (Upgrade), which this server does not do, and has a "
    "body: send it without the Upgrade header"
)

Headers = Sequence[tuple[bytes, bytes]]


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a time and a size limit on each request head and a bound
    on the worker's open connections."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.header_timeout = settings.header_timeout_seconds
        self.max_header_bytes = settings.max_header_bytes
        self.max_connections = settings.max_connections
        self.head_timer: asyncio.TimerHandle | None = None
        self.awaiting_head = True  # from the connection's start, or a request's first byte
        self.head_started = False  # whether a byte of the awaited head has arrived
        self.head_bytes = 0
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Refuse the connection past the worker's bound; otherwise wait for its first head."""
        if len(self.connections) >= self.max_connections.value:
            self._refuse(transport)
            return
        super().connection_made(transport)
        self._expect_head()

    def data_received(self, data: bytes) -> None:
        """Parse as uvicorn does, answering what cannot be parsed in the API's format and going
        on past an ignored ``Upgrade``; then refuse a head that has grown past its size limit."""
        if self.refused:
            return  # what the client still sends to a refused connection is dropped
        if self.awaiting_head:
            self.head_bytes += len(data)
        self._unset_keepalive_if_required()
        while data and not self.refused:
            try:
                self.parser.feed_data(data)
                data = b""
            except httptools.HttpParserUpgrade as upgrade:
                data = data[upgrade.args[0] :]  # the next request, if the client sent one
            except httptools.HttpParserError as error:
                self._answer_and_close(*self._unparsable(error))
                return
        if self.awaiting_head and self.head_bytes > self.max_header_bytes.value:
            self._answer_and_close(431, "header_too_large", self._head_too_large())

    def on_message_begin(self) -> None:
        """A request's first byte: its head must now be complete in time."""
        super().on_message_begin()
        if not self.awaiting_head:
            self._expect_head()
        self.head_started = True

    def on_headers_complete(self) -> None:
        """The head is complete: the app (and its body limits) takes over, unless the head is
        over its size limit (having ended in the read that took it past the limit) or asks to
        switch protocols with a body."""
        self._cancel_head_timer()
        self.awaiting_head = False
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size <= self.max_header_bytes.value and not self._upgrade_with_body():
            super().on_headers_complete()
            return
        # uvicorn answers it as it answers any request, with this refusal for the app; whatever
        # the client sends after this head is dropped.
        self.refused = True
        if size > self.max_header_bytes.value:
            refusal = self._refusal(431, "header_too_large", self._head_too_large())
        else:
            refusal = self._refusal(400, "unsupported_upgrade", UPGRADE_WITH_BODY)
        app, url, self.app = self.app, self.url, refusal
        self.url = b"/"  # the refusal reads no path, and httptools may not parse this one
        try:
            super().on_headers_complete()
        finally:
            self.app, self.url = app, url

    def _should_upgrade(self) -> bool:
        """Never: the service switches to no other protocol, so uvicorn serves every request,
        ``Upgrade: websocket`` included, as HTTP/1.1."""
        return False

    def _upgrade_with_body(self) -> bool:
        """Whether the request asks to switch protocols and has a body, which httptools, about
        to hand the connection to the other protocol, would not read."""
        if not self.parser.should_upgrade():
            return False
        return any(
            name == b"transfer-encoding" or (name == b"content-length" and value.strip(b"0 "))
            for name, value in self.headers
        )

    def _unparsable(self, error: httptools.HttpParserError) -> tuple[int, RejectionReason, str]:
        """The status, rejection reason and detail of a request that httptools cannot parse:
        llhttp's own reason, or what made uvicorn's parsing of the URL fail."""
        cause = error.__context__
        if isinstance(cause, httptools.HttpParserInvalidURLError) and (
            len(self.url) > MAX_URL_BYTES
        ):
            return 414, "uri_too_long", (
                f"The request's URL is {len(self.url):,} bytes long, over the "
                f"{MAX_URL_BYTES:,} bytes the server can read"
            )  # fmt: skip
        if isinstance(cause, httptools.HttpParserInvalidURLError):
            problem = "its URL is not valid"
        elif isinstance(error, httptools.HttpParserCallbackError):
            problem = "it could not be read"
        elif str(error) == HTTP2_PREFACE_ERROR:
            problem = "this server speaks HTTP/1.1 only, not HTTP/2"
        else:
            problem = str(error) or type(error).__name__
        return 400, "malformed_request", f"The request is not valid HTTP/1.1: {problem}"

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the timer, then let uvicorn clean up."""
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _expect_head(self) -> None:
        self._cancel_head_timer()
        self.awaiting_head, self.head_started, self.head_bytes = True, False, 0
        self.head_timer = self.loop.call_later(self.header_timeout.value, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _answering(self) -> bool:
        """Whether a response is still being sent (a pipelined head may wait for it)."""
        return self.cycle is not None and not self.cycle.response_complete

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self._answering():  # the client waits for the answer before it finishes the head
            self.head_timer = self.loop.call_later(self.header_timeout.value, self._head_timed_out)
            return
        if not self.head_started:  # an idle connection, e.g. a browser's preconnect: just close
            self.transport.close()
            return
        self._answer_and_close(
            408,
            "header_timeout",
            f"The request's head (request line and headers) was not complete within "
            f"{self.header_timeout.value} s (set by {self.header_timeout.env})",
        )

    def _head_too_large(self) -> str:
        return (
            f"The request's head (request line and headers) is over the limit of "
            f"{self.max_header_bytes.value:,} bytes (set by {self.max_header_bytes.env})"
        )

    def _refusal(self, status: int, reason: RejectionReason, detail: str) -> ASGIApp:
        """An app that answers ``detail`` with ``status`` and closes the connection."""
        request_id = log_refused_connection(status, reason, self.client)
        headers = [(b"connection", b"close"), (b"x-request-id", request_id.encode())]

        async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
            await send_error(send, status, detail, headers)

        return refuse

    def _answer_and_close(self, status: int, reason: RejectionReason, detail: str) -> None:
        """Refuse the request being read, unless an answer is on its way already, into which
        nothing else may be written: then the connection just closes.

        The request is the one whose head is awaited, or the one whose body is being read (whose
        app then sees the client leave)."""
        self._cancel_head_timer()
        request_id = log_refused_connection(status, reason, self.client)
        reading = self.cycle if not self.awaiting_head and self.cycle is not None else None
        if reading is not None and reading.more_body and not reading.response_started:
            reading.disconnected = True
            reading.message_event.set()
            self._close_after(self._response(status, detail, request_id))
        elif self._answering():
            self.transport.close()
        else:
            self._close_after(self._response(status, detail, request_id))

    def _refuse(self, transport: asyncio.Transport) -> None:
        """Answer a 503 and close, without the connection ever counting as one of the worker's."""
        self.transport = transport
        client = transport.get_extra_info("peername")
        peer = (str(client[0]), int(client[1])) if isinstance(client, tuple) else None
        request_id = log_refused_connection(503, "connections", peer)
        detail = (
            f"The server has {self.max_connections.value:,} connections open, the most one "
            f"worker keeps (set by {self.max_connections.env}); retry in {RETRY_AFTER_SECONDS} s"
        )
        retry = [(b"retry-after", b"%d" % RETRY_AFTER_SECONDS)]
        self._close_after(self._response(503, detail, request_id, retry))

    def _response(self, status: int, detail: str, request_id: str, extra: Headers = ()) -> bytes:
        """A complete HTTP/1.1 answer ``{"detail": ...}`` that closes the connection, with
        uvicorn's own ``date`` and ``server`` headers."""
        body = orjson.dumps({"detail": detail})
        headers: list[tuple[bytes, bytes]] = [
            *self.server_state.default_headers,
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"connection", b"close"),
            (b"x-request-id", request_id.encode()),
            *extra,
        ]
        status_line = b"HTTP/1.1 %d %s" % (status, HTTPStatus(status).phrase.encode())
        head = b"\r\n".join([status_line, *(name + b": " + value for name, value in headers)])
        return head + b"\r\n\r\n" + body

    def _close_after(self, answer: bytes) -> None:
        """Send ``answer`` and close the connection, dropping whatever the client still sends.

        The write side closes first and the socket a moment later: closing at once with unread
        request bytes would reset the connection, and the client could lose the answer.
        """
        self.refused = True
        self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(REFUSED_LINGER_SECONDS, self.transport.close)
