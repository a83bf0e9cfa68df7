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
from app.nn.losses import LOSSES, Loss
from app.nn.network import accuracy
from app.nn.training import EpochRecord, collect, train
from app.nn.types import Array
from app.schemas.training import EpochTrace, TrainRequest, TrainResponse

router = APIRouter(tags=["training"], route_class=OrjsonRoute)


def _trace_entry(record: EpochRecord, batch: bool, t: Array, loss: Loss) -> EpochTrace:
    return EpochTrace.model_construct(
        epoch=record.epoch,
        loss=record.loss,
        accuracy=accuracy(record.forward, t, loss),
        outputs=rows(record.forward.outputs, batch),
        layers=layer_values(record.forward, batch),
        gradients=tensors_out(record.gradients),
        network=network_out(record.network),
    )


@router.post("/train")
def train_network(
    request: Annotated[
        TrainRequest,
        Body(
            openapi_examples=examples.openapi_example(
                examples.TRAIN,
                xor=(
                    "XOR with softmax, cross-entropy, Adam and shuffled mini-batches",
                    examples.CLASSIFY,
                ),
            )
        ),
    ],
) -> TrainResponse:
    """Train with SGD, Adam or AdamW, full-batch or in mini-batches; trace every epoch."""
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
    )
    trace, result = collect(
        epochs, lambda record: _trace_entry(record, request.is_batch, targets, loss)
    )
    return TrainResponse.model_construct(
        status=result.status,
        epochs_run=result.epochs_run,
        final_loss=result.final_loss,
        final_accuracy=accuracy(result.forward, targets, loss),
        diverged_at_epoch=result.diverged_at_epoch,
        divergence=result.divergence,
        network=network_out(result.network),
        optimizer_state=state_out(result.optimizer_state, request.optimizer, result.network),
        trace=trace,
    )
