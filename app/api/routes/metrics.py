"""``GET /metrics``: the Prometheus registry of :mod:`app.api.metrics` in its text format."""

from fastapi import APIRouter
from starlette.responses import PlainTextResponse

from app.api.metrics import CONTENT_TYPE, exposition

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"description": "Prometheus text exposition format, version 0.0.4"}},
)
def metrics() -> PlainTextResponse:
    """Request counts and latencies per route, epochs trained, training outcomes and rejections,
    summed over all worker processes, in Prometheus' text format."""
    return PlainTextResponse(exposition(), media_type=CONTENT_TYPE)
