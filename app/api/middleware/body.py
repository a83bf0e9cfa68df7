"""The request body, read whole before the rest of the app sees it, within a size and a time limit.

Reading the body here, outside the concurrency cap, means that a client still sending its body
holds no compute slot: a slot is taken only for a complete body. The size limit answers a JSON
``413``, at once for a declared oversize ``Content-Length`` and as soon as a streamed (chunked)
body passes it. The time limit answers a JSON ``408`` and closes the connection when no part of
the body arrives for ``BACKPROP_BODY_TIMEOUT_SECONDS``, or when, past that first allowance, the
body arrives slower than ``BACKPROP_BODY_MIN_RATE`` bytes per second on average (each byte buys
``1 / rate`` seconds), so that a client trickling a few bytes now and then cannot hold a
connection for long while an honest slow link gets a 16 MiB body through.
"""

import asyncio
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import send_error
from app.config import Limit

BODY_BYTES: Final = "backprop.body_bytes"
"""The scope key under which the size of a request's whole body is left for the app (see
:mod:`app.api.middleware.concurrency`)."""


def too_large(limit: Limit) -> str:
    """The 413's detail for a body over ``limit``, naming the limit and its variable."""
    return f"The request body is over the limit of {limit.value:,} bytes (set by {limit.env})"


class BodyTooLargeError(Exception):
    """The body passed the size limit."""


class BodyTimeoutError(Exception):
    """The body stalled or came too slowly; the argument is the 408's detail."""


class DisconnectedError(Exception):
    """The client went away before the body was complete."""


class BufferedBody:
    """Hand the app a request's whole body in one message, or refuse it with a 413 or a 408."""

    def __init__(self, app: ASGIApp, max_bytes: Limit, timeout: Limit, min_rate: Limit) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.min_rate = min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body (when the request has one), then call the app with it."""
        declared = _declared_length(scope) if scope["type"] == "http" else None
        if declared is None:
            await self.app(scope, receive, send)
            return
        if declared > self.max_bytes.value:
            await send_error(send, 413, too_large(self.max_bytes))
            return
        try:
            body = await self._read(receive)
        except BodyTooLargeError:
            await send_error(send, 413, too_large(self.max_bytes))
            return
        except BodyTimeoutError as timeout:
            # The rest of the body may still be on its way: the connection cannot be reused.
            await send_error(send, 408, str(timeout), [(b"connection", b"close")])
            return
        except DisconnectedError:
            return
        delivered = False
        scope[BODY_BYTES] = len(body)

        async def replay() -> Message:
            nonlocal delivered
            if delivered:  # after the body, only the disconnect is left to wait for
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes:
        """The whole body, or an exception saying why there is none.

        One timer guards the whole read: set for the first message and moved on only while more
        of the body is to come, so that a body in one message (most are) costs one timer and is
        handed on without a copy.
        """
        loop = asyncio.get_running_loop()
        timeout, rate = self.timeout.value, self.min_rate.value
        started = last = loop.time()
        chunks: list[bytes] = []
        received = 0
        try:
            async with asyncio.timeout_at(started + timeout) as timer:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise DisconnectedError
                    chunk = message.get("body", b"")
                    received += len(chunk)
                    if received > self.max_bytes.value:
                        raise BodyTooLargeError
                    if not message.get("more_body", False):
                        return b"".join([*chunks, chunk]) if chunks else chunk
                    chunks.append(chunk)
                    last = loop.time()
                    timer.reschedule(min(last + timeout, started + timeout + received / rate))
        except TimeoutError:
            now = loop.time()
            detail = (
                f"The request body came too slowly: {received:,} bytes in "
                f"{now - started:.1f} s, none in the last {now - last:.1f} s. A body may "
                f"pause for at most {timeout} s (set by {self.timeout.env}), and after that "
                f"must arrive at {rate:,} bytes per second or faster (set by "
                f"{self.min_rate.env})"
            )
            raise BodyTimeoutError(detail) from None


def _declared_length(scope: Scope) -> int | None:
    """The body's declared length; -1 for a chunked body; None for a request without a body."""
    length: int | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isdigit() else 0
        elif name == b"transfer-encoding":
            return -1
    return length or None
