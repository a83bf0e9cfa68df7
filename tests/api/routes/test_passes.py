"""How /forward, /loss and /backward answer (app.api.routes.passes): a small request computed on
the event loop, a large one in the thread pool, with the same answers either way, written by orjson
in the very bytes Pydantic writes for the documented response models."""

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

import app.api.routes.passes as passes_api
from app import examples
from app.schemas.passes import BackwardResponse, ForwardResponse, LossResponse

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
    """The names of the threads the endpoints convert their networks in, in request order (to
    the engine's parameters, or for a cheap /forward to the numbers of its prepared pass)."""
    names: list[str] = []

    def recorder(real: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def recording(network: Any) -> Any:
            names.append(threading.current_thread().name)
            return real(network)

        return recording

    for name in ("to_parameters", "parameter_values"):
        monkeypatch.setattr(passes_api, name, recorder(getattr(passes_api, name)))
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
    monkeypatch.setattr(passes_api, "INLINE_WORK", 10**9)
    inline = client.post(path, json=_large(body))
    assert in_thread.status_code == inline.status_code == 200
    assert in_thread.content == inline.content
    assert in_thread.json()["outputs"] == [pytest.approx([-0.885])] * SAMPLES


def test_deep_networks_compute_in_a_worker_thread(client: TestClient, threads: list[str]) -> None:
    """A one-sample request through more than INLINE_LAYERS layers goes to the thread pool."""
    layer = {"weights": [[1.0]], "bias": [0.0], "activation": "identity"}
    network = {"layers": [layer] * (passes_api.INLINE_LAYERS + 1)}
    response = client.post("/forward", json={"network": network, "inputs": [2.0]})
    assert response.status_code == 200
    assert response.json()["outputs"] == [2.0]
    assert threads == [WORKER_THREAD]


def _random_request(seed: int, batch: bool, loss: str) -> dict[str, Any]:
    """A 4-5-3 network with random weights (some large, some tiny) and random data."""
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.integers(-8, 8, size=3)
    sizes, activations = [4, 5, 3], ["tanh", "softmax" if loss == "cross_entropy" else "identity"]
    layers = [
        {
            "weights": (rng.normal(size=(units, inputs)) * scale[0]).tolist(),
            "bias": (rng.normal(size=units) * scale[1]).tolist(),
            "activation": activation,
        }
        for inputs, units, activation in zip(sizes, sizes[1:], activations, strict=False)
    ]
    samples = 6 if batch else 1
    inputs = (rng.normal(size=(samples, 4)) * scale[2]).tolist()
    targets = np.eye(3)[rng.integers(0, 3, size=samples)].tolist()
    return {
        "network": {"layers": layers},
        "inputs": inputs if batch else inputs[0],
        "targets": targets if batch else targets[0],
        "loss": loss,
    }


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("batch", [False, True], ids=["sample", "batch"])
@pytest.mark.parametrize("loss", ["half_squared_error", "cross_entropy"])
@pytest.mark.parametrize(
    ("path", "model"),
    [("/forward", ForwardResponse), ("/loss", LossResponse), ("/backward", BackwardResponse)],
    ids=IDS,
)
def test_answers_are_the_bytes_pydantic_writes_for_the_documented_model(
    client: TestClient, path: str, model: type[BaseModel], loss: str, batch: bool, seed: int
) -> None:
    """Read back into the response model and written by Pydantic, an answer is the same bytes
    (the penalty only with regularization, which odd seeds send)."""
    body = _random_request(seed, batch, loss)
    if path == "/forward":
        body = {"network": body["network"], "inputs": body["inputs"]}
    elif seed % 2:
        body["regularization"] = {"type": "l1" if seed == 1 else "l2", "rate": 0.01}
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    answer = model.model_validate_json(response.content)
    assert answer.model_dump_json(exclude_unset=True).encode() == response.content
    assert ("penalty" in answer.model_fields_set) == ("regularization" in body)


def test_small_forward_passes_of_one_layout_in_a_row_answer_as_a_worker_thread_does(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cheap /forward replays its layout's prepared pass: requests of one layout with other
    weights and inputs each get the answer the thread pool's fresh arrays give (nothing of one
    carries into the next), one sample or a batch, the notebook's network or a deeper one."""
    rng = np.random.default_rng(21)
    tanh = {"weights": [[0.5, -1.0], [2.0, 0.25]], "bias": [0.1, -0.2], "activation": "tanh"}
    bodies = []
    for network in (examples.NOTEBOOK_NETWORK, {"layers": [tanh, tanh, tanh]}):
        width = len(network["layers"][0]["weights"][0])
        for inputs in (rng.normal(size=width).tolist(), rng.normal(size=(3, width)).tolist()):
            for _ in range(3):
                layers = [
                    layer | {"weights": rng.normal(size=np.shape(layer["weights"])).tolist()}
                    for layer in network["layers"]
                ]
                bodies.append({"network": {"layers": layers}, "inputs": inputs})
    hits = passes_api._prepared.cache_info().hits
    inline = [client.post("/forward", json=body) for body in bodies]
    assert passes_api._prepared.cache_info().hits - hits >= len(bodies) - 4  # 4 layouts
    monkeypatch.setattr(passes_api, "INLINE_WORK", 0)
    in_thread = [client.post("/forward", json=body) for body in bodies]
    assert [r.status_code for r in inline] == [r.status_code for r in in_thread] == [200] * 12
    assert [r.content for r in inline] == [r.content for r in in_thread]
