"""The send timeout: a connection whose answer waits on a client that reads none of it is aborted.

An answer goes out through the connection's write buffer. While the buffer is over its high-water
mark (the client reads slower than the server writes), the transport pauses the protocol, and
uvicorn makes the app's next ``send`` wait for it to drain. A client that never reads would hold
that ``send`` (and a stream's compute slot) for as long as it keeps its socket open, and an answer
written in one ``send`` (a large /train trace) would sit whole in the buffer, however long.

This protocol, :class:`~app.server.http_protocol.GuardedHttpToolsProtocol` plus the send timeout
(what ``python -m app.server`` runs), arms a timer when the transport pauses it and disarms it when
the buffer drains. When the timer fires and the client has read nothing for
``BACKPROP_SEND_TIMEOUT_SECONDS`` (the buffer has not shrunk, as nginx's ``send_timeout`` counts
between two successful writes), the connection is aborted: the buffer is dropped at once (a plain
close would wait for it to drain), the app sees the client gone (a stream stops and frees its
slot), and the request is logged with status 499 and counted under
``backprop_rejected_requests_total{reason="send_timeout"}``. Nothing of this runs while answers
flow: the timer exists only while the transport is paused.
"""

import asyncio
from typing import cast

from starlette.types import Scope

from app.api.middleware.observability import log_send_timeout
from app.config import get_settings
from app.server.http_protocol import GuardedHttpToolsProtocol


class SendTimeoutProtocol(GuardedHttpToolsProtocol):
    """The guarded httptools protocol with a time limit on an answer that the client does not
    read."""

    send_timer: asyncio.TimerHandle | None = None
    unsent = 0
    """The write buffer's size when the timer was armed."""

    def pause_writing(self) -> None:
        """The write buffer is over its high-water mark: the client must read within the send
        timeout."""
        super().pause_writing()
        if self.send_timer is None:
            self._arm_send_timer()

    def resume_writing(self) -> None:
        """The write buffer has drained: answers flow again."""
        self._cancel_send_timer()
        super().resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the timer, then clean up as the guarded protocol does."""
        self._cancel_send_timer()
        super().connection_lost(exc)

    def _arm_send_timer(self) -> None:
        self.unsent = self.transport.get_write_buffer_size()
        timeout = get_settings().send_timeout_seconds.value
        self.send_timer = self.loop.call_later(timeout, self._send_timed_out)

    def _cancel_send_timer(self) -> None:
        if self.send_timer is not None:
            self.send_timer.cancel()
            self.send_timer = None

    def _send_timed_out(self) -> None:
        """Abort the connection unless the client has read some of the buffer since the timer
        was armed (then it gets the timeout again from now)."""
        self.send_timer = None
        if self.transport.get_write_buffer_size() < self.unsent:
            self._arm_send_timer()
            return
        if self.cycle is not None:  # before the abort, so that the app's own line says why
            log_send_timeout(cast(Scope, self.cycle.scope))
        self.transport.abort()
