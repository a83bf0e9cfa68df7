"""The request being served: its id, and what the code serving it adds to its log line.

Every HTTP request gets an id: the client's ``X-Request-ID`` if it matches
``[A-Za-z0-9._:-]{1,128}``, else a new one (uuid4 hex). The record lives in a context variable
and is mutable, so that code running in a copy of the context (sync handlers and stream
generators run in worker threads) can add to it.
"""

import re
import uuid
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Final

from starlette.types import Scope

_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass
class RequestRecord:
    """What the access-log line and the metrics of the request being served need from inside."""

    request_id: str
    epochs: int | None = None
    rejection_counted: bool = False
    gone: bool = False
    """Whether the code serving the request stopped because its client had gone."""
    reason: str | None = None
    """Why the answer did not reach the client, when the server cut it off (``send_timeout``)."""
    logged: bool = False
    """Whether the request's access-log line has been written."""


_SCOPE_KEY: Final = "backprop.request"

_current: ContextVar[RequestRecord | None] = ContextVar("backprop_request", default=None)


def new_request_id() -> str:
    """A fresh request id."""
    return uuid.uuid4().hex


def request_id_of(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when it is a sane one, else a fresh id."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.fullmatch(text) else new_request_id()
    return new_request_id()


def attach(scope: Scope, record: RequestRecord) -> None:
    """Keep ``record`` in the request's scope, where the HTTP protocol finds it (it runs outside
    the request's context)."""
    scope[_SCOPE_KEY] = record


def of_scope(scope: Scope) -> RequestRecord | None:
    """The record that :func:`attach` kept in ``scope``, if any."""
    record = scope.get(_SCOPE_KEY)
    return record if isinstance(record, RequestRecord) else None


def begin(record: RequestRecord) -> Token[RequestRecord | None]:
    """Make ``record`` the current request's; hand the token to :func:`end`."""
    return _current.set(record)


def end(token: Token[RequestRecord | None]) -> None:
    """Restore the context as it was before :func:`begin`."""
    _current.reset(token)


def current() -> RequestRecord | None:
    """The record of the request being served (None outside a request)."""
    return _current.get()
