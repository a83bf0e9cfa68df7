"""The single-pass endpoints: forward pass, loss, and backward pass (gradients)."""

from typing import Annotated

from fastapi import APIRouter, Body

from app import examples
from app.api.convert import layer_values, rows, tensors_out, to_batch, to_parameters
from app.api.routing import OrjsonRoute
from app.nn.losses import LOSSES
from app.nn.network import (
    accuracy,
    check_forward_finite,
    check_gradients_finite,
    compute_gradients,
    forward,
)
from app.nn.network import evaluate as evaluate_loss
from app.schemas.passes import (
    BackwardRequest,
    BackwardResponse,
    ForwardRequest,
    ForwardResponse,
    LossRequest,
    LossResponse,
)

router = APIRouter(tags=["math"], route_class=OrjsonRoute)


@router.post("/forward")
def forward_pass(
    request: Annotated[
        ForwardRequest, Body(openapi_examples=examples.openapi_example(examples.FORWARD))
    ],
) -> ForwardResponse:
    """Run the inputs through the network: every layer's z and a, and the outputs."""
    fwd = forward(to_parameters(request.network), to_batch(request.inputs))
    check_forward_finite(fwd)
    return ForwardResponse.model_construct(
        outputs=rows(fwd.outputs, request.is_batch), layers=layer_values(fwd, request.is_batch)
    )


@router.post("/loss")
def loss(
    request: Annotated[LossRequest, Body(openapi_examples=examples.openapi_example(examples.LOSS))],
) -> LossResponse:
    """The loss of the network's outputs against the targets (mean over samples)."""
    targets, loss_fn = to_batch(request.targets), LOSSES[request.loss]
    fwd, value = evaluate_loss(
        to_parameters(request.network), to_batch(request.inputs), targets, loss_fn
    )
    return LossResponse.model_construct(
        loss=value,
        accuracy=accuracy(fwd, targets, loss_fn),
        outputs=rows(fwd.outputs, request.is_batch),
    )


@router.post("/backward")
def backward_pass(
    request: Annotated[
        BackwardRequest, Body(openapi_examples=examples.openapi_example(examples.LOSS))
    ],
) -> BackwardResponse:
    """Forward pass, loss, and the gradient of the loss for every weight and bias."""
    params = to_parameters(request.network)
    targets, loss_fn = to_batch(request.targets), LOSSES[request.loss]
    fwd, value = evaluate_loss(params, to_batch(request.inputs), targets, loss_fn)
    grads = compute_gradients(params, fwd, targets, loss_fn)
    check_gradients_finite(grads)
    return BackwardResponse.model_construct(
        loss=value,
        accuracy=accuracy(fwd, targets, loss_fn),
        outputs=rows(fwd.outputs, request.is_batch),
        layers=layer_values(fwd, request.is_batch),
        gradients=tensors_out(grads),
    )
