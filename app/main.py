"""Application factory: routers, handlers, limits and docs. ``uvicorn app.main:app`` serves it."""

import sys
from typing import Any

from fastapi import FastAPI

from app import __doc__ as summary
from app.allocator import keep_freed_memory
from app.api import diagnostics, docs, errors, health, init, math, observability, training
from app.api.body_limit import BodySizeLimit
from app.api.concurrency import ConcurrencyCap
from app.api.observability import Observability
from app.config import get_settings, shared_slots_dir, worker_count
from app.schemas.operations import ErrorMessage

GIL_SWITCH_INTERVAL = 0.0005

DESCRIPTION = """
Send a dense network (its weights, biases and activations) and data; get back every intermediate
number of the forward pass, the loss, the gradients, or a whole training run, as JSON.

Every example below is the notebook's 3-2-1 ReLU network: press **Try it out**, then **Execute**.
Conventions: a layer computes `z = W·x + b` and `a = activation(z)`, with `W` of shape
`(units, inputs)`; `inputs` is one sample (a list of numbers) or a batch (a list of rows), and
outputs take the same form. Floats are float64 end to end.
"""


def create_app() -> FastAPI:
    """Build the application with the limits of the current settings."""
    # Compute runs in threads that hold the GIL between NumPy calls; a 0.5 ms switch interval
    # (CPython's default is 5 ms) lets the event loop answer /livez in milliseconds meanwhile.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    # Large training runs reuse the memory earlier ones freed instead of faulting it in afresh.
    keep_freed_memory()
    settings = get_settings()
    error_responses: dict[int | str, dict[str, Any]] = {
        413: {"model": ErrorMessage, "description": "Request body over the size limit"},
        503: {
            "model": ErrorMessage,
            "description": "Too many compute requests in flight; retry later",
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before retrying",
                    "schema": {"type": "integer"},
                }
            },
        },
    }
    app = FastAPI(
        title="backprop-api",
        summary=summary,
        description=DESCRIPTION,
        version="0.1.0",
        exception_handlers=errors.HANDLERS,
        docs_url=None,  # /docs and /redoc come from app.api.docs, which serves their files too
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(
        ConcurrencyCap,
        limit=settings.max_concurrent,
        shared_dir=shared_slots_dir(),
        workers=worker_count(),
    )
    # Added last, so outermost: it sees every answer, the 413s and 503s included.
    app.add_middleware(Observability)
    observability.configure_access_log()
    app.include_router(math.router, responses=error_responses)
    app.include_router(training.router, responses=error_responses)
    app.include_router(init.router, responses=error_responses)
    app.include_router(diagnostics.router, responses=error_responses)
    app.include_router(health.router)
    app.include_router(observability.router)
    docs.add_docs(app)
    return app


app = create_app()
