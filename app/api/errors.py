"""One error format for the whole API, and the one table mapping engine errors to HTTP.

* 422: ``{"detail": [{"type", "loc", "msg", "input"?, "ctx"?}, ...]}`` (FastAPI's list format), for
  invalid bodies and for computations that overflow float64;
* every other error: ``{"detail": "a sentence"}``.

Validation errors are made JSON-safe and short before they are sent: a non-finite ``input`` is
written as a string, a long string (an ``input``, or a key in ``loc``) is cut to
:data:`MAX_ECHOED_CHARS` characters and marked with ``…``, and objects and nested or long lists are
left out rather than echoed back. A 422 lists at most :data:`MAX_REPORTED_PROBLEMS` problems; when
there were more, one last entry of type ``too_many_errors`` and ``loc`` ``["body"]`` says how many
(``ctx.more``): the schemas already stop listing there (:mod:`app.schemas.base`).
"""

import math
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Final

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import Send

from app.api.metrics import record_rejection
from app.config import get_settings
from app.nn.errors import DeadlineError, NonFiniteError
from app.schemas.base import MAX_REPORTED_PROBLEMS, TOO_MANY_ERRORS, more_problems

_MAX_ECHOED_ITEMS = 16
MAX_ECHOED_CHARS: Final = 100
"""The longest string a 422 echoes whole; a longer one is cut there and ends with ``…``."""
_NON_FINITE_WORDS = ("NaN", "Infinity", "-Infinity")


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {_short(str(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, str):
        return _short(value)
    if value is None or isinstance(value, int | float):
        return value
    return _short(str(value))


def _short(text: str) -> str:
    """``text``, cut to :data:`MAX_ECHOED_CHARS` characters (and marked) when longer."""
    return text if len(text) <= MAX_ECHOED_CHARS else text[:MAX_ECHOED_CHARS] + "…"


def _small(value: Any) -> bool:
    """Whether ``value`` is short enough to echo back: a scalar or a short flat list."""
    if isinstance(value, list):
        return len(value) <= _MAX_ECHOED_ITEMS and not any(
            isinstance(v, list | dict) for v in value
        )
    return not isinstance(value, dict)


def _json_error_message(error: dict[str, Any], body: Any) -> str:
    reason = (error.get("ctx") or {}).get("error", "malformed JSON")
    message = f"Invalid JSON: {reason}"
    position = error["loc"][-1]
    if isinstance(body, bytes | str) and isinstance(position, int):
        text = body[position : position + 9]
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if text.startswith(_NON_FINITE_WORDS) or "infinity" in reason:
            message += "; NaN, Infinity and numbers beyond ±1.8e308 are not valid numbers here"
    return message


def clean_errors(errors: Any, body: Any = None) -> list[dict[str, Any]]:
    """Pydantic/FastAPI error dicts made JSON-safe and short, in FastAPI's 422 format: the first
    :data:`MAX_REPORTED_PROBLEMS`, then one ``too_many_errors`` entry counting the rest (those
    left out here and those the schemas counted without listing)."""
    cleaned: list[dict[str, Any]] = []
    more = 0
    for error in errors:
        if error["type"] == TOO_MANY_ERRORS:
            more += error["ctx"]["more"]
            continue
        if len(cleaned) == MAX_REPORTED_PROBLEMS:
            more += 1
            continue
        item: dict[str, Any] = {
            "type": error["type"],
            "loc": [_short(part) if isinstance(part, str) else part for part in error["loc"]],
            "msg": error["msg"],
        }
        if error["type"] == "json_invalid":
            item["msg"] = _json_error_message(error, body)
        elif "input" in error and _small(error["input"]):
            item["input"] = _json_safe(error["input"])
        if error.get("ctx"):
            item["ctx"] = _json_safe(error["ctx"])
        cleaned.append(item)
    if more:
        message = more_problems((), more)["type"]
        cleaned.append(
            {"type": TOO_MANY_ERRORS, "loc": ["body"], "msg": str(message), "ctx": {"more": more}}
        )
    return cleaned


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 for an invalid body, safe to serialize whatever the body held."""
    return JSONResponse({"detail": clean_errors(exc.errors(), exc.body)}, status_code=422)


async def non_finite(request: Request, exc: NonFiniteError) -> JSONResponse:
    """422 for a computation that overflowed float64 although every input was finite."""
    where = {"loss": "targets", "state": "optimizer"}.get(exc.quantity, "network")
    loc: list[str | int] = ["body", where]
    if exc.layer is not None:
        loc += ["layers", exc.layer]
    error = {"type": "non_finite", "loc": loc, "msg": str(exc)}
    record_rejection("non_finite")
    return JSONResponse({"detail": [error]}, status_code=422)


async def deadline_exceeded(request: Request, exc: DeadlineError) -> JSONResponse:
    """422 for work that passed ``BACKPROP_DEADLINE_SECONDS`` before it was done (a run of
    /train ends with its own status instead)."""
    limit = get_settings().deadline_seconds
    message = (
        f"{exc.what} took longer than the deadline of {limit.value:,} s (set by {limit.env}), "
        f"after {exc.done:,} of at most {exc.total:,} {exc.parts}; {exc.hint}"
    )
    record_rejection("deadline_exceeded")
    error = {"type": "deadline_exceeded", "loc": ["body"], "msg": message}
    return JSONResponse({"detail": [error]}, status_code=422)


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Every other HTTP error (404, 405, 413, ...) as ``{"detail": "..."}``."""
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def send_error(
    send: Send, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Answer ``{"detail": ...}`` straight from ASGI middleware, which runs outside the handlers."""
    body = orjson.dumps({"detail": detail})
    start = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": [*start, *headers]})
    await send({"type": "http.response.body", "body": body})


HANDLERS: dict[int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]] = {
    RequestValidationError: validation_error,
    NonFiniteError: non_finite,
    DeadlineError: deadline_exceeded,
    HTTPException: http_error,
}
