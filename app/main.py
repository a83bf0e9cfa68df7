"""Application factory: routers, handlers, limits and docs. ``uvicorn app.main:app`` serves it;
:func:`in_process_app` runs it inside a client's process."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __doc__ as summary
from app.api import errors
from app.api.middleware import access_log
from app.api.middleware.body import BufferedBody
from app.api.middleware.concurrency import ConcurrencyCap
from app.api.middleware.observability import Observability
from app.api.routes import (
    datasets,
    diagnostics,
    docs,
    exercises,
    explain,
    export,
    health,
    init,
    metrics,
    page,
    passes,
    training,
)
from app.config import get_settings, shared_slots_dir, worker_count
from app.schemas.operations import ErrorMessage
from app.server.tuning import tune_process

DESCRIPTION = """
Send a dense network (its weights, biases and activations) and data; get back every intermediate
number of the forward pass, the loss, the gradients, or a whole training run, as JSON.

Every example below is the notebook's 3-2-1 ReLU network: press **Try it out**, then **Execute**.
Conventions: a layer computes `z = W·x + b` and `a = activation(z)`, with `W` of shape
`(units, inputs)`; `inputs` is one sample (a list of numbers) or a batch (a list of rows), and
outputs take the same form. Floats are float64 end to end.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Tune the process when a server starts the app (see :mod:`app.server.tuning`), and build the
    OpenAPI schema before the first request, which would otherwise wait the half second it takes
    (the metrics label of a request refused before routing looks its path up in the schema)."""
    tune_process()
    app.openapi()
    yield


def create_app() -> FastAPI:
    """Build the application with the limits of the current settings."""
    settings = get_settings()
    error_responses: dict[int | str, dict[str, Any]] = {
        408: {"model": ErrorMessage, "description": "Request body too slow to arrive"},
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
        lifespan=lifespan,
        # /docs and /redoc come from app.api.routes.docs, which serves their files too.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(
        ConcurrencyCap,
        limit=settings.max_concurrent,
        shared_dir=shared_slots_dir(),
        workers=worker_count(),
    )
    # Outside the cap: a request holds a compute slot only once its whole body has arrived.
    app.add_middleware(
        BufferedBody,
        max_bytes=settings.max_body_bytes,
        timeout=settings.body_timeout_seconds,
        min_rate=settings.body_min_rate,
    )
    # Added last, so outermost: it sees every answer, the 413s and 503s included.
    app.add_middleware(Observability)
    access_log.configure_access_log()
    app.include_router(passes.router, responses=error_responses)
    app.include_router(training.router, responses=error_responses)
    app.include_router(init.router, responses=error_responses)
    app.include_router(diagnostics.router, responses=error_responses)
    app.include_router(explain.router, responses=error_responses)
    app.include_router(datasets.router, responses=error_responses)
    app.include_router(export.router, responses=error_responses)
    app.include_router(exercises.router, responses=error_responses)
    app.include_router(health.router)
    app.include_router(metrics.router)
    docs.add_docs(app)
    app.include_router(page.router)
    return app


_IN_PROCESS: ContextVar[bool] = ContextVar("backprop_in_process", default=False)


class _NotInProcess(logging.Filter):
    """Lets through the access-log lines of requests that did not come from an in-process app."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _IN_PROCESS.get()


def in_process_app() -> ASGIApp:
    """A fresh app for a client in this process (``Client(app=in_process_app())``, and the CLI
    without ``--url``): its requests leave no access-log line, so that a script's stdout is its
    own. httpx's ASGI transport does not run its lifespan, so the process keeps its own GIL switch
    interval and malloc settings (:mod:`app.server.tuning` is a server's business)."""
    if not any(isinstance(f, _NotInProcess) for f in access_log.access_log.filters):
        access_log.access_log.addFilter(_NotInProcess())
    app = create_app()

    async def quiet(scope: Scope, receive: Receive, send: Send) -> None:
        token = _IN_PROCESS.set(True)
        try:
            await app(scope, receive, send)
        finally:
            _IN_PROCESS.reset(token)

    return quiet


app = create_app()
