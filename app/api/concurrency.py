"""A cap on the compute requests one process runs at once, answering 503 beyond it.

Compute runs in FastAPI's thread pool; past ``BACKPROP_MAX_CONCURRENT`` requests in flight a new
one is refused at once (``503`` with ``Retry-After`` and a JSON body) instead of queueing behind
the others, while the probes, answered on the event loop, never wait. The count lives on the
event loop, which runs one callback at a time, so it needs no lock.
"""

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Limit

RETRY_AFTER_SECONDS = 1


class ConcurrencyCap:
    """Refuse a POST once ``limit`` POSTs are in flight in this process."""

    def __init__(self, app: ASGIApp, limit: Limit) -> None:
        self.app = app
        self.limit = limit
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count compute requests in flight; refuse one over the limit."""
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit.value:
            await self._refuse(send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1

    async def _refuse(self, send: Send) -> None:
        detail = (
            f"The server is busy: {self.limit.value} compute requests are running, the most it "
            f"runs at once (set by {self.limit.env}); retry in {RETRY_AFTER_SECONDS} s"
        )
        body = orjson.dumps({"detail": detail})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            # The body was not read: closing tells the client not to reuse this connection.
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})
