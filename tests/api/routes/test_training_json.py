"""/train and /train/stream write their JSON with orjson: byte for byte what FastAPI wrote before,
when the endpoints returned response models built with ``model_construct`` and FastAPI serialized
them with Pydantic (``response_model_exclude_unset``); and the OpenAPI document is unchanged."""

import copy
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

import app.api.routes.training as training_api
from app import examples
from app.api.convert import layer_values_json, network_out, rows, tensors_json
from app.nn.network import Parameters, accuracy
from app.nn.optimizers import BUFFER_NAMES
from app.nn.training import EpochRecord, TrainingResult
from app.schemas.network import LayerTensors, LayerValues
from app.schemas.training import (
    EpochTrace,
    OptimizerState,
    TrainRequest,
    TrainResponse,
    TrainSummary,
)
from tests.api.routes.test_trace_and_stream import MID_RUN_DIVERGENCE

TRAIN_RESPONSE = TypeAdapter(TrainResponse)
STREAM_ITEM = TypeAdapter(EpochTrace | TrainSummary)

# Floats at the edges of their printed forms; at a learning rate of 0 every entry's network holds
# them (a -0.0 may become 0.0).
EDGE_FLOATS: dict[str, Any] = {
    "network": {
        "layers": [
            {
                "weights": [[1e-300, -0.0, 1e-7], [1e16, 5e-324, -2.5e-8]],
                "bias": [-0.0, 1e21],
                "activation": "identity",
            },
            {"weights": [[1e-5, 1e-320]], "bias": [0.1], "activation": "identity"},
        ]
    },
    "inputs": [1.0, 1e-3, 3.0],
    "targets": [123456789012345680000.0],
    "optimizer": {"type": "sgd", "learning_rate": 0.0},
    "epochs": 3,
}

REQUESTS = {
    "notebook": examples.TRAIN,
    "every 4, fields out of order": examples.TRAIN
    | {"epochs": 10, "trace": {"every": 4, "include": ["network", "loss", "outputs"]}},
    "no fields": examples.TRAIN | {"trace": {"include": []}},
    "batch, shuffled mini-batches, momentum": examples.TRAIN
    | {
        "inputs": [[-1.0, 2.0, 1.5], [1.0, 0.0, 0.0], [0.5, 0.5, 0.5]],
        "targets": [[1.0], [0.0], [2.0]],
        "batch_size": 2,
        "shuffle": True,
        "seed": 3,
        "optimizer": {"type": "sgd", "learning_rate": 0.05, "momentum": 0.9},
    },
    "cross-entropy with accuracy, adam": examples.CLASSIFY | {"epochs": 30},
    "binary cross-entropy, amsgrad": {
        "network": {
            "layers": [
                {"weights": [[0.5, -0.4], [-0.3, 0.8]], "bias": [0.0, 0.1], "activation": "tanh"},
                {"weights": [[0.6, -0.5]], "bias": [0.0], "activation": "sigmoid"},
            ]
        },
        "inputs": [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
        "targets": [[1.0], [1.0], [0.0]],
        "loss": "binary_cross_entropy",
        "optimizer": {"type": "adam", "learning_rate": 0.1, "amsgrad": True},
        "epochs": 12,
        "trace": {"every": 5},
    },
    "diverged at once": examples.TRAIN | {"optimizer": {"type": "sgd", "learning_rate": 1e150}},
    "diverged mid-run": MID_RUN_DIVERGENCE,
    "target reached": examples.TRAIN | {"epochs": 50, "stop": {"loss_below": 1.0}},
    "edge floats": EDGE_FLOATS,
    "validation, early stopping, cross-entropy": examples.CLASSIFY
    | {
        "epochs": 60,
        "validation": {"inputs": [[0.1, 0.9], [0.9, 0.2]], "targets": [[0.0, 1.0], [0.0, 1.0]]},
        "stop": {"patience": 5},
        "trace": {"every": 7},
    },
    "validation overflowing, fields out of order": examples.TRAIN
    | {
        "validation": {"inputs": [1e300, 1e300, 1e300], "targets": [0.0]},
        "trace": {"include": ["validation_loss", "loss"]},
    },
}


def _tensors(tensors: Parameters) -> list[LayerTensors]:
    """Per-layer arrays as the models they were."""
    return [LayerTensors.model_construct(**values) for values in tensors_json(tensors)]


def _old_entry(run: training_api.TrainingRun, record: EpochRecord) -> EpochTrace:
    """A trace entry as it was built before: a model holding only the included fields."""
    fwd, batch = record.forward, run.request.is_batch
    values = {
        "loss": lambda: record.loss,
        "accuracy": lambda: accuracy(fwd, run.targets, run.loss),
        "validation_loss": lambda: record.validation.loss,
        "validation_accuracy": lambda: record.validation.accuracy,
        "outputs": lambda: rows(fwd.outputs, batch),
        "layers": lambda: [LayerValues.model_construct(**v) for v in layer_values_json(fwd, batch)],
        "gradients": lambda: _tensors(record.gradients),
        "network": lambda: network_out(record.network),
    }
    include = run.request.included
    return EpochTrace.model_construct(
        epoch=record.epoch, **{name: values[name]() for name in include}
    )


def _old_summary(run: training_api.TrainingRun, result: TrainingResult) -> dict[str, Any]:
    """TrainSummary's fields as they were built before, as models."""
    state = result.optimizer_state
    buffers = {name: _tensors(result.network.with_flat(b)) for name, b in state.buffers.items()}
    optimizer_state = OptimizerState.model_construct(
        type=run.request.optimizer.type,
        step=state.step,
        epoch=state.epoch,
        **(dict.fromkeys(BUFFER_NAMES) | buffers),
    )
    return {
        "status": result.status,
        "epochs_run": result.epochs_run,
        "final_loss": result.final_loss,
        "final_accuracy": accuracy(result.forward, run.targets, run.loss),
        "final_validation_loss": result.validation.loss if result.validation else None,
        "final_validation_accuracy": result.validation.accuracy if result.validation else None,
        "best_epoch": result.best_epoch,
        "diverged_at_epoch": result.diverged_at_epoch,
        "divergence": result.divergence,
        "network": network_out(result.network),
        "optimizer_state": optimizer_state,
    }


def _old_answers(body: dict[str, Any], epochs: list[int]) -> tuple[bytes, list[bytes]]:
    """/train's answer and /train/stream's lines for the recorded ``epochs``, as FastAPI wrote
    them from the models before."""
    run = training_api.start(TrainRequest.model_validate_json(json.dumps(body)))
    entries = [_old_entry(run, record) for record in run.epochs if record.epoch in epochs]
    summary = _old_summary(run, run.epochs.result)
    answer = TrainResponse.model_construct(**summary, trace=entries)
    lines = [*entries, TrainSummary.model_construct(**summary)]
    return (
        TRAIN_RESPONSE.dump_json(answer, exclude_unset=True),
        [STREAM_ITEM.dump_json(line, exclude_unset=True) for line in lines],
    )


@pytest.mark.parametrize("body", REQUESTS.values(), ids=REQUESTS.keys())
def test_answers_are_the_bytes_pydantic_wrote(client: TestClient, body: dict[str, Any]) -> None:
    """Both answers equal the old construction's serialization, byte for byte."""
    answer = client.post("/train", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    epochs = [entry["epoch"] for entry in answer.json()["trace"]]
    expected_answer, expected_lines = _old_answers(body, epochs)
    assert answer.content == expected_answer
    stream = client.post("/train/stream", json=body)
    assert stream.status_code == 200
    assert stream.content.split(b"\n") == [*expected_lines, b""]


def _signed(network: dict[str, Any]) -> list[tuple[float, float]]:
    """Every number of a network with its sign (which tells -0.0 from 0.0)."""
    vectors = [v for layer in network["layers"] for v in [*layer["weights"], layer["bias"]]]
    return [(x, math.copysign(1, x)) for vector in vectors for x in vector]


@pytest.mark.parametrize("path", ["/train", "/train/stream"])
def test_edge_floats_come_back_exactly(client: TestClient, path: str) -> None:
    """-0.0, subnormals and large or small exponents parse back to the very floats sent: a run
    that diverges at once returns the network it was sent."""
    body = EDGE_FLOATS | {"optimizer": {"type": "sgd", "learning_rate": 1e300}}
    response = client.post(path, json=body)
    assert response.status_code == 200
    summary = json.loads(
        response.content.splitlines()[-1] if "stream" in path else response.content
    )
    assert summary["status"] == "diverged"
    assert _signed(summary["network"]) == _signed(EDGE_FLOATS["network"])


def test_stream_sends_lines_in_batches(client: TestClient) -> None:
    """A long stream goes out in fewer chunks than lines (one trip to the thread pool computes
    several), each chunk whole lines."""
    body = copy.deepcopy(examples.TRAIN) | {"epochs": 2000}
    with client.stream("POST", "/train/stream", json=body) as response:
        chunks = list(response.iter_raw())
    assert all(chunk.endswith(b"\n") for chunk in chunks)
    assert len(b"".join(chunks).splitlines()) == 2001
    assert 1 < len(chunks) < 2001


def _documented_generator_app() -> FastAPI:
    """An app whose /train/stream is what it was before: a generator of the response models,
    which FastAPI documents as JSON Lines itself."""
    documented = FastAPI()

    @documented.post("/train/stream")
    def train_stream(request: TrainRequest) -> Iterator[EpochTrace | TrainSummary]:
        yield from ()

    return documented


def test_openapi_documents_the_response_models(client: TestClient) -> None:
    """/train answers a TrainResponse; /train/stream JSON Lines of EpochTrace or TrainSummary,
    documented exactly as FastAPI documents a generator endpoint of those models."""
    schema = client.get("/openapi.json").json()
    train = schema["paths"]["/train"]["post"]["responses"]["200"]["content"]
    assert train == {"application/json": {"schema": {"$ref": "#/components/schemas/TrainResponse"}}}
    stream = schema["paths"]["/train/stream"]["post"]["responses"]["200"]
    reference = _documented_generator_app().openapi()
    assert stream == reference["paths"]["/train/stream"]["post"]["responses"]["200"]
    for name in ("EpochTrace", "TrainSummary"):
        assert schema["components"]["schemas"][name] == reference["components"]["schemas"][name]
