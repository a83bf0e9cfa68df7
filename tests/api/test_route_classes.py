"""The direct call of body-only async endpoints: same answers as FastAPI's handler, errors
left to FastAPI, only the endpoints it fits, and DirectRoute on exactly those of the app."""

import copy
import importlib
import pkgutil
from typing import Annotated, Any

import fastapi.routing
import orjson
import pytest
from fastapi import APIRouter, Body
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.responses import Response

import app.api.routes
from app import examples
from app.api.route_classes import DirectRoute, OrjsonRoute, _direct_call, json_response

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
