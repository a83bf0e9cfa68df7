"""The training endpoints: /train answers once with the recorded trace, /train/stream answers
JSON Lines, one recorded epoch per line and then the summary, in constant memory."""

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from time import monotonic
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from app import examples
from app.api.convert import (
    layer_values,
    network_out,
    rows,
    state_out,
    tensors_out,
    to_batch,
    to_optimizer,
    to_parameters,
    to_state,
)
from app.api.observability import record_training
from app.api.routing import OrjsonRoute
from app.config import get_settings
from app.nn.losses import LOSSES, Loss
from app.nn.network import accuracy
from app.nn.training import EpochRecord, TrainingResult, collect, train
from app.nn.types import Array
from app.schemas.training import (
    EpochTrace,
    StreamTrainRequest,
    TrainRequest,
    TrainResponse,
    TrainSummary,
)

router = APIRouter(tags=["training"], route_class=OrjsonRoute)

TRAIN_EXAMPLES = examples.openapi_example(
    examples.TRAIN,
    xor=("XOR with softmax, cross-entropy, Adam and shuffled mini-batches", examples.CLASSIFY),
    long=("100,000 epochs, recording every 10,000th loss", examples.LONG_RUN),
)


@dataclass(frozen=True)
class TrainingRun:
    """A validated request whose training has started (its initial network is finite)."""

    request: TrainRequest
    targets: Array
    loss: Loss
    epochs: Generator[EpochRecord, None, TrainingResult]


def start(request: TrainRequest) -> TrainingRun:
    """Start training; a non-finite initial network raises here, before any answer is sent."""
    params, optimizer = to_parameters(request.network), to_optimizer(request.optimizer)
    targets, loss = to_batch(request.targets), LOSSES[request.loss]
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
        loss_below=request.stop.loss_below if request.stop else None,
        deadline=monotonic() + get_settings().deadline_seconds.value,
    )
    return TrainingRun(request, targets, loss, epochs)


def _entry(run: TrainingRun, record: EpochRecord) -> EpochTrace:
    """A trace entry holding only the fields the request includes."""
    batch, fwd = run.request.is_batch, record.forward
    makers: dict[str, Callable[[], Any]] = {
        "loss": lambda: record.loss,
        "accuracy": lambda: accuracy(fwd, run.targets, run.loss),
        "outputs": lambda: rows(fwd.outputs, batch),
        "layers": lambda: layer_values(fwd, batch),
        "gradients": lambda: tensors_out(record.gradients),
        "network": lambda: network_out(record.network),
    }
    fields: dict[str, Any] = {name: makers[name]() for name in run.request.trace.include}
    return EpochTrace.model_construct(epoch=record.epoch, **fields)


def recorded(run: TrainingRun) -> Generator[EpochTrace, None, TrainingResult]:
    """The entries of epochs 1, 1+every, … and of the last epoch run, as they are computed."""
    every, pending = run.request.trace.every, None
    while True:
        try:
            record = next(run.epochs)
        except StopIteration as stop:
            if pending is not None:
                yield _entry(run, pending)
            result: TrainingResult = stop.value
            return result
        pending = None if (record.epoch - 1) % every == 0 else record
        if pending is None:
            yield _entry(run, record)


def summary(run: TrainingRun, result: TrainingResult) -> dict[str, Any]:
    """The fields of TrainSummary for a finished run."""
    return {
        "status": result.status,
        "epochs_run": result.epochs_run,
        "final_loss": result.final_loss,
        "final_accuracy": accuracy(result.forward, run.targets, run.loss),
        "diverged_at_epoch": result.diverged_at_epoch,
        "divergence": result.divergence,
        "network": network_out(result.network),
        "optimizer_state": state_out(result.optimizer_state, run.request.optimizer, result.network),
    }


@router.post("/train", response_model_exclude_unset=True)
def train_network(
    request: Annotated[TrainRequest, Body(openapi_examples=TRAIN_EXAMPLES)],
) -> TrainResponse:
    """Train with SGD, Adam or AdamW, full-batch or in mini-batches; return the trace."""
    run = start(request)
    trace, result = collect(recorded(run), lambda entry: entry)
    record_training(result.status, result.epochs_run)
    return TrainResponse.model_construct(**summary(run, result), trace=trace)


def _started_stream(
    request: Annotated[StreamTrainRequest, Body(openapi_examples=TRAIN_EXAMPLES)],
) -> TrainingRun:
    return start(request)


@router.post("/train/stream", response_model_exclude_unset=True)
def train_stream(
    run: Annotated[TrainingRun, Depends(_started_stream)],
) -> Iterator[EpochTrace | TrainSummary]:
    """Train like /train, answering JSON Lines: each recorded epoch, then the summary."""
    result = yield from recorded(run)
    record_training(result.status, result.epochs_run)
    yield TrainSummary.model_construct(**summary(run, result))
