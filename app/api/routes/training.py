"""The training endpoints: /train answers once with the recorded trace, /train/stream answers
JSON Lines, one recorded epoch per line and then the summary, in constant memory.

Both write their JSON with orjson from plain values (see app.api.convert), entry by entry as the
epochs are computed: building a response model per entry cost more than the training itself. The
bytes are those Pydantic writes for the documented models (TrainResponse, EpochTrace,
TrainSummary), field for field and digit for digit (both write the shortest float that round-trips).
"""

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from time import monotonic, perf_counter
from typing import Annotated, Any, Final, TypeVar

import orjson
from fastapi import APIRouter, Body, Depends
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from app import examples
from app.api.convert import (
    JSONObject,
    layer_values_json,
    network_json,
    rows,
    state_json,
    tensors_json,
    to_batch,
    to_optimizer,
    to_parameters,
    to_regularization,
    to_state,
)
from app.api.disconnect import client_gone
from app.api.metrics import record_training
from app.api.middleware import request_context
from app.api.middleware.observability import CLIENT_CLOSED_REQUEST
from app.api.route_classes import OrjsonRoute
from app.config import get_settings
from app.nn.diagnosis import Checkup, Diagnosis, Divergence, diagnose
from app.nn.errors import RunCancelledError
from app.nn.losses import LOSSES, Loss
from app.nn.network import accuracy
from app.nn.regularization import Regularization
from app.nn.training import EpochRecord, Run, TrainingResult, Validation, train
from app.nn.types import Array
from app.schemas.training import (
    STOP_RULES,
    EpochTrace,
    StreamTrainRequest,
    TraceField,
    TrainRequest,
    TrainResponse,
    TrainSummary,
)

V = TypeVar("V")

router = APIRouter(tags=["training"], route_class=OrjsonRoute)

TRAIN_EXAMPLES = examples.openapi_example(
    examples.TRAIN,
    xor=("XOR with softmax, cross-entropy, Adam and shuffled mini-batches", examples.CLASSIFY),
    long=("100,000 epochs, recording every 10,000th loss", examples.LONG_RUN),
    early_stopping=(
        "Validation data and early stopping on a network that overfits",
        examples.EARLY_STOPPING,
    ),
    regularized=(
        "L2 regularization: the penalty beside the loss, and each layer's health",
        examples.REGULARIZED,
    ),
    vanishing=(
        "Six sigmoid layers on XOR: the diagnoses say why it does not learn",
        examples.VANISHING,
    ),
)

BATCH_SECONDS: Final = 0.01
"""How long one trip of a stream to the thread pool computes lines before they are sent."""

JSON_LINES: Final = {
    "content": {
        "application/jsonl": {
            "itemSchema": {
                "anyOf": [
                    {"$ref": "#/components/schemas/EpochTrace"},
                    {"$ref": "#/components/schemas/TrainSummary"},
                ],
                "title": "Streamitem Train Stream Train Stream Post",
            }
        }
    }
}
"""/train/stream's answer as FastAPI documents a generator of ``EpochTrace | TrainSummary``."""


@dataclass(frozen=True)
class TrainingRun:
    """A validated request whose training has started (its initial network is finite)."""

    request: TrainRequest
    targets: Array
    loss: Loss
    epochs: Run
    started: float
    """When training started (``perf_counter``), to tell the pace of its epochs."""
    fields: tuple[TraceField, ...]
    """The fields of each entry (the request's ``included``, worked out once)."""
    regularization: Regularization | None
    checkups: list[Checkup] = field(default_factory=list)
    """With health: the first and the latest recorded epochs, noted as the trace is written
    (read by the summary's diagnoses)."""


def start(request: TrainRequest, cancelled: Callable[[], bool] | None = None) -> TrainingRun:
    """Start training; a non-finite initial network raises here, before any answer is sent.
    ``cancelled`` (see :func:`app.nn.training.train`) stops the run when the client has gone."""
    params, optimizer = to_parameters(request.network), to_optimizer(request.optimizer)
    targets, loss = to_batch(request.targets), LOSSES[request.loss]
    data, fields = request.validation, request.included
    regularization = to_regularization(request.regularization)
    # StopRule's fields are train()'s keywords of the same names.
    stop = request.stop.model_dump() if request.stop else dict.fromkeys(STOP_RULES)
    epochs = train(
        params,
        to_batch(request.inputs),
        targets,
        loss,
        optimizer,
        request.epochs,
        to_state(request.optimizer_state, optimizer, params),
        batch_size=request.batch_size,
        shuffle=request.shuffle,
        seed=request.seed,
        deadline=monotonic() + get_settings().deadline_seconds.value,
        every=request.trace.every,
        keep=request.kept_parts,
        validation=None if data is None else (to_batch(data.inputs), to_batch(data.targets)),
        cancelled=cancelled,
        regularization=regularization,
        **stop,
    )
    return TrainingRun(request, targets, loss, epochs, perf_counter(), fields, regularization)


def _dumps(value: JSONObject) -> bytes:
    """JSON of server-built values; NumPy scalars (a loss, an accuracy) are written as floats."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def _kept(part: V | None) -> V:
    """A part of a record that the engine keeps because the request's trace includes it."""
    if part is None:
        raise LookupError("the engine did not keep a part of its records that the trace includes")
    return part


ENTRY_FIELDS: Final[dict[str, Callable[[TrainingRun, EpochRecord], Any]]] = {
    "loss": lambda run, record: record.loss,
    "penalty": lambda run, record: _kept(record.penalty),
    "accuracy": lambda run, record: accuracy(_kept(record.forward), run.targets, run.loss),
    "validation_loss": lambda run, record: _kept(record.validation).loss,
    "validation_accuracy": lambda run, record: _kept(record.validation).accuracy,
    "outputs": lambda run, record: rows(_kept(record.forward).outputs, run.request.is_batch),
    "layers": lambda run, record: layer_values_json(_kept(record.forward), run.request.is_batch),
    "gradients": lambda run, record: tensors_json(_kept(record.gradients)),
    "network": lambda run, record: network_json(_kept(record.network)),
    "health": lambda run, record: [
        {
            "gradient_norm": layer.gradient_norm,
            "update_ratio": layer.update_ratio,
            "dead_share": layer.dead,
            "saturated_share": layer.saturated,
        }
        for layer in _kept(record.health)
    ],
}
"""How each trace field is computed, in EpochTrace's field order (hand-ordered: the tests of
XX
test_answers_are_the_bytes_pydantic_wrote to the models' bytes)."""


def _entry(run: TrainingRun, record: EpochRecord) -> bytes:
    """The JSON of a trace entry holding only the fields the request includes."""
    # Hand-ordered: epoch, then ENTRY_FIELDS' order, which is EpochTrace's.
    entry: JSONObject = {"epoch": record.epoch}
    entry |= {name: ENTRY_FIELDS[name](run, record) for name in run.fields}
    return _dumps(entry)


def recorded(run: TrainingRun) -> Iterator[bytes]:
    """The entries of epochs 1, 1+every, … and of the last epoch run (the engine's records), as
    they are computed."""
    for record in run.epochs:
        if record.health is not None:
            _note(run.checkups, Checkup(record.epoch, record.loss, record.health))
        yield _entry(run, record)


def _note(checkups: list[Checkup], checkup: Checkup) -> None:
    """Keep the first checkup and the latest (the first alone while it is the latest)."""
    checkups[1:] = [checkup]


def summary(run: TrainingRun, result: TrainingResult) -> JSONObject:
    """The fields of TrainSummary for a finished run."""
    state = state_json(result.optimizer_state, run.request.optimizer, result.network)
    validation = result.validation or Validation(None, None)
    # Hand-ordered: TrainSummary's fields in order, so that orjson writes Pydantic's bytes;
    # tests/api/routes/test_training_json.py::test_answers_are_the_bytes_pydantic_wrote fails if
    # they drift.
    values: JSONObject = {
        "status": result.status,
        "epochs_run": result.epochs_run,
        "final_loss": result.final_loss,
    }
    if run.regularization is not None:  # only then: the answer without it stays as it was
        values["final_penalty"] = run.regularization.penalty(result.network)
    return values | {
        "final_accuracy": accuracy(result.forward, run.targets, run.loss),
        "final_validation_loss": validation.loss,
        "final_validation_accuracy": validation.accuracy,
        "best_epoch": result.best_epoch,
        "diverged_at_epoch": result.diverged_at_epoch,
        "divergence": result.divergence,
        **_non_finite(run, result),
        **_diagnoses(run, result),
        "network": network_json(result.network),
        "optimizer_state": state,
    }


def _non_finite(run: TrainingRun, result: TrainingResult) -> JSONObject:
    """TrainSummary's non_finite, for a diverged run whose trace includes health (else none)."""
    if result.non_finite is None or "health" not in run.fields:
        return {}
    stage, layer = result.non_finite
    return {"non_finite": {"stage": stage, "layer": layer}}


def _diagnoses(run: TrainingRun, result: TrainingResult) -> JSONObject:
    """TrainSummary's diagnoses, for a run whose trace includes health (else none)."""
    if "health" not in run.fields:
        return {}
    divergence = None
    if result.non_finite is not None and result.diverged_at_epoch is not None:
        divergence = Divergence(result.diverged_at_epoch, *result.non_finite)
    activations = [layer.activation for layer in run.request.network.layers]
    rate = run.request.optimizer.learning_rate
    found = diagnose(run.checkups, activations, rate, divergence)
    return {"diagnoses": [_diagnosis_json(diagnosis) for diagnosis in found]}


def _diagnosis_json(diagnosis: Diagnosis) -> JSONObject:
    """A diagnosis as the Diagnosis model writes it (its fields in order)."""
    change = diagnosis.change
    return {
        "id": diagnosis.id,
        "layer": diagnosis.layer,
        "text": diagnosis.text,
        "change": {
            "learning_rate": change.learning_rate,
            "activation": change.activation,
            "layers": None if change.layers is None else list(change.layers),
            "init": change.init,
        },
    }


def _json_array(entries: Iterable[bytes]) -> bytearray:
    """The entries as one JSON array, each appended as it comes, so that the values of an entry
    are freed at once and the trace is held as its JSON only."""
    out = bytearray(b"[")
    for entry in entries:
        if len(out) > 1:
            out += b","
        out += entry
    out += b"]"
    return out


@router.post("/train", response_model=TrainResponse)
def train_network(
    request: Annotated[TrainRequest, Body(openapi_examples=TRAIN_EXAMPLES)],
    gone: Annotated[Callable[[], bool], Depends(client_gone, scope="function")],
) -> Response:
    """Train with SGD, Adam or AdamW, full-batch or in mini-batches; return the trace."""
    run = start(request, cancelled=gone)
    try:
        trace = _json_array(recorded(run))
    except RunCancelledError:  # the client has gone: the status is for the access log
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    result = run.epochs.result
    record_training(result.status, result.epochs_run)
    # TrainResponse is the summary's fields, then the trace (its model's order, held by the same
    # byte test as summary()): the summary's JSON is opened up and the trace joined to it in one
    # copy (peak memory: the trace's JSON twice, nothing more).
    document = b"".join((_dumps(summary(run, result))[:-1], b',"trace":', trace, b"}"))
    return Response(document, media_type="application/json")


def _started_stream(
    request: Annotated[StreamTrainRequest, Body(openapi_examples=TRAIN_EXAMPLES)],
    gone: Annotated[Callable[[], bool], Depends(client_gone)],
) -> TrainingRun:
    """The stream's run, stopped when its client goes (the watch lasts until the stream ends):
    with a sparse trace, a trip to the thread pool may train for long before its next line."""
    return start(request, cancelled=gone)


def _lines(run: TrainingRun) -> Iterator[bytes]:
    """The stream's lines: each recorded entry, then the summary."""
    yield from recorded(run)
    result = run.epochs.result
    record_training(result.status, result.epochs_run)
    yield _dumps(summary(run, result))


def _next_lines(run: TrainingRun, lines: Iterator[bytes]) -> bytes:
    """The lines computed within BATCH_SECONDS (at least one, none when the stream is over).

    A batch is sent as soon as the next line is not expected within its time, judged by the
    epochs to the next record at the pace so far: with a sparse trace each line goes out as it
    is computed, instead of waiting in its batch for the next one.
    """
    batch: list[bytes] = []
    started = perf_counter()
    until = started + BATCH_SECONDS
    for line in lines:
        batch += (line, b"\n")
        now = perf_counter()
        epochs = run.epochs.epoch
        pace = (now - run.started) / epochs if epochs else 0.0
        if now + pace * run.epochs.epochs_to_next_record() >= until:
            break
    return b"".join(batch)


async def _chunks(run: TrainingRun, lines: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The stream's body, computed in the thread pool a batch of lines per trip (for speed: a trip
    per line cost more than the line). When the client goes away no further trip is made, and
    the run's ``cancelled`` check ends the one under way after its epoch."""
    try:
        while chunk := await run_in_threadpool(_next_lines, run, lines):
            yield chunk
    except RunCancelledError:  # the client has gone: the stream ends unread
        record = request_context.current()
        if record is not None:
            record.gone = True


# Documented as FastAPI documents a generator of EpochTrace | TrainSummary: response_model puts the
# two models among the schemas that JSON_LINES refers to, and response_class (no media type) keeps
# an application/json answer out of the document. The endpoint answers its own StreamingResponse,
# so FastAPI never serializes with the model (as a generator's, it would validate every line).
@router.post(
    "/train/stream",
    response_model=EpochTrace | TrainSummary,
    response_class=StreamingResponse,
    responses={200: JSON_LINES},
)
def train_stream(run: Annotated[TrainingRun, Depends(_started_stream)]) -> StreamingResponse:
    """Train like /train, answering JSON Lines: each recorded epoch, then the summary."""
    return StreamingResponse(_chunks(run, _lines(run)), media_type="application/jsonl")
