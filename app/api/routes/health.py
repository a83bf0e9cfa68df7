"""Liveness and readiness probes: cheap async handlers that never touch the thread pool."""

from fastapi import APIRouter

from app.schemas.operations import Health

router = APIRouter(tags=["operations"])


@router.get("/livez")
async def livez() -> Health:
    """The process is up and serving requests."""
    return Health()


@router.get("/readyz")
async def readyz() -> Health:
    """The service is ready for traffic (it holds no state, so it is ready once it serves)."""
    return Health()
