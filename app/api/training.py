"""The training endpoint: full-batch epochs with a per-epoch trace."""

from typing import Annotated

from fastapi import APIRouter, Body

from app import examples
from app.api.convert import gradients_out, layer_values, network_out, rows, to_batch, to_parameters
from app.api.routing import OrjsonRoute
from app.nn.losses import LOSSES
from app.nn.optimizers import SGD
from app.nn.training import EpochRecord, collect, train
from app.schemas import EpochTrace, TrainRequest, TrainResponse

router = APIRouter(tags=["training"], route_class=OrjsonRoute)


def _trace_entry(record: EpochRecord, batch: bool) -> EpochTrace:
    return EpochTrace.model_construct(
        epoch=record.epoch,
        loss=record.loss,
        outputs=rows(record.forward.outputs, batch),
        layers=layer_values(record.forward, batch),
        gradients=gradients_out(record.gradients),
        network=network_out(record.network),
    )


@router.post("/train")
def train_network(
    request: Annotated[
        TrainRequest, Body(openapi_examples=examples.openapi_example(examples.TRAIN))
    ],
) -> TrainResponse:
    """Train with full-batch gradient descent; trace every epoch as the notebook prints it."""
    epochs = train(
        to_parameters(request.network),
        to_batch(request.inputs),
        to_batch(request.targets),
        LOSSES[request.loss],
        SGD(request.optimizer.learning_rate),
        request.epochs,
    )
    trace, result = collect(epochs, lambda record: _trace_entry(record, request.is_batch))
    return TrainResponse.model_construct(
        status=result.status,
        epochs_run=result.epochs_run,
        final_loss=result.final_loss,
        diverged_at_epoch=result.diverged_at_epoch,
        divergence=result.divergence,
        network=network_out(result.network),
        trace=trace,
    )
