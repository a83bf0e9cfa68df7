"""app.client against a real server and in-process: every method, streams, errors, retries."""

import asyncio
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

import app.client
from app import examples
from app.client import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncClient,
    BackpropError,
    Client,
    InvalidRequestError,
    InvalidURLError,
    ServerBusyError,
)
from app.config import get_settings
from app.main import in_process_app
from app.schemas.base import MAX_COUNT
from app.schemas.explain import ExplainResponse
from app.schemas.passes import ForwardRequest
from app.schemas.training import EpochTrace, TrainSummary
from tests.servers import free_port, running_server

# The notebook's first epoch (DESIGN.md), the reference every method is checked against.
HIDDEN_A = [0.1, 1.45]
OUTPUT = [-0.885]
LOSS = 1.7766125
GRAD_W1 = [[0.5655, -1.131, -0.84825], [-1.3195, 2.639, 1.97925]]
UPDATED_W1 = [[0.094345, -0.18869, 0.4084825], [-0.486805, 0.27361, 0.1802075]]
INVALID = {"network": examples.NOTEBOOK_NETWORK, "inputs": [-1.0, 2.0, True]}
LONG_STREAM = {
    **examples.TRAIN,
    "epochs": MAX_COUNT,
    "trace": {"every": 2**52, "include": ["loss"]},
}
"""A run no machine finishes: the server's deadline (HOLD_SECONDS) ends it, whatever its speed."""
HOLD_SECONDS = 2
HOLDING = {
    "BACKPROP_DEADLINE_SECONDS": str(HOLD_SECONDS),
    "BACKPROP_MAX_EPOCHS": str(MAX_COUNT),
    "BACKPROP_MAX_WORK": str(10**24),
    "BACKPROP_MAX_STREAM_WORK": str(10**24),
}
"""A server's settings under which LONG_STREAM is accepted and holds a slot for HOLD_SECONDS."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server(**HOLDING) as (_, url):
        yield url


def server_and_in_process(server: str) -> list[dict[str, Any]]:
    """A client's arguments for the real server, then for the app in this process."""
    return [{"base_url": server}, {"app": in_process_app()}]


def check_every_method(client: Client) -> None:
    """Each method's answer is its typed model holding the notebook's first epoch."""
    forward = client.forward(examples.FORWARD)
    assert forward.outputs == pytest.approx(OUTPUT)
    assert forward.layers[0].a == pytest.approx(HIDDEN_A)
    assert client.loss(examples.LOSS).loss == pytest.approx(LOSS)
    assert client.backward(examples.LOSS).gradients[0].weights == [
        pytest.approx(row) for row in GRAD_W1
    ]
    trained = client.train(examples.TRAIN, epochs=1)
    assert trained.network.layers[0].weights == [pytest.approx(row) for row in UPDATED_W1]
    assert trained.trace[0].loss == pytest.approx(LOSS)
    entries = list(client.train_stream(examples.TRAIN, epochs=1))
    assert isinstance(entries[0], EpochTrace)
    assert isinstance(entries[1], TrainSummary)
    assert entries[0].loss == pytest.approx(LOSS)
    assert entries[1].network == trained.network
    assert client.init(examples.INIT).network.layers[0].weights[0] == pytest.approx(
        [0.38738615147100774, -0.651141503267228, -1.2983229358755248]
    )
    assert client.gradcheck(examples.GRADCHECK).passed
    checked = client.check(examples.CHECK_MISTAKES)
    assert checked.first_wrong is not None
    assert checked.first_wrong.path == "loss"
    steps = client.explain(examples.LOSS)  # JSON, as the client asks for JSON
    assert isinstance(steps, ExplainResponse)
    results = {step.id: step.result for step in steps.steps}
    assert results["loss"] == client.backward(examples.LOSS).loss
    worked = client.explain(examples.LOSS, format="text")
    assert isinstance(worked, str)
    assert "z1[0] = W1[0,0]·x[0] + W1[0,1]·x[1] + W1[0,2]·x[2] + b1[0]" in worked
    notebook = client.datasets(name="notebook")
    assert (notebook.inputs, notebook.targets) == ([[-1.0, 2.0, 1.5]], [[1.0]])
    assert "moons" in {info.name for info in client.dataset_list().datasets}
    exported = client.export(examples.TRAIN, format="numpy")
    assert (exported.format, exported.filename) == ("numpy", "train_numpy.py")
    assert "def backward(Z, A, delta):" in exported.content
    assert client.livez().status == "ok"
    assert client.readyz().status == "ok"


async def acheck_every_method(client: AsyncClient) -> None:
    """As check_every_method, through the async client."""
    assert (await client.forward(examples.FORWARD)).outputs == pytest.approx(OUTPUT)
    assert (await client.loss(examples.LOSS)).loss == pytest.approx(LOSS)
    backward = await client.backward(examples.LOSS)
    assert backward.gradients[0].weights == [pytest.approx(row) for row in GRAD_W1]
    trained = await client.train(examples.TRAIN, epochs=1)
    assert trained.network.layers[0].weights == [pytest.approx(row) for row in UPDATED_W1]
    entries = [entry async for entry in client.train_stream(examples.TRAIN, epochs=1)]
    assert isinstance(entries[0], EpochTrace)
    assert isinstance(entries[1], TrainSummary)
    assert entries[1].network == trained.network
    assert (await client.init(examples.INIT)).network.layers[1].bias == [0.0]
    assert (await client.gradcheck(examples.GRADCHECK)).passed
    assert not (await client.check(examples.CHECK_MISTAKES)).all_correct
    steps = await client.explain(examples.LOSS)
    assert isinstance(steps, ExplainResponse)
    assert {step.id: step.result for step in steps.steps}["loss"] == backward.loss
    assert "$z^{(1)}_{1}" in str(await client.explain(examples.LOSS, format="markdown"))
    moons = await client.datasets(name="moons", samples=10, seed=3)
    assert len(moons.inputs) == 10
    assert "xor" in {info.name for info in (await client.dataset_list()).datasets}
    state_dict = await client.export(network=examples.NOTEBOOK_NETWORK, format="json")
    assert json.loads(state_dict.content)["2.weight"] == [[0.3, -0.7]]
    assert (await client.livez()).status == "ok"
    assert (await client.readyz()).status == "ok"


def check_invalid(error: InvalidRequestError) -> None:
    assert error.status == 422
    assert [(p.loc, p.type) for p in error.problems] == [(("body", "inputs", 2), "float_type")]
    assert error.problems[0].msg == "Input should be a valid number"
    assert "body.inputs.2: Input should be a valid number [float_type]" in str(error)


def test_every_method_against_a_server(server: str) -> None:
    with Client(server) as client:
        check_every_method(client)


def test_every_method_in_process() -> None:
    with Client(app=in_process_app()) as client:
        check_every_method(client)


def test_async_every_method_against_a_server_and_in_process(server: str) -> None:
    async def run() -> None:
        for where in server_and_in_process(server):
            async with AsyncClient(**where) as client:
                await acheck_every_method(client)

    asyncio.run(run())


def test_422_raises_its_problems(server: str) -> None:
    for where in server_and_in_process(server):
        with Client(**where) as client, pytest.raises(InvalidRequestError) as raised:
            client.forward(INVALID)
        check_invalid(raised.value)
        assert raised.value.request_id


def test_async_422_raises_its_problems(server: str) -> None:
    async def run(where: dict[str, Any]) -> None:
        async with AsyncClient(**where) as client:
            with pytest.raises(InvalidRequestError) as raised:
                await client.forward(INVALID)
            check_invalid(raised.value)
            with pytest.raises(InvalidRequestError):
                [entry async for entry in client.train_stream(INVALID)]

    for where in server_and_in_process(server):
        asyncio.run(run(where))


def test_other_errors_carry_status_and_detail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKPROP_MAX_BODY_BYTES", "100")
    get_settings.cache_clear()
    try:
        with Client(app=in_process_app()) as client, pytest.raises(APIError) as raised:
            client.forward(examples.FORWARD)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert raised.value.status == 413
    assert isinstance(raised.value.detail, str)
    assert "100" in raised.value.detail
    assert not isinstance(raised.value, InvalidRequestError)


def test_stream_is_consumed_lazily(server: str) -> None:
    """The first entry arrives while the run still goes on: the last one comes a while later."""
    with Client(server) as client:
        started = time.perf_counter()
        stream = client.train_stream(LONG_STREAM)
        first = next(stream)
        first_at = time.perf_counter() - started
        rest = list(stream)
        ended_at = time.perf_counter() - started
    assert isinstance(first, EpochTrace)
    assert first.epoch == 1
    assert isinstance(rest[-1], TrainSummary)
    assert rest[-1].status == "deadline_exceeded"
    assert ended_at >= HOLD_SECONDS
    assert first_at < ended_at / 3


def test_async_stream_is_consumed_lazily(server: str) -> None:
    async def run() -> tuple[float, float, list[Any]]:
        async with AsyncClient(server) as client:
            started = time.perf_counter()
            entries = []
            async for entry in client.train_stream(LONG_STREAM):
                entries.append((time.perf_counter() - started, entry))
            return entries[0][0], entries[-1][0], [e for _, e in entries]

    first_at, ended_at, entries = asyncio.run(run())
    assert isinstance(entries[0], EpochTrace)
    assert isinstance(entries[-1], TrainSummary)
    assert entries[-1].status == "deadline_exceeded"
    assert ended_at >= HOLD_SECONDS
    assert first_at < ended_at / 3


def train_long(url: str) -> None:
    """Hold a compute slot of the server at ``url`` (started with HOLDING) for HOLD_SECONDS."""
    with Client(url) as client:
        client.train(LONG_STREAM)


def busy_count(url: str) -> float:
    """How many requests the server has refused with 503 as busy (its /metrics)."""
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith('backprop_rejected_requests_total{reason="busy"}'):
            return float(line.split()[-1])
    return 0.0


def wait_until_busy(url: str) -> None:
    """Return once the server at ``url`` answers a request with 503 (a client without retries
    raises it at once); fail after 1,000 tries (10 s and more) without one."""
    with Client(url, max_retries=0) as probe:
        for _ in range(1000):
            try:
                probe.forward(examples.FORWARD)
            except APIError as error:
                refused = error
                break
            time.sleep(0.01)
        else:
            pytest.fail("the server never answered 503 while a run held its one slot")
    assert refused.status == 503
    assert isinstance(refused, ServerBusyError)
    assert refused.retry_after == 1.0
    assert refused.url == f"{url}/forward"


def test_503_is_retried_after_retry_after() -> None:
    """With the one compute slot taken, a request gets 503s, waits Retry-After (1 s) between
    tries, and succeeds once the slot is free; the async client and streams likewise."""
    with running_server(BACKPROP_MAX_CONCURRENT="1", **HOLDING) as (_, url):
        hog = threading.Thread(target=train_long, args=(url,))
        hog.start()
        wait_until_busy(url)
        before = busy_count(url)
        started = time.perf_counter()
        with Client(url, max_retries=10) as client:
            assert client.forward(examples.FORWARD).outputs == pytest.approx(OUTPUT)
        waited = time.perf_counter() - started
        hog.join()
        assert busy_count(url) > before
        assert waited >= 1.0

        async def run() -> None:
            hog = threading.Thread(target=train_long, args=(url,))
            hog.start()
            wait_until_busy(url)
            before = busy_count(url)
            async with AsyncClient(url, max_retries=10) as client:
                entries = [e async for e in client.train_stream(examples.TRAIN, epochs=1)]
                assert isinstance(entries[-1], TrainSummary)
                assert busy_count(url) > before
                hog.join()
                hog = threading.Thread(target=train_long, args=(url,))
                hog.start()
                wait_until_busy(url)
                assert (await client.loss(examples.LOSS)).loss == pytest.approx(LOSS)
                hog.join()

        asyncio.run(run())


def test_models_from_answers_resume_a_run() -> None:
    """A response's network and optimizer_state, passed back as models, resume training: two
    runs of one epoch end where one run of two epochs ends."""
    with Client(app=in_process_app()) as client:
        whole = client.train(examples.TRAIN, epochs=2, optimizer={"type": "adam"})
        first = client.train(examples.TRAIN, epochs=1, optimizer={"type": "adam"})
        second = client.train(
            examples.TRAIN,
            epochs=1,
            optimizer={"type": "adam"},
            network=first.network,
            optimizer_state=first.optimizer_state,
        )
    assert second.network == whole.network
    assert second.optimizer_state == whole.optimizer_state


def test_bodies_take_models_and_numpy_arrays() -> None:
    """A request model, or a mapping or keywords holding NumPy arrays, give the same answer."""
    batch = np.array([[-1.0, 2.0, 1.5], [1.0, 0.0, 0.0]])
    with Client(app=in_process_app()) as client:
        from_model = client.forward(ForwardRequest.model_validate(examples.FORWARD))
        from_numpy = client.forward(network=examples.NOTEBOOK_NETWORK, inputs=batch)
        from_columns = client.forward(examples.FORWARD, inputs=np.asfortranarray(batch)[:, :])
    assert from_model.outputs == pytest.approx(OUTPUT)
    assert from_numpy.outputs == [pytest.approx(OUTPUT), pytest.approx([0.13])]
    assert from_columns == from_numpy


def test_in_process_leaves_the_process_alone(capsys: pytest.CaptureFixture[str]) -> None:
    """No lifespan (the GIL switch interval is untouched) and no access-log line on stdout; and
    the blocking client works inside a running event loop too (as in Jupyter)."""
    interval = sys.getswitchinterval()

    async def inside_a_loop() -> list[float] | list[list[float]]:
        with Client(app=in_process_app()) as client:
            return client.forward(examples.FORWARD).outputs

    assert asyncio.run(inside_a_loop()) == pytest.approx(OUTPUT)
    assert sys.getswitchinterval() == interval
    assert capsys.readouterr().out == ""


def test_a_client_takes_a_server_or_an_app() -> None:
    """Neither a base_url nor an app, or both, is refused before any request."""
    with pytest.raises(TypeError, match="either base_url"):
        Client()
    with pytest.raises(TypeError, match="either base_url"):
        AsyncClient("http://127.0.0.1:8000", app=in_process_app())


def test_an_unreachable_server_raises_a_connection_error_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with Client(url) as client, pytest.raises(APIConnectionError) as raised:
        client.forward(examples.FORWARD)
    assert not isinstance(raised.value, APITimeoutError)
    assert raised.value.url == f"{url}/forward"
    assert str(raised.value).startswith(f"cannot reach {url}/forward: ")
    with Client(url) as client, pytest.raises(APIConnectionError):
        list(client.train_stream(examples.TRAIN))
    with Client(url) as client, pytest.raises(APIConnectionError):
        client.livez()

    async def run() -> None:
        async with AsyncClient(url) as client:
            with pytest.raises(APIConnectionError):
                await client.forward(examples.FORWARD)
            with pytest.raises(APIConnectionError):
                [e async for e in client.train_stream(examples.TRAIN)]

    asyncio.run(run())


def test_a_silent_server_raises_a_timeout_error() -> None:
    """A server that accepts the connection and never answers: the read timeout, raised as the
    client's own error naming the URL."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with Client(url, timeout=0.5) as client, pytest.raises(APITimeoutError) as raised:
            client.forward(examples.FORWARD)
    assert isinstance(raised.value, BackpropError)
    assert raised.value.url == f"{url}/forward"
    assert str(raised.value) == f"no answer from {url}/forward in time (read timeout)"


def test_a_url_without_scheme_is_refused_at_once() -> None:
    with pytest.raises(InvalidURLError) as raised:
        Client("127.0.0.1:8631")
    assert (
        str(raised.value)
        == "'127.0.0.1:8631' is no http:// or https:// URL (say http://127.0.0.1:8631)"
    )


async def always_busy(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app that answers every request 503 with ``Retry-After: 0``, counting them."""
    BUSY_CALLS.append(scope["path"])
    headers = [(b"content-type", b"application/json"), (b"retry-after", b"0")]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"detail": "busy"}'})


BUSY_CALLS: list[str] = []


def test_503_is_retried_then_raised_as_busy() -> None:
    BUSY_CALLS.clear()
    with Client(app=always_busy, max_retries=2) as client:
        with pytest.raises(ServerBusyError) as raised:
            client.forward(examples.FORWARD)
        assert BUSY_CALLS == ["/forward"] * 3
        assert raised.value.status == 503
        assert raised.value.retry_after == 0.0
        assert raised.value.detail == "busy"
        BUSY_CALLS.clear()
        with pytest.raises(ServerBusyError):
            client.with_options(max_retries=0).forward(examples.FORWARD)
        assert BUSY_CALLS == ["/forward"]
        BUSY_CALLS.clear()
        with pytest.raises(ServerBusyError):
            list(client.train_stream(examples.TRAIN))
        assert BUSY_CALLS == ["/train/stream"] * 3


def test_a_connection_not_made_is_retried_with_growing_jittered_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three tries at a port nothing listens on: two waits, each a random part of 0.5 s, then
    1 s (exponential backoff with full jitter), then the connection error."""
    waits: list[float] = []
    monkeypatch.setattr(app.client.time, "sleep", waits.append)
    url = f"http://127.0.0.1:{free_port()}"
    with Client(url, max_retries=2) as client, pytest.raises(APIConnectionError):
        client.forward(examples.FORWARD)
    assert len(waits) == 2
    assert 0 <= waits[0] <= 0.5
    assert 0 <= waits[1] <= 1.0


def test_client_reads_backprop_url(monkeypatch: pytest.MonkeyPatch, server: str) -> None:
    monkeypatch.setenv("BACKPROP_URL", server)
    with Client() as client:
        assert client.forward(examples.FORWARD).outputs == pytest.approx(OUTPUT)
    monkeypatch.delenv("BACKPROP_URL")
    with pytest.raises(TypeError):
        Client()


def test_all_names_the_clients_errors_and_every_endpoints_models() -> None:
    exported = set(app.client.__all__)
    assert all(hasattr(app.client, name) for name in exported)
    for endpoint in ("Forward", "Loss", "Backward", "Train", "Init", "Gradcheck", "Check"):
        assert {f"{endpoint}Request", f"{endpoint}Response"} <= exported
    assert {"Client", "AsyncClient", "BackpropError", "ServerBusyError", "TrainExport"} <= exported
    with Client(app=in_process_app()) as client:
        body = app.client.ForwardRequest.model_validate(examples.FORWARD)
        assert client.forward(body).outputs == pytest.approx(OUTPUT)
