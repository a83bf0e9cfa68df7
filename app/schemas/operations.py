"""Operational responses: probes and the non-422 error body."""

from typing import Literal

from app.schemas.base import ResponseModel


class Health(ResponseModel):
    """Liveness or readiness."""

    status: Literal["ok"] = "ok"


class ErrorMessage(ResponseModel):
    """The body of every error other than 422: a sentence saying what is wrong."""

    detail: str
