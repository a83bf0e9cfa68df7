"""A cap on the compute requests the server runs at once, answering 503 beyond it.

Compute runs in FastAPI's thread pool; past ``BACKPROP_MAX_CONCURRENT`` requests in flight a new
one is refused at once (``503`` with ``Retry-After`` and a JSON body) instead of queueing behind
the others, while the probes, answered on the event loop, never wait. With one process the
count lives on the event loop, which runs one callback at a time, so it needs no lock. With
several worker processes (``BACKPROP_SLOTS_DIR``, set by ``python -m app.server``) the slots are
shared: each is a file that a request holds with a non-blocking ``flock``, so the cap is
server-wide whichever worker the connection reached, and a crashed worker's slots free
themselves (the kernel drops its locks). The kernel spreads connections over the workers
unevenly, so a worker that runs more than its share of the slots answers with
``Connection: close``: the client's next connection may reach a less busy worker.

A large body (over :data:`LARGE_BODY_BYTES`) costs its parse and validation before any of its
work is charged, and cheap requests of that kind (a 4 MB body of a million wrong values, refused
with a 422 after a second's parse) could take every slot. So requests with a large body hold at
most half of this process's share of the slots (at least one); one more gets the 503.

A slot is for computing, not for waiting on a client: a streamed answer whose chunk has waited
:data:`STALLED_SEND_SECONDS` on a client that does not keep up gives its slot back for the wait and
takes one again (waiting for it if none is free) before it computes more. So clients that never
read their streams hold connections until the send timeout aborts them, but no compute slot.

When this process has run no compute request for :data:`IDLE_TRIM_SECONDS`, it hands the memory
its allocator keeps for the next request back to the kernel
(:func:`app.server.allocator.give_back_freed`): an idle server returns to its idle size, a busy one
keeps its memory warm.
"""

import asyncio
import fcntl
import os
import time
from pathlib import Path
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import send_error
from app.api.middleware.body import BODY_BYTES
from app.config import Limit
from app.server.allocator import give_back_freed

RETRY_AFTER_SECONDS = 1
LARGE_BODY_BYTES = 1024 * 1024
"""A body this large or larger takes tens of milliseconds to parse and validate, whatever it is."""
STALLED_SEND_SECONDS = 0.2
"""How long a streamed chunk may wait on its client before the stream gives its slot back."""
RETAKE_SECONDS = 0.05
"""How often a stream that gave its slot back looks for a free one again."""
IDLE_TRIM_SECONDS = 10.0
"""How long this process runs no compute request before it gives freed memory back."""


class Slots(Protocol):
    """A pool of compute slots: take one if any is free, give it back when done."""

    def take(self) -> int | None:
        """A free slot's number, or None when all are taken."""

    def give_back(self, slot: int) -> None:
        """Free a slot that :meth:`take` returned."""

    def crowded(self) -> bool:
        """Whether this process holds more than its share of the slots."""


class LocalSlots:
    """Slots counted in this process (one worker)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.taken = 0

    def take(self) -> int | None:
        """Count one more request in flight, unless all slots are taken."""
        if self.taken >= self.count:
            return None
        self.taken += 1
        return self.taken

    def give_back(self, slot: int) -> None:
        """Count one request fewer."""
        self.taken -= 1

    def crowded(self) -> bool:
        """Never: the one process has every slot."""
        return False


class SharedSlots:
    """Slots shared by every process that uses the same directory: one locked file per slot.

    ``flock`` locks belong to an open file, so two requests of this process could both lock the
    same descriptor: ``held`` remembers this process's slots (touched only on the event loop).
    ``share`` is how many of them one of the ``workers`` should hold when all are busy.
    """

    def __init__(self, directory: Path, count: int, workers: int = 1) -> None:
        self.directory = directory
        self.count = count
        self.share = -(-count // workers)
        self.held: set[int] = set()
        self._files: list[int] = []

    def take(self) -> int | None:
        """Lock the first slot file no process holds, without waiting."""
        if not self._files:  # opened on first use, in the worker process itself
            self.directory.mkdir(parents=True, exist_ok=True)
            self._files = [
                os.open(self.directory / f"slot-{n}", os.O_RDWR | os.O_CREAT, 0o600)
                for n in range(self.count)
            ]
        for slot, descriptor in enumerate(self._files):
            if slot in self.held:
                continue
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            self.held.add(slot)
            return slot
        return None

    def give_back(self, slot: int) -> None:
        """Unlock the slot's file."""
        self.held.discard(slot)
        fcntl.flock(self._files[slot], fcntl.LOCK_UN)

    def crowded(self) -> bool:
        """Whether this process holds more than ``share`` slots."""
        return len(self.held) > self.share


class ConcurrencyCap:
    """Refuse a POST once ``limit`` POSTs are in flight (in the process, or server-wide)."""

    def __init__(
        self, app: ASGIApp, limit: Limit, shared_dir: Path | None = None, workers: int = 1
    ) -> None:
        self.app = app
        self.limit = limit
        self.slots: Slots = (
            LocalSlots(limit.value)
            if shared_dir is None
            else SharedSlots(shared_dir, limit.value, workers)
        )
        self.running = 0  # this process's compute requests in flight
        share = limit.value if shared_dir is None else -(-limit.value // workers)
        self.large_limit = max(1, share // 2)
        self.large = 0  # the slots this process's requests with a large body hold
        self.idle_since = 0.0
        self.trim_timer: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold a slot until a compute request's answer is sent; refuse one when none is free."""
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        large = scope.get(BODY_BYTES, 0) >= LARGE_BODY_BYTES
        if large and self.large >= self.large_limit:
            await self._refuse(send, self._busy_with_large())
            return
        first = self.slots.take()
        if first is None:
            await self._refuse(send, self._busy())
            return
        slot, held, crowded, gone = first, True, self.slots.crowded(), False
        self.running += 1
        self.large += large

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                self.slots.give_back(slot)
                self.large -= large
                self._finished()

        async def take_again() -> None:
            nonlocal held, slot
            while not gone:  # a client that has gone gets nothing more computed to wait for
                taken = None if large and self.large >= self.large_limit else self.slots.take()
                if taken is not None:
                    slot, held = taken, True
                    self.running += 1
                    self.large += large
                    return
                await asyncio.sleep(RETAKE_SECONDS)

        async def receive_watched() -> Message:
            nonlocal gone
            message = await receive()
            gone = gone or message["type"] == "http.disconnect"
            return message

        async def send_chunk(message: Message) -> None:
            """Send a chunk of a streamed answer; if it waits on the client, wait slot-free."""
            sending = asyncio.ensure_future(send(message))
            try:
                await asyncio.wait((sending,), timeout=STALLED_SEND_SECONDS)
                if not sending.done():
                    give_back()
                    await sending
                    await take_again()
            finally:
                sending.cancel()
            sending.result()

        async def send_and_free(message: Message) -> None:
            if crowded and message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    await send_chunk(message) if held else await send(message)
                    return
                # Free the slot as the answer's last bytes leave, not after the request's
                # teardown: a client that sends its next request at once must find it free.
                give_back()
            await send(message)

        try:
            await self.app(scope, receive_watched, send_and_free)
        finally:
            give_back()

    def _finished(self) -> None:
        """Count a compute request done; the last one arms the idle timer (one at a time, so
        that the timer costs nothing per request)."""
        self.running -= 1
        if self.running == 0:
            self.idle_since = time.monotonic()
            if self.trim_timer is None:
                self.trim_timer = asyncio.get_running_loop().call_later(
                    IDLE_TRIM_SECONDS, self._trim_if_idle
                )

    def _trim_if_idle(self) -> None:
        """Give freed memory back if no compute request has run for IDLE_TRIM_SECONDS; else
        look again when that much time will have passed since the last one."""
        self.trim_timer = None
        if self.running:
            return  # the last of them re-arms the timer
        wait = self.idle_since + IDLE_TRIM_SECONDS - time.monotonic()
        if wait > 0:
            self.trim_timer = asyncio.get_running_loop().call_later(wait, self._trim_if_idle)
            return
        give_back_freed()

    def _busy(self) -> str:
        return (
            f"The server is busy: {self.limit.value} compute requests are running, the most it "
            f"runs at once (set by {self.limit.env}); retry in {RETRY_AFTER_SECONDS} s"
        )

    def _busy_with_large(self) -> str:
        return (
            f"The server is busy: {self.large_limit} requests with a body over "
            f"{LARGE_BODY_BYTES:,} bytes are running, the most one worker runs at once (half its "
            f"share of {self.limit.env}); retry in {RETRY_AFTER_SECONDS} s"
        )

    async def _refuse(self, send: Send, detail: str) -> None:
        # Closing lets the client's retry open a new connection, which may reach another worker.
        headers = [(b"retry-after", b"%d" % RETRY_AFTER_SECONDS), (b"connection", b"close")]
        await send_error(send, 503, detail, headers)
