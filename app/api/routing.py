"""A route class whose requests parse JSON with orjson, and answers written by orjson.

orjson rejects what JSON itself rejects (``NaN``, ``Infinity``, numbers beyond float64 such as
``1e400``, invalid UTF-8) and bounds nesting depth, always with a ``JSONDecodeError``, which FastAPI
turns into a 422. It is also several times faster than the standard library on large bodies.

For the small math requests FastAPI's own per-request work (its content-type parsing, dependency
solving and telemetry hooks) costs about as much as the arithmetic, so an ``async`` endpoint that
takes one body model and answers a :class:`Response` is called directly once its body is valid
JSON of that model; every other request, the invalid ones included, goes through FastAPI's handler,
so errors keep FastAPI's exact form.
"""

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import orjson
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
DirectCall = Callable[[Request], Awaitable[Response | None]]


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


class OrjsonRoute(APIRoute):
    """An APIRoute that hands its endpoint an :class:`OrjsonRequest`, and calls a body-only
    ``async`` endpoint directly with a valid body (see the module's docstring)."""

    def get_route_handler(self) -> Handler:
        """FastAPI's handler behind orjson parsing, and the direct call where it applies."""
        handler = super().get_route_handler()
        direct = _direct_call(self)

        async def orjson_handler(request: Request) -> Response:
            request = OrjsonRequest(request.scope, request.receive)
            if direct is not None and request.headers.get("content-type") == "application/json":
                answer = await direct(request)
                if answer is not None:
                    return answer
            return await handler(request)

        return orjson_handler


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

    async def call(request: Request) -> Response | None:
        """The endpoint's answer, or None when the body is not valid JSON of the model."""
        try:
            value = model.model_validate(await request.json())
        except (orjson.JSONDecodeError, ValidationError):
            return None
        answer: Response = await endpoint(**{name: value})
        return answer

    return call
