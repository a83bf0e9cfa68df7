"""The training endpoint: full-batch epochs with a per-epoch trace."""

from typing import Annotated

from fastapi import APIRouter, Body

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
from app.api.routing import OrjsonRoute
from app.nn.losses import LOSSES
from app.nn.training import EpochRecord, collect, train
from app.schemas import EpochTrace, TrainRequest, TrainResponse

router = APIRouter(tags=["training"], route_class=OrjsonRoute)


def _trace_entry(record: EpochRecord, batch: bool) -> EpochTrace:
    return EpochTrace.model_construct(
        epoch=record.epoch,
        loss=record.loss,
        outputs=rows(record.forward.outputs, batch),
        layers=layer_values(record.forward, batch),
        gradients=tensors_out(record.gradients),
        network=network_out(record.network),
    )


@router.post("/train")
def train_network(
    request: Annotated[
        TrainRequest, Body(openapi_examples=examples.openapi_example(examples.TRAIN))
    ],
) -> TrainResponse:
    """Train full-batch with SGD, Adam or AdamW; trace every epoch as the notebook prints it."""
    params, optimizer = to_parameters(request.network), to_optimizer(request.optimizer)
    epochs = train(
        params,
        to_batch(request.inputs),
        to_batch(request.targets),
        LOSSES[request.loss],
        optimizer,
        request.epochs,
        to_state(request.optimizer_state, optimizer, params),
    )
    trace, result = collect(epochs, lambda record: _trace_entry(record, request.is_batch))
    return TrainResponse.model_construct(
        status=result.status,
        epochs_run=result.epochs_run,
        final_loss=result.final_loss,
        diverged_at_epoch=result.diverged_at_epoch,
        divergence=result.divergence,
        network=network_out(result.network),
        optimizer_state=state_out(result.optimizer_state, request.optimizer, result.network),
        trace=trace,
    )
