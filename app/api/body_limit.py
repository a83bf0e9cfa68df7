"""Request body size limit answering a JSON 413, whether the size is declared or streamed.

Starlette's own limiter answers a declared oversize ``Content-Length`` in plain text, so this small
ASGI middleware replaces it: an oversize declared length is refused before anything is read, and a
streamed (chunked) body is cut off as soon as it passes the limit.
"""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Limit


def too_large(limit: Limit) -> HTTPException:
    """The 413 for a body over ``limit``, naming the limit and its variable."""
    return HTTPException(
        413, f"The request body is over the limit of {limit.value:,} bytes (set by {limit.env})"
    )


class BodySizeLimit:
    """Refuse request bodies larger than ``limit`` with a 413 and a JSON body."""

    def __init__(self, app: ASGIApp, limit: Limit) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the body's bytes on their way to the application."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        declared_too_large = declared.isdigit() and int(declared) > self.limit.value
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared_too_large:
                raise too_large(self.limit)
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit.value:
                raise too_large(self.limit)
            return message

        await self.app(scope, limited_receive, send)
