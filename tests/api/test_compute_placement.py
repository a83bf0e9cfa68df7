"""Where /forward, /loss and /backward compute: a small request on the event loop, a large one in
the thread pool (see app.api.math), with the same answers either way."""

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

import app.api.math as math_api
from app import examples

WORKER_THREAD = "AnyIO worker thread"
SAMPLES = 1000  # × the notebook's 9 parameters: over INLINE_WORK
ENDPOINTS = [("/forward", examples.FORWARD), ("/loss", examples.LOSS), ("/backward", examples.LOSS)]
IDS = ["forward", "loss", "backward"]


def _large(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its one sample (and target) repeated into a batch of SAMPLES rows."""
    large = body | {"inputs": [body["inputs"]] * SAMPLES}
    return large | ({"targets": [body["targets"]] * SAMPLES} if "targets" in body else {})


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads the endpoints convert their networks in, in request order."""
    names: list[str] = []
    real = math_api.to_parameters

    def recording(network: Any) -> Any:
        names.append(threading.current_thread().name)
        return real(network)

    monkeypatch.setattr(math_api, "to_parameters", recording)
    return names


@pytest.mark.parametrize(("path", "body"), ENDPOINTS, ids=IDS)
def test_small_requests_compute_on_the_loop_large_ones_in_a_worker_thread(
    client: TestClient, threads: list[str], path: str, body: dict[str, Any]
) -> None:
    """The notebook's sample stays on the event loop; a thousand of them go to the thread pool."""
    assert client.post(path, json=body).status_code == 200
    assert client.post(path, json=_large(body)).status_code == 200
    assert threads[0] != WORKER_THREAD
    assert threads[1] == WORKER_THREAD


@pytest.mark.parametrize(("path", "body"), ENDPOINTS, ids=IDS)
def test_inline_and_thread_pool_answers_are_identical(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, path: str, body: dict[str, Any]
) -> None:
    """The same large request computed in a worker thread and on the loop: the same bytes."""
    in_thread = client.post(path, json=_large(body))
    monkeypatch.setattr(math_api, "INLINE_WORK", 10**9)
    inline = client.post(path, json=_large(body))
    assert in_thread.status_code == inline.status_code == 200
    assert in_thread.content == inline.content
    assert in_thread.json()["outputs"] == [pytest.approx([-0.885])] * SAMPLES


def test_deep_networks_compute_in_a_worker_thread(client: TestClient, threads: list[str]) -> None:
    """A one-sample request through more than INLINE_LAYERS layers goes to the thread pool."""
    layer = {"weights": [[1.0]], "bias": [0.0], "activation": "identity"}
    network = {"layers": [layer] * (math_api.INLINE_LAYERS + 1)}
    response = client.post("/forward", json={"network": network, "inputs": [2.0]})
    assert response.status_code == 200
    assert response.json()["outputs"] == [2.0]
    assert threads == [WORKER_THREAD]
