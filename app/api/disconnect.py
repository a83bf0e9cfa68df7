"""Whether the client of a request has gone, for long work in the thread pool that nobody would
read: :func:`client_gone` is a dependency whose value the work asks between its steps.

A task waits for the request's next ASGI message: once the body has been read, the server's next
one is ``http.disconnect``, when the client closes the connection (or the answer is complete).
The task ends with the dependency: when the endpoint returns (``Depends(client_gone,
scope="function")``, for an answer computed whole) or when the answer has been sent (the default
scope, for a stream, whose training runs while it is sent).
"""

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

from fastapi import Request


async def client_gone(request: Request) -> AsyncIterator[Callable[[], bool]]:
    """A check, safe to call from any thread, that says whether the client has gone."""
    gone = threading.Event()

    async def watch() -> None:
        # After the body the next message is the disconnect; anything else ends the watch.
        if (await request.receive())["type"] == "http.disconnect":
            gone.set()

    watcher = asyncio.create_task(watch())
    try:
        yield gone.is_set
    finally:
        watcher.cancel()
