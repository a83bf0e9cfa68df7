"""The worked solution of one training step: ``POST /explain`` in Markdown, plain text or JSON.

The endpoint is a plain ``def``: writing out every step is Python work proportional to the
network's size, so it runs in the thread pool and never holds up the event loop. Each step is
written as soon as it is built and then dropped, so the memory a request holds is about its
answer's size (which the request's validation bounds, see ExplainRequest.response_values); past
``BACKPROP_DEADLINE_SECONDS`` the writing stops between two steps and the answer is a 422.
"""

from collections.abc import Iterator
from time import monotonic
from typing import Annotated

from fastapi import APIRouter, Body, Header
from starlette.responses import Response

from app import examples
from app.api.convert import to_batch, to_optimizer, to_parameters, to_regularization, to_state
from app.api.negotiation import negotiate
from app.api.route_classes import OrjsonRoute
from app.config import get_settings
from app.nn.errors import DeadlineError
from app.nn.explain import explain
from app.nn.explain_steps import Entry
from app.render.explain import json, markdown, text
from app.schemas.explain import ExplainFormat, ExplainRequest, ExplainResponse

MEDIA_TYPES: dict[str, ExplainFormat] = {
    "text/markdown": "markdown",
    "text/plain": "text",
    "application/json": "json",
}
"""The media types ``Accept`` may choose when the body names no ``format``, Markdown first (the
default)."""

router = APIRouter(tags=["math"], route_class=OrjsonRoute)


def before_deadline(steps: Iterator[Entry], seconds: int, most: int) -> Iterator[Entry]:
    """``steps`` until ``seconds`` have passed, then a 422 naming the deadline: a worked
    solution is whole or not sent (``most`` is how many steps it would have, at most)."""
    deadline = monotonic() + seconds
    for written, step in enumerate(steps):
        if monotonic() > deadline:
            hint = "ask for fewer: a smaller max_steps or max_terms"
            raise DeadlineError("writing the worked solution", written, most, "steps", hint)
        yield step


@router.post(
    "/explain",
    response_model=ExplainResponse,
    responses={
        200: {
            "description": "The worked solution: Markdown, plain text or the JSON steps",
            "content": {
                "text/markdown": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
def explain_step(
    request: Annotated[
        ExplainRequest,
        Body(
            openapi_examples=examples.openapi_example(
                examples.EXPLAIN,
                adam=("Adam's first step, as plain text", examples.EXPLAIN_ADAM),
                batch=("A batch of two, sample 1, as JSON steps", examples.EXPLAIN_BATCH),
            )
        ),
    ],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Every step of the forward pass, loss, backward pass and update, written out with the
    numbers substituted; each result is the float64 value /backward and /train return."""
    seconds = get_settings().deadline_seconds.value
    params = to_parameters(request.network)
    optimizer = to_optimizer(request.optimizer)
    built = explain(
        params,
        to_batch(request.inputs),
        to_batch(request.targets),
        request.loss,
        optimizer,
        to_state(request.optimizer_state, optimizer, params),
        request.sample,
        request.max_terms,
        request.max_steps,
        to_regularization(request.regularization),
    )
    steps = before_deadline(built, seconds, request.steps())
    chosen = request.format or negotiate(accept, MEDIA_TYPES)
    if chosen == "json":
        return Response(json.render(steps, request.digits), media_type="application/json")
    if chosen == "text":
        return Response(text.render(steps, request.digits), media_type="text/plain")
    return Response(markdown.render(steps, request.digits), media_type="text/markdown")
