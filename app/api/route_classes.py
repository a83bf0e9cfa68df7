"""The route classes: :class:`OrjsonRoute`, whose requests parse JSON with orjson, and
:class:`DirectRoute`, which also calls its endpoint directly; and answers written by orjson.

orjson rejects what JSON itself rejects (``NaN``, ``Infinity``, numbers beyond float64 such as
``1e400``, invalid UTF-8) and bounds nesting depth, always with a ``JSONDecodeError``, which FastAPI
turns into a 422. It is also several times faster than the standard library on large bodies.

For the small math requests FastAPI's own per-request work (its request objects and exit stacks,
content-type parsing, dependency solving and telemetry hooks) costs about as much as the
arithmetic, so a :class:`DirectRoute` (used by /forward, /loss and /backward only) calls its
endpoint directly, from the route's ``handle``, once the body is valid JSON of the endpoint's body
model; every other request, the invalid ones included, goes through FastAPI's handler, so errors
keep FastAPI's exact form.

A body over :data:`INLINE_BODY_BYTES` is parsed and validated in the thread pool instead, whatever
the endpoint, so that a large body, valid or not, never holds up the event loop (the probes, the
other requests). Its objects are first cut to as many unknown fields as a 422 lists
(:func:`app.schemas.base.drop_unknown_fields`). An invalid one answers FastAPI's 422 from there
(its parsed body freed there too, a slice at a time: :func:`free_in_slices`), and FastAPI's
handler is given the validated model as the parsed body, which pydantic takes as it is (it does
not revalidate a model instance).
"""

import gc
import inspect
import itertools
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any, Final

import orjson
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from app.api.errors import clean_errors
from app.schemas.base import TOO_MANY_ERRORS, drop_unknown_fields

INLINE_BODY_BYTES: Final = 16_384
"""The largest body parsed and validated on the event loop: about half a millisecond here (a
trip to the thread pool costs about 50 µs, and 64 KiB about 2 ms)."""

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
DirectCall = Callable[[Any], Awaitable[Response | None]]


def json_response(content: Any) -> Response:
    """``content``, plain values the server built, as a JSON answer written in one orjson pass.

    For speed: returning a response model makes FastAPI validate it and serialize it through
    Pydantic, which costs more than computing a small answer. orjson writes the same bytes as
    Pydantic (the shortest float that round-trips, ``null`` for None), so the operation's
    ``response_model`` documents this answer exactly when its keys follow the model's fields.
    """
    return Response(orjson.dumps(content), media_type="application/json")


class OrjsonRequest(Request):
    """A request whose ``json()`` is parsed by orjson."""

    async def json(self) -> Any:
        """The body parsed as strict JSON (cached like Starlette's own)."""
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json

    def parsed(self, content: Any) -> None:
        """Make ``content`` (the body already parsed, and validated) what ``json()`` returns."""
        self._json = content


class OrjsonRoute(APIRoute):
    """An APIRoute that hands its endpoint an :class:`OrjsonRequest` and validates a large body
    in the thread pool (see the module's docstring)."""

    def get_route_handler(self) -> Handler:
        """FastAPI's handler behind orjson parsing, and the direct call if the route has one."""
        handler = super().get_route_handler()
        direct = self.direct_call()

        body_field = _whole_body_field(self)

        async def orjson_handler(request: Request) -> Response:
            request = OrjsonRequest(request.scope, request.receive)
            content_type = request.headers.get("content-type")
            is_json = content_type == "application/json"
            if body_field is not None and not is_json:
                await _refuse_unless_json(request, content_type)
            if body_field is not None and is_json:
                body = await request.body()
                if len(body) > INLINE_BODY_BYTES:
                    request.parsed(await run_in_threadpool(_validated, body_field, body))
                    # A small body was offered to the direct call before (DirectRoute.handle).
                    answer = None if direct is None else await direct(await request.json())
                    if answer is not None:
                        return answer
            return await handler(request)

        return orjson_handler

    def direct_call(self) -> DirectCall | None:
        """None: FastAPI's handler answers every request."""
        return None


class DirectRoute(OrjsonRoute):
    """An :class:`OrjsonRoute` that calls its endpoint directly with a valid body, skipping
    FastAPI's handler, for speed (see the module's docstring).

    The endpoint must be ``async``, take exactly one body model (not embedded) and nothing else,
    and be annotated to answer a :class:`Response`, so that FastAPI would do nothing for it but
    validate the body; any other endpoint is refused when the route is built.
    """

    def direct_call(self) -> DirectCall:
        """The direct call of the endpoint."""
        call = _direct_call(self)
        if call is None:
            raise TypeError(
                f"{self.path}: a DirectRoute's endpoint must be async, take one body model and "
                "nothing else, and be annotated to answer a Response"
            )
        return call

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a small JSON body of the endpoint's model with the direct call, before
        FastAPI's request objects, exit stacks and handler (about a tenth of a small request's
        time); hand any other request to FastAPI's ``handle``, its body replayed."""
        if scope["method"] != "POST" or _content_type(scope) != b"application/json":
            await super().handle(scope, receive, send)
            return
        messages = [await receive()]
        while messages[-1]["type"] == "http.request" and messages[-1].get("more_body", False):
            messages.append(await receive())
        if messages[-1]["type"] == "http.request":
            body = b"".join(message.get("body", b"") for message in messages)
            answer = await self._direct_answer(body)
            if answer is not None:
                await answer(scope, receive, send)
                return
        await super().handle(scope, _replaying(messages, receive), send)

    async def _direct_answer(self, body: bytes) -> Response | None:
        """The direct call's answer to ``body``, or None when it is not small, valid JSON of the
        endpoint's model (FastAPI's handler then answers it: a large body is validated in the
        thread pool first, an invalid one gets FastAPI's 422)."""
        if len(body) > INLINE_BODY_BYTES:
            return None
        try:
            content = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        return await self._direct(content)

    @cached_property
    def _direct(self) -> DirectCall:
        return self.direct_call()


def _content_type(scope: Scope) -> bytes | None:
    """The request's first ``Content-Type`` header, as Starlette's ``headers.get`` reads it."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value)
    return None


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """``receive``, after handing out ``messages`` (received already) again."""
    pending = iter(messages)

    async def replay() -> Message:
        return next(pending, None) or await receive()

    return replay


def _is_json_media_type(content_type: str) -> bool:
    """Whether ``content_type`` is JSON as FastAPI reads it: ``application/json`` or
    ``application/*+json``, parameters such as ``charset`` aside."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def _refuse_unless_json(request: Request, content_type: str | None) -> None:
    """Raise a 415 for a body sent as anything but JSON (curl's ``-d`` sends a form type, which
    FastAPI would hand to validation as raw bytes: a 422 saying the body is not a dictionary)."""
    if (content_type is None or not _is_json_media_type(content_type)) and await request.body():
        sent = f"Content-Type {content_type}" if content_type else "no Content-Type"
        raise HTTPException(
            status_code=415,
            detail=f"the body came with {sent}: send it as JSON with Content-Type: "
            "application/json (curl: --json @file, or -H 'content-type: application/json')",
        )


def _whole_body_field(route: APIRoute) -> ModelField | None:
    """The field the whole JSON body is validated as, or None unless the route (its
    dependencies included) takes exactly one body parameter, not embedded under a key."""
    body_params = list(_body_params(route.dependant))
    if len(body_params) != 1 or getattr(body_params[0].field_info, "embed", False):
        return None
    return route.body_field


def _body_params(dependant: Dependant) -> Iterator[ModelField]:
    """The body parameters of ``dependant`` and of its dependencies."""
    yield from dependant.body_params
    for dependency in dependant.dependencies:
        yield from _body_params(dependency)


@contextmanager
def _no_cyclic_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector: parsing and validating a large body makes a
    million containers with no cycles, and each collection would walk them all while holding the
    GIL, so that the event loop could not run (a 5 MB body of short rows: 3.2 s with the
    collections, 0.7 s without). Another thread's pause may end this one early, which costs only
    time: the collector is switched back on only by the pause that switched it off."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _validated(field: ModelField, body: bytes) -> Any:
    """``body`` parsed and validated as ``field``, or FastAPI's 422 for it (raised), with the
    cyclic collector paused."""
    with _no_cyclic_collection():
        return _parsed_and_validated(field, body)


def _parsed_and_validated(field: ModelField, body: bytes) -> Any:
    try:
        content = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", error.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": error.msg},
                }
            ],
            body=error.doc,
        ) from None
    dropped = drop_unknown_fields(content)
    value, errors = field.validate(content, {}, loc=("body",))
    if not errors:
        # A valid body is freed at once: its model may share objects with it.
        del content
        return value
    if dropped:
        errors.append(
            {"type": TOO_MANY_ERRORS, "loc": ("body",), "msg": "", "ctx": {"more": dropped}}
        )
    problems = clean_errors(errors)
    del errors
    # The parsed body is freed here, with the collector paused, rather than on the event loop with
    # the exception: the 422 keeps only short copies of its inputs, none of the body. An invalid
    # body may be a million objects, so it is taken apart a slice at a time.
    free_in_slices(content)
    del content
    raise RequestValidationError(problems)


FREED_AT_ONCE: Final = 16_384
"""The most objects of a parsed body freed in one step: about half a millisecond."""
SLICE_ITEMS: Final = 1_024
"""The most items of one list freed in one step."""
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def free_in_slices(content: Any) -> None:
    """Free ``content``, a parsed body that nothing else refers to, a slice at a time.

    Freeing a container frees everything in it in one call that holds the GIL: for a body of a
    million strings that is 20 to 60 ms during which the event loop cannot answer even /livez.
    Here each step frees one of :func:`slices`, so the interpreter can switch to the event loop
    between steps.
    """
    for _ in slices(content):
        pass  # each slice is freed when the next one is taken


def slices(content: Any) -> Iterator[list[Any]]:
    """Take ``content`` apart: its lists and objects are emptied, their items handed out in
    slices of at most :data:`SLICE_ITEMS` items, each holding at most :data:`FREED_AT_ONCE`
    objects in all (a slice of short rows keeps them whole); the other lists and objects in a
    slice are taken apart in turn."""
    pending: list[Any] = [content]
    while pending:
        value = pending.pop()
        if type(value) is dict:
            # Its keys and values are moved to lists, which are taken apart like any other.
            pending += [list(value), list(value.values())]
            value.clear()
        elif type(value) is list and value:
            pending.append(value)
            cut = max(0, len(value) - SLICE_ITEMS)
            chunk = value[cut:]
            del value[cut:]
            if not _cheap_to_free(chunk):
                pending += [item for item in chunk if type(item) in (list, dict) and item]
            yield chunk


def _cheap_to_free(chunk: list[Any]) -> bool:
    """Whether ``chunk`` holds only numbers and strings, or only lists of them, at most
    :data:`FREED_AT_ONCE` objects in all (checked by calls that loop in C)."""
    kinds = set(map(type, chunk))
    if kinds <= _SCALARS:
        return True
    return (
        kinds == {list}
        and len(chunk) + sum(map(len, chunk)) <= FREED_AT_ONCE
        and set(map(type, itertools.chain.from_iterable(chunk))) <= _SCALARS
    )


def _direct_call(route: APIRoute) -> DirectCall | None:
    """The direct call of ``route``'s endpoint, or None unless the endpoint is ``async``, takes
    exactly one body model (not embedded) and nothing else, and is annotated to answer a
    :class:`Response` (so that there is no response model to apply)."""
    dependant, endpoint = route.dependant, route.endpoint
    others = (
        dependant.path_params,
        dependant.query_params,
        dependant.header_params,
        dependant.cookie_params,
        dependant.dependencies,
    )
    if any(others) or len(dependant.body_params) != 1:
        return None
    field = dependant.body_params[0]
    if getattr(field.field_info, "embed", False):  # Body(embed=True): the model sits under a key
        return None
    model, answer = field.field_info.annotation, inspect.signature(endpoint).return_annotation
    if not (
        inspect.iscoroutinefunction(endpoint)
        and isinstance(model, type)
        and issubclass(model, BaseModel)
        and isinstance(answer, type)
        and issubclass(answer, Response)
    ):
        return None
    name = field.name

    async def call(content: Any) -> Response | None:
        """The endpoint's answer, or None when ``content`` (the parsed body) is not valid."""
        try:
            value = model.model_validate(content)
        except ValidationError:
            return None
        answer: Response = await endpoint(**{name: value})
        return answer

    return call
