"""The cap on concurrent compute requests: a saturated server answers 503 fast, the probes stay
up, slots are shared by worker processes and freed once the answer is sent, large bodies and
streams hold their share."""

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

import app.api.routes.passes as passes_api
from app import examples
from app.api.middleware.body import BODY_BYTES
from app.api.middleware.concurrency import (
    LARGE_BODY_BYTES,
    STALLED_SEND_SECONDS,
    ConcurrencyCap,
    LocalSlots,
    SharedSlots,
)
from app.config import Limit
from app.main import create_app

# 1,000 samples of the notebook's network: over INLINE_WORK, so computed in the thread pool.
LARGE_FORWARD = examples.FORWARD | {"inputs": [examples.FORWARD["inputs"]] * 1000}


@pytest.fixture
def blocked_forward(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, Any]]:
    """A large /forward (LARGE_FORWARD's batch, computed in the thread pool) blocks inside its
    computation until the event is set; small ones run as usual. Yields (release, entered)."""
    release, entered = threading.Event(), threading.Semaphore(0)
    real_forward = passes_api.forward

    def blocking_forward(params: Any, x: Any) -> Any:
        if len(x) == len(LARGE_FORWARD["inputs"]):
            entered.release()
            release.wait(timeout=60)
        return real_forward(params, x)

    monkeypatch.setattr(passes_api, "forward", blocking_forward)
    yield release, entered
    release.set()


def test_saturated_server_answers_503_fast_and_probes_stay_up(
    limited_client: Callable[..., TestClient],
    blocked_forward: tuple[threading.Event, threading.Semaphore],
) -> None:
    """Two requests hold both slots: the third gets a 503 with Retry-After; /livez still answers."""
    release, entered = blocked_forward
    client = limited_client(BACKPROP_MAX_CONCURRENT=2)
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(client.post, "/forward", json=LARGE_FORWARD) for _ in range(2)]
        assert entered.acquire(timeout=30)
        assert entered.acquire(timeout=30)
        started = time.monotonic()
        refused = client.post("/forward", json=examples.FORWARD)
        probe = client.get("/livez")
        ready = client.get("/readyz")
        elapsed = time.monotonic() - started
        release.set()
        assert [future.result(timeout=60).status_code for future in held] == [200, 200]
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert "BACKPROP_MAX_CONCURRENT" in refused.json()["detail"]
    assert probe.status_code == ready.status_code == 200
    assert elapsed < 5
    assert client.post("/forward", json=examples.FORWARD).status_code == 200


def test_probes_answer_while_every_worker_thread_is_busy(
    blocked_forward: tuple[threading.Event, threading.Semaphore],
    limited_client: Callable[..., TestClient],
) -> None:
    """Even with more blocked compute requests than the cap, the probes never queue."""
    release, entered = blocked_forward
    client = limited_client(BACKPROP_MAX_CONCURRENT=4)
    with ThreadPoolExecutor(4) as pool:
        held = [pool.submit(client.post, "/forward", json=LARGE_FORWARD) for _ in range(4)]
        for _ in range(4):
            assert entered.acquire(timeout=30)
        started = time.monotonic()
        assert all(client.get("/livez").status_code == 200 for _ in range(20))
        elapsed = time.monotonic() - started
        release.set()
        assert all(future.result(timeout=60).status_code == 200 for future in held)
    assert elapsed < 5


def test_probes_answer_on_the_loop_a_large_request_is_computing_for(
    blocked_forward: tuple[threading.Event, threading.Semaphore],
) -> None:
    """One event loop serves every request: a large /forward computes in a worker thread, so
    the probes and a small /forward are answered while it runs."""
    release, entered = blocked_forward
    with TestClient(create_app()) as client, ThreadPoolExecutor(1) as pool:
        held = pool.submit(client.post, "/forward", json=LARGE_FORWARD)
        assert entered.acquire(timeout=30)
        started = time.monotonic()
        probe = client.get("/livez")
        small = client.post("/forward", json=examples.FORWARD)
        elapsed = time.monotonic() - started
        release.set()
        assert held.result(timeout=60).status_code == 200
    assert probe.status_code == small.status_code == 200
    assert small.json()["outputs"] == pytest.approx([-0.885])
    assert elapsed < 5


def test_shared_slots_are_one_pool_for_every_process(tmp_path: Path) -> None:
    """Two pools on one directory stand for two workers: together they hold ``count`` slots."""
    first, second = SharedSlots(tmp_path, 3), SharedSlots(tmp_path, 3)
    taken = [first.take(), second.take(), first.take()]
    assert sorted(taken) == [0, 1, 2]
    assert first.take() is None
    assert second.take() is None
    second.give_back(1)
    assert first.take() == 1
    assert second.take() is None


def test_a_dead_workers_slots_free_themselves(tmp_path: Path) -> None:
    """A process killed while it holds a slot loses its lock, so the slot is free again."""
    code = (
        "import sys, time; from pathlib import Path;"
        "from app.api.middleware.concurrency import SharedSlots;"
        "slots = SharedSlots(Path(sys.argv[1]), 1); print(slots.take(), flush=True); time.sleep(60)"
    )
    command = [sys.executable, "-c", code, str(tmp_path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "0"
        slots = SharedSlots(tmp_path, 1)
        assert slots.take() is None
        holder.kill()
    assert slots.take() == 0


def test_local_slots_count_this_process() -> None:
    """Without a shared directory the cap counts the process's own requests."""
    slots = LocalSlots(2)
    assert slots.take() is not None
    token = slots.take()
    assert token is not None
    assert slots.take() is None
    slots.give_back(token)
    assert slots.take() is not None


def test_a_slot_is_free_once_the_answer_is_sent() -> None:
    """A client's next request may arrive while the previous one is still unwinding on the
    server (after its last byte left): it must find the slot free, not a 503."""
    answered, unwound = asyncio.Event(), asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})
        answered.set()
        await unwound.wait()  # e.g. a streaming response's task group closing

    async def scenario() -> list[int]:
        cap = ConcurrencyCap(app, Limit(1, "BACKPROP_MAX_CONCURRENT"))
        statuses: list[int] = []

        async def request() -> None:
            async def send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            scope = {"type": "http", "method": "POST", "path": "/forward", "headers": []}
            await cap(scope, _no_body, send)

        async def second_or_answer(second: "asyncio.Task[None]") -> None:
            """Wait until the second request is answered (200) or refused (its task ends)."""
            waiter = asyncio.create_task(answered.wait())
            await asyncio.wait({second, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()

        first = asyncio.create_task(request())
        await answered.wait()
        answered.clear()
        second = asyncio.create_task(request())
        await asyncio.wait_for(second_or_answer(second), timeout=10)
        unwound.set()
        await asyncio.gather(first, second)
        return statuses

    assert asyncio.run(scenario()) == [200, 200]


def test_large_bodies_hold_at_most_half_the_slots() -> None:
    """With 4 slots, two requests with bodies over LARGE_BODY_BYTES are running: a third large
    one gets a 503 saying why, while a small one still finds a slot; once a large one is
    answered, a large one is taken again."""
    release = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope[BODY_BYTES] >= LARGE_BODY_BYTES:
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def scenario() -> list[tuple[int, str]]:
        cap = ConcurrencyCap(app, Limit(4, "BACKPROP_MAX_CONCURRENT"))
        answers: list[tuple[int, str]] = []

        async def request(size: int) -> None:
            status = 0

            async def send(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                elif not message.get("more_body"):
                    answers.append((status, message["body"].decode()))

            scope = {"type": "http", "method": "POST", "path": "/forward", "headers": []}
            await cap(scope | {BODY_BYTES: size}, _no_body, send)

        running = [asyncio.create_task(request(LARGE_BODY_BYTES)) for _ in range(2)]
        await asyncio.sleep(0)
        await request(LARGE_BODY_BYTES)
        await request(100)
        release.set()
        await asyncio.gather(*running)
        await request(LARGE_BODY_BYTES)
        return answers

    answers = asyncio.run(scenario())
    assert [status for status, _ in answers] == [503, 200, 200, 200, 200]
    assert json.loads(answers[0][1])["detail"] == (
        "The server is busy: 2 requests with a body over 1,048,576 bytes are running, the most "
        "one worker runs at once (half its share of BACKPROP_MAX_CONCURRENT); retry in 1 s"
    )


def _streaming_app(chunks: int) -> Callable[[Scope, Receive, Send], Any]:
    """An app that streams ``chunks`` chunks of a body, then its end."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(chunks):
            await send({"type": "http.response.body", "body": b"x", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


def test_a_stream_waiting_on_its_client_holds_no_slot() -> None:
    """A stream whose chunk waits on its client gives its slot back (another request is
    served) and takes it again, once the client reads, before it goes on."""
    reading = asyncio.Event()

    async def scenario() -> tuple[int | None, int]:
        slots = LocalSlots(1)
        cap = ConcurrencyCap(_streaming_app(3), Limit(1, "BACKPROP_MAX_CONCURRENT"))
        cap.slots = slots
        sent: list[Message] = []

        async def slow_client(message: Message) -> None:
            if message.get("more_body"):
                await reading.wait()  # the client reads nothing until told to
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/train/stream", "headers": []}
        stream = asyncio.create_task(cap(scope, _no_body, slow_client))
        await asyncio.sleep(STALLED_SEND_SECONDS * 2)
        free_while_waiting = slots.take()  # the stream gave its slot back
        assert free_while_waiting is not None
        slots.give_back(free_while_waiting)
        reading.set()
        await asyncio.wait_for(stream, timeout=10)
        return free_while_waiting, len(sent)

    assert asyncio.run(scenario()) == (1, 5)  # the start, three chunks and the end


def test_a_stream_whose_client_has_gone_takes_no_slot_again() -> None:
    """A stream that gave its slot back while waiting on a client that then went away does
    not wait for a slot again (all are taken here): it ends, holding none."""
    release = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.create_task(receive())  # as app.api.disconnect watches
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x", "more_body": True})
        assert (await watcher)["type"] == "http.disconnect"

    async def scenario() -> int:
        slots = LocalSlots(1)
        cap = ConcurrencyCap(app, Limit(1, "BACKPROP_MAX_CONCURRENT"))
        cap.slots = slots
        messages = iter([{"type": "http.disconnect"}])

        async def receive() -> Message:
            await release.wait()
            return next(messages)

        async def client(message: Message) -> None:
            if message.get("more_body"):
                await release.wait()

        scope = {"type": "http", "method": "POST", "path": "/train/stream", "headers": []}
        stream = asyncio.create_task(cap(scope, receive, client))
        await asyncio.sleep(STALLED_SEND_SECONDS * 2)
        assert slots.take() is not None  # another request takes the only slot
        release.set()
        await asyncio.wait_for(stream, timeout=10)
        return slots.taken

    assert asyncio.run(scenario()) == 1


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_a_worker_over_its_share_closes_the_connection(tmp_path: Path) -> None:
    """Two workers share 4 slots: the one already running 2 answers its third request with
    ``Connection: close``, so that the client reconnects, maybe to the other worker."""
    slots = SharedSlots(tmp_path, 4, workers=2)
    assert slots.share == 2

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def headers_of_one_request(cap: ConcurrencyCap) -> list[tuple[bytes, bytes]]:
        started: list[Message] = []

        async def send(message: Message) -> None:
            started.extend([message] if message["type"] == "http.response.start" else [])

        scope = {"type": "http", "method": "POST", "path": "/forward", "headers": []}
        await cap(scope, _no_body, send)
        return list(started[0]["headers"])

    cap = ConcurrencyCap(app, Limit(4, "BACKPROP_MAX_CONCURRENT"), tmp_path, workers=2)
    assert asyncio.run(headers_of_one_request(cap)) == []
    held = [cap.slots.take(), cap.slots.take()]
    assert asyncio.run(headers_of_one_request(cap)) == [(b"connection", b"close")]
    for slot in held:
        assert slot is not None
        cap.slots.give_back(slot)
    assert asyncio.run(headers_of_one_request(cap)) == []
