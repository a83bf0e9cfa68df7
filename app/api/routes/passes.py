"""The single-pass endpoints: forward pass, loss, and backward pass (gradients).

Three fast paths, each measured by ``make bench``: the router's route class is
:class:`~app.api.route_classes.DirectRoute`, which calls an endpoint directly with a valid body.
The handlers are ``async``: FastAPI runs a plain ``def`` endpoint, and then the validation of its
answer, in its thread pool, two round trips that cost several times the whole arithmetic of a
small request. So a small request is computed on the event loop (:func:`compute`), and a larger
one in the thread pool, so that it never holds up other requests and the probes. Answers are
written by orjson from plain values in the order of the documented models' fields (see
:func:`app.api.route_classes.json_response`).
"""

from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, TypeVar

from fastapi import APIRouter, Body
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app import examples
from app.api.convert import (
    JSONObject,
    layer_values_json,
    parameter_values,
    rows,
    tensors_json,
    to_batch,
    to_parameters,
    to_regularization,
)
from app.api.route_classes import DirectRoute, json_response
from app.nn.activations import ActivationName
from app.nn.losses import LOSSES
from app.nn.network import (
    ForwardPass,
    PreparedForward,
    accuracy,
    check_gradients_finite,
    compute_gradients,
    evaluate,
    forward,
)
from app.schemas.passes import (
    BackwardRequest,
    BackwardResponse,
    ForwardRequest,
    ForwardResponse,
    LossRequest,
    LossResponse,
    PassRequest,
)

INLINE_WORK = 4_096
"""The most samples × parameters computed on the event loop: a few tenths of a millisecond."""
INLINE_LAYERS = 8
"""The most layers computed on the event loop: NumPy's fixed cost per layer adds up too."""

R = TypeVar("R", bound=PassRequest)

# The direct call: FastAPI's per-request work would cost as much as a small request's arithmetic.
router = APIRouter(tags=["math"], route_class=DirectRoute)


def is_cheap(request: PassRequest) -> bool:
    """Whether answering ``request`` costs less than a trip to the thread pool."""
    return request.work() <= INLINE_WORK and len(request.network.layers) <= INLINE_LAYERS


async def compute(answer: Callable[[R], Response], request: R) -> Response:
    """``answer(request)``: inline when the request is cheap, else in the thread pool."""
    if is_cheap(request):
        return answer(request)
    return await run_in_threadpool(answer, request)


@router.post("/forward", response_model=ForwardResponse)
async def forward_pass(
    request: Annotated[
        ForwardRequest, Body(openapi_examples=examples.openapi_example(examples.FORWARD))
    ],
) -> Response:
    """Run the inputs through the network: every layer's z and a, and the outputs."""
    return await compute(_forward, request)


PREPARED_LAYOUTS = 64
"""How many network layouts (shapes, activations, samples) keep a prepared forward pass."""


@lru_cache(maxsize=PREPARED_LAYOUTS)
def _prepared(
    shapes: tuple[tuple[int, int], ...], activations: tuple[ActivationName, ...], samples: int
) -> PreparedForward:
    """The prepared forward pass of one layout. Only cheap requests, computed on the event loop
    one at a time, use these: each run's arrays are read before the next run starts."""
    return PreparedForward(shapes, activations, samples)


def _forward_pass(request: ForwardRequest) -> ForwardPass:
    """The forward pass of a validated request: a cheap one (on the event loop) replays its
    layout's prepared pass, which costs a small request a third less than preparing the same
    calls afresh, with the request's numbers written straight into its buffers; a larger one
    (in the thread pool) runs on fresh arrays."""
    if not is_cheap(request):
        return forward(to_parameters(request.network), to_batch(request.inputs))
    layers = request.network.layers
    shapes = tuple((len(layer.weights), len(layer.weights[0])) for layer in layers)
    prepared = _prepared(shapes, tuple(layer.activation for layer in layers), request.samples)
    return prepared.run_on(parameter_values(request.network), request.inputs)


def _forward(request: ForwardRequest) -> Response:
    """The forward pass of a validated request, as ForwardResponse's JSON."""
    fwd = _forward_pass(request)
    batch = request.is_batch
    # Hand-ordered: ForwardResponse's fields in order, so that orjson writes Pydantic's bytes;
    # test_answers_are_the_bytes_pydantic_writes_for_the_documented_model, in
    # tests/api/routes/test_passes.py, fails if they drift (likewise for /loss and /backward).
    answer: JSONObject = {"outputs": rows(fwd.outputs, batch)}
    if request.layers:
        answer["layers"] = layer_values_json(fwd, batch)
    return json_response(answer)


@router.post("/loss", response_model=LossResponse)
async def loss(
    request: Annotated[LossRequest, Body(openapi_examples=examples.openapi_example(examples.LOSS))],
) -> Response:
    """The loss of the network's outputs against the targets (mean over samples)."""
    return await compute(_loss, request)


def _loss(request: LossRequest) -> Response:
    """The loss (and accuracy) of a validated request, as LossResponse's JSON."""
    targets, loss_fn = to_batch(request.targets), LOSSES[request.loss]
    params = to_parameters(request.network)
    fwd, value = evaluate(params, to_batch(request.inputs), targets, loss_fn)
    # Hand-ordered: LossResponse's fields in order (the byte test named in _forward holds it),
    # the penalty only with regularization.
    answer: JSONObject = {"loss": value}
    regularization = to_regularization(request.regularization)
    if regularization is not None:
        answer["penalty"] = regularization.penalty(params)
    answer["accuracy"] = accuracy(fwd, targets, loss_fn)
    answer["outputs"] = rows(fwd.outputs, request.is_batch)
    return json_response(answer)


@router.post("/backward", response_model=BackwardResponse)
async def backward_pass(
    request: Annotated[
        BackwardRequest, Body(openapi_examples=examples.openapi_example(examples.LOSS))
    ],
) -> Response:
    """Forward pass, loss, and the gradient of the loss for every weight and bias."""
    return await compute(_backward, request)


def _backward(request: BackwardRequest) -> Response:
    """The forward and backward passes of a validated request, as BackwardResponse's JSON."""
    params = to_parameters(request.network)
    targets, loss_fn = to_batch(request.targets), LOSSES[request.loss]
    fwd, value = evaluate(params, to_batch(request.inputs), targets, loss_fn)
    grads = compute_gradients(params, fwd, targets, loss_fn)
    # Hand-ordered: BackwardResponse's fields in order (the byte test named in _forward holds it),
    # the penalty only with regularization.
    answer: JSONObject = {"loss": value}
    regularization = to_regularization(request.regularization)
    if regularization is not None:
        answer["penalty"] = regularization.penalty(params)
        regularization.add_gradient(params, grads)
    check_gradients_finite(grads)
    batch = request.is_batch
    answer["accuracy"] = accuracy(fwd, targets, loss_fn)
    answer["outputs"] = rows(fwd.outputs, batch)
    answer["layers"] = layer_values_json(fwd, batch)
    answer["gradients"] = tensors_json(grads)
    return json_response(answer)
