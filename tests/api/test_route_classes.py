"""The direct call of body-only async endpoints: same answers as FastAPI's handler, errors
left to FastAPI, only the endpoints it fits, and DirectRoute on exactly those of the app."""

import copy
import importlib
import pkgutil
import threading
from typing import Annotated, Any

import anyio
import fastapi.routing
import orjson
import pytest
from fastapi import APIRouter, Body, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.responses import Response

import app.api.routes
from app import examples
from app.api import route_classes
from app.api.route_classes import DirectRoute, OrjsonRoute, _direct_call, json_response
from app.api.routes import passes
from app.main import create_app

JSON = "application/json"
FASTAPIS_OWN = "application/json; charset=utf-8"  # not the direct call's exact type: FastAPI's path
VALID = {"/forward": examples.FORWARD, "/loss": examples.LOSS, "/backward": examples.LOSS}


def post(client: TestClient, path: str, body: bytes, content_type: str) -> Any:
    """POST raw ``body`` with the given content type."""
    return client.post(path, content=body, headers={"content-type": content_type})


def _bad_bodies() -> list[tuple[str, bytes]]:
    shapes = copy.deepcopy(examples.FORWARD)
    shapes["inputs"] = [1.0, 2.0]
    loss = copy.deepcopy(examples.LOSS)
    loss["loss"] = "hinge"
    return [
        ("/forward", b""),
        ("/forward", b"{"),
        ("/forward", b'{"inputs": NaN}'),
        ("/forward", b"[]"),
        ("/forward", orjson.dumps(shapes)),
        ("/loss", orjson.dumps(loss)),
        ("/backward", orjson.dumps({"network": examples.FORWARD["network"]})),
    ]


@pytest.mark.parametrize("path", sorted(VALID))
def test_direct_answer_is_fastapis_answer(client: TestClient, path: str) -> None:
    """A valid body answers the same bytes whichever handler took it."""
    body = orjson.dumps(VALID[path])
    direct, own = post(client, path, body, JSON), post(client, path, body, FASTAPIS_OWN)
    assert direct.status_code == own.status_code == 200
    assert direct.content == own.content
    assert direct.headers["content-type"] == own.headers["content-type"] == JSON


@pytest.mark.parametrize(("path", "body"), _bad_bodies())
def test_invalid_bodies_get_fastapis_errors(client: TestClient, path: str, body: bytes) -> None:
    """Invalid JSON, a missing body and invalid values get FastAPI's own 422, word for word."""
    direct, own = post(client, path, body, JSON), post(client, path, body, FASTAPIS_OWN)
    assert direct.status_code == own.status_code == 422
    assert direct.json() == own.json()


def test_the_direct_call_skips_fastapis_dependency_solving(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With FastAPI's solver broken, a valid /forward still answers: the direct call took it."""

    async def broken(**_: Any) -> None:
        raise RuntimeError("FastAPI's handler was used")

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", broken)
    body = orjson.dumps(examples.FORWARD)
    assert post(client, "/forward", body, JSON).status_code == 200
    with pytest.raises(RuntimeError, match="FastAPI's handler was used"):
        post(client, "/forward", body, FASTAPIS_OWN)


def test_a_valid_body_is_answered_before_fastapis_request_handling(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The direct call answers from the route's ``handle``: a valid /forward builds none of the
    request objects FastAPI's handler builds; an invalid one still reaches FastAPI's handler."""

    class Broken(route_classes.OrjsonRequest):
        def __init__(self, *args: Any) -> None:
            raise RuntimeError("FastAPI's request handling was used")

    body = orjson.dumps(examples.FORWARD)
    answer = _forward_answer(body)
    monkeypatch.setattr(route_classes, "OrjsonRequest", Broken)
    assert post(client, "/forward", body, JSON).content == answer
    with pytest.raises(RuntimeError, match="FastAPI's request handling was used"):
        post(client, "/forward", b"{", JSON)


def _forward_answer(body: bytes) -> bytes:
    """/forward's answer to ``body`` from FastAPI's own handler."""
    return bytes(post(TestClient(create_app()), "/forward", body, FASTAPIS_OWN).content)


async def _asgi_post(app: Any, path: str, chunks: list[bytes]) -> tuple[int, bytes]:
    """POST the body in ``chunks``, one ASGI message each, straight to ``app``; its status and
    body."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


def test_a_body_in_several_messages_is_joined_or_replayed_whole() -> None:
    """Without the app's body reader in front, a body sent in several ASGI messages is joined
    for the direct call, and handed whole to FastAPI's handler when it is invalid."""
    app = FastAPI()
    app.include_router(passes.router)
    body = orjson.dumps(examples.FORWARD)
    halves = [body[:40], body[40:]]
    assert anyio.run(_asgi_post, app, "/forward", halves) == (200, _forward_answer(body))
    status, answer = anyio.run(_asgi_post, app, "/forward", [body[:40], b"]"])
    assert status == 422
    assert orjson.loads(answer)["detail"][0]["type"] == "json_invalid"


class Item(BaseModel):
    """A body model for the eligibility tests."""

    value: int


def _route(router: APIRouter) -> OrjsonRoute:
    route = router.routes[-1]
    assert isinstance(route, OrjsonRoute)
    return route


def test_only_body_only_async_endpoints_answering_a_response_are_called_directly() -> None:
    """Anything FastAPI does beyond validating one body keeps FastAPI's handler."""
    router = APIRouter(route_class=OrjsonRoute)

    @router.post("/direct")
    async def direct(item: Item) -> Response:
        return json_response({"value": item.value})

    assert _direct_call(_route(router)) is not None

    @router.post("/sync")
    def sync(item: Item) -> Response:
        return json_response({"value": item.value})

    assert _direct_call(_route(router)) is None

    @router.post("/query")
    async def query(item: Item, scale: int = 1) -> Response:
        return json_response({"value": item.value * scale})

    assert _direct_call(_route(router)) is None

    @router.post("/model")
    async def model(item: Item) -> Item:
        return item

    assert _direct_call(_route(router)) is None

    @router.post("/two")
    async def two(item: Item, other: Item) -> Response:
        return json_response({"value": item.value + other.value})

    assert _direct_call(_route(router)) is None

    @router.post("/embedded")
    async def embedded(item: Annotated[Item, Body(embed=True)]) -> Response:
        return json_response({"value": item.value})

    assert _direct_call(_route(router)) is None


def test_a_direct_route_refuses_an_endpoint_it_does_not_fit() -> None:
    """A DirectRoute whose endpoint FastAPI would do more for fails when it is built."""
    router = APIRouter(route_class=DirectRoute)
    with pytest.raises(TypeError, match="/sync: a DirectRoute's endpoint must be async"):

        @router.post("/sync")
        def sync(item: Item) -> Response:
            return json_response({"value": item.value})


def test_direct_routes_are_exactly_the_endpoints_the_direct_call_fits() -> None:
    """The app's DirectRoutes are /forward, /loss and /backward, and no other route's endpoint
    could be called directly: the fast path is named where it is used."""
    modules = [
        importlib.import_module(f"app.api.routes.{module.name}")
        for module in pkgutil.iter_modules(app.api.routes.__path__)
    ]
    routers = [module.router for module in modules if hasattr(module, "router")]
    routes = [route for router in routers for route in router.routes]
    direct = {route.path for route in routes if isinstance(route, DirectRoute)}
    assert direct == {"/forward", "/loss", "/backward"}
    for route in routes:
        if isinstance(route, OrjsonRoute) and not isinstance(route, DirectRoute):
            assert _direct_call(route) is None, route.path


def _objects(value: Any) -> int:
    """How many objects ``value`` holds, itself and everything in it."""
    if isinstance(value, dict):
        return 1 + sum(_objects(key) + _objects(item) for key, item in value.items())
    if isinstance(value, list):
        return 1 + sum(_objects(item) for item in value)
    return 1


def _empty(value: Any) -> bool:
    """Whether ``value`` is an empty list or object."""
    return value in ([], {}) or not isinstance(value, list | dict)


@pytest.mark.parametrize(
    "body",
    [
        {"network": examples.FORWARD["network"], "inputs": ["a"] * 100_000},
        {"inputs": [[1.0]] * 50_000 + [[1.0, "a"] * 2_000] * 10},
        {"inputs": [[[[1, 2]] * 50] * 50] * 20, "x": {f"k{i}": [i] * 30 for i in range(3_000)}},
        {"inputs": [{"a": [None] * 20_000}, 1.5, True, [[]]] * 5},
    ],
    ids=["strings", "rows", "deep", "objects in a list"],
)
def test_a_parsed_body_is_freed_a_slice_at_a_time(body: Any) -> None:
    """Each slice frees at most FREED_AT_ONCE objects of SLICE_ITEMS items (a large body freed at
    once holds the GIL for tens of milliseconds), and together they free the whole body."""
    content = orjson.loads(orjson.dumps(body))
    containers = [content]
    pending = [content]
    while pending:
        value = pending.pop()
        inner = list(value.values()) if isinstance(value, dict) else value
        found = [item for item in inner if isinstance(item, list | dict)]
        containers += found
        pending += found
    freed = list(route_classes.slices(content))
    handed_out = {id(item) for chunk in freed for item in chunk}
    assert all(_empty(value) or id(value) in handed_out for value in containers)
    assert all(len(chunk) <= route_classes.SLICE_ITEMS for chunk in freed)
    # What each slice still holds (its short rows, the containers taken apart) is what it frees.
    assert max(_objects(chunk) - 1 for chunk in freed) <= route_classes.FREED_AT_ONCE


def test_a_large_body_is_freed_in_slices_in_the_worker_thread(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parsed body of a large invalid request is taken apart off the event loop, after its
    422 is written (the errors' inputs are objects of the body); a valid one is left whole."""
    freed: list[tuple[str, bool]] = []
    real = route_classes.free_in_slices

    def recording(content: Any) -> None:
        real(content)
        freed.append((threading.current_thread().name, _empty(content)))

    monkeypatch.setattr(route_classes, "free_in_slices", recording)
    samples = route_classes.INLINE_BODY_BYTES // 10
    valid = examples.FORWARD | {"inputs": [[-1.0, 2.0, 1.5]] * samples}
    assert client.post("/forward", json=valid).status_code == 200
    invalid = examples.FORWARD | {"inputs": ["a"] * (route_classes.INLINE_BODY_BYTES // 2)}
    assert client.post("/forward", json=invalid).status_code == 422
    assert freed == [("AnyIO worker thread", True)]
