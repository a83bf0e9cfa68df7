"""Schema fuzzing: schemathesis drives every operation of the app's own OpenAPI schema, in-process.

Two runs over the same schema, each one pytest item per operation:

* ``test_conformance_*``: schemathesis as it comes, its examples, coverage and fuzzing phases in
  positive and negative mode. Every answer must be no 5xx, have a documented status code and
  content type and match the documented schema of that status; every request that breaks the schema
  must be rejected (4xx, or 413 for a body over the limit).
* ``test_fitted_*``: valid bodies from the fuzzing phase with their shapes made to fit (weights,
  biases, inputs and targets sized to the network, targets to the loss), so that random networks and
  data reach the engine instead of stopping at a shape check; the same response checks.

The error statuses the fuzzer seldom or never reaches are checked the same way on purpose: a body
over the size limit (413) and a request to a saturated server (503, when the schema documents it).

The runs are reproducible: a fixed seed per operation, a fixed number of examples, no database
(schemathesis also draws on literals of the app's source, so a change to app/ changes the cases).
``/train/stream`` answers JSON Lines, which schemathesis does not read (it validates no body for
``application/jsonl``), so :func:`jsonl_conformance` checks each line against the documented
``itemSchema`` instead.
"""

import asyncio
import functools
import json
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from schemathesis import Case, CheckContext, GenerationMode, Response

from app.config import get_settings
from app.main import create_app
from app.schemas.network import LAST_LAYER_ONLY

LIMITS = {
    "BACKPROP_MAX_EPOCHS": 50,
    "BACKPROP_MAX_SAMPLES": 20,
    "BACKPROP_MAX_UNITS": 16,
    "BACKPROP_MAX_LAYERS": 4,
    "BACKPROP_MAX_TRACE_VALUES": 20_000,
    "BACKPROP_MAX_WORK": 100_000_000,
    "BACKPROP_MAX_STREAM_WORK": 100_000_000,
    "BACKPROP_MAX_BODY_BYTES": 65_536,
}
"""Small limits keep every random request cheap (a few ms); the schema is the app's real one."""

SEED = 20_260_101
CONFORMANCE_EXAMPLES = 100
FITTED_EXAMPLES = 100
"""Fuzzing-phase examples per operation and run (the examples and coverage phases add their own
deterministic cases: up to ~600 for /train)."""

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
]
"""positive_data_acceptance is left out: a body valid by the schema is routinely, and rightly,
rejected with a 422 by the rules the schema cannot express (shapes that fit together, softmax last,
targets that are probabilities, the work and size limits, no overflow)."""


@contextmanager
def small_limits(**extra: int) -> Iterator[None]:
    """The environment with :data:`LIMITS` (and ``extra``), and the settings read from it; both
    restored after."""
    limits = LIMITS | extra
    saved = {name: os.environ.get(name) for name in limits}
    os.environ.update({name: str(value) for name, value in limits.items()})
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def config(modes: str, phases: list[str], examples: int) -> schemathesis.Config:
    """A run with a fixed seed and size, no example database and only :data:`CHECKS`."""
    checks: dict[str, Any] = {"enabled": False} | {name: {"enabled": True} for name in CHECKS}
    # A body over BACKPROP_MAX_BODY_BYTES is rejected with a 413: a rejection too.
    checks["negative_data_rejection"]["expected-statuses"] = [
        "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"
    ]  # fmt: skip
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "phases": {"enabled": False} | {name: {"enabled": True} for name in phases},
            "generation": {"mode": modes, "max-examples": examples, "database": "none"},
            "checks": checks,
        }
    )


with small_limits():
    APP = create_app()  # the body limit is read here, the other limits on each request
    conformance = schemathesis.openapi.from_asgi(
        "/openapi.json",
        APP,
        config=config("all", ["examples", "coverage", "fuzzing"], CONFORMANCE_EXAMPLES),
    )
    fitted = schemathesis.openapi.from_asgi(
        "/openapi.json",
        APP,
        config=config("positive", ["fuzzing"], FITTED_EXAMPLES),
    )
OPENAPI: dict[str, Any] = APP.openapi()


@pytest.fixture(autouse=True)
def _small_limits() -> Iterator[None]:
    with small_limits():
        yield


STREAM_LINES = (
    {"$ref": "#/components/schemas/EpochTrace"},
    {"$ref": "#/components/schemas/TrainSummary"},
)
"""What a /train/stream answer's lines are besides items of its itemSchema: each recorded epoch,
then the summary."""


@functools.cache
def _validator(schema: str) -> jsonschema_rs.Validator:
    """A validator of a JSON ``schema`` whose ``#/components/...`` references resolve in the
    OpenAPI."""
    return jsonschema_rs.Draft202012Validator(
        {**json.loads(schema), "components": OPENAPI["components"]}
    )


def _problems(schema: dict[str, Any], item: Any) -> list[str]:
    """Each way ``item`` breaks ``schema``, with the JSON path where it does."""
    return [
        "$" + "".join(f"[{part!r}]" for part in error.instance_path) + f": {error.message}"
        for error in _validator(json.dumps(schema, sort_keys=True)).iter_errors(item)
    ]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def jsonl_conformance(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Each line of a JSON Lines answer is strict JSON matching the documented ``itemSchema``; a
    200 of /train/stream is its recorded epochs (EpochTrace), then one summary (TrainSummary)."""
    content_type = ",".join(response.headers.get("content-type", []))
    if not content_type.startswith("application/jsonl"):
        return None
    documented = case.operation.definition.raw["responses"][str(response.status_code)]["content"]
    lines = response.content.decode().splitlines()
    items = [json.loads(line, parse_constant=_reject_constant) for line in lines]
    schemas = [[documented["application/jsonl"]["itemSchema"]] for _ in items]
    if case.operation.path == "/train/stream" and response.status_code == 200:
        assert items, "an empty stream: its last line must be the summary"
        entry, summary = STREAM_LINES
        for number, line_schemas in enumerate(schemas, 1):
            line_schemas.insert(0, summary if number == len(items) else entry)
    for number, (item, line_schemas) in enumerate(zip(items, schemas, strict=True), 1):
        for schema in line_schemas:
            problems = _problems(schema, item)
            assert not problems, f"line {number} of {len(items)} breaks {schema}: {problems}"
    return True


def check_response(case: Case) -> None:
    case.call_and_validate(additional_checks=[jsonl_conformance])


# --- Fitting a valid body's shapes together -------------------------------------------------------

MAX_LAYERS, MAX_UNITS, MAX_SAMPLES, MAX_EPOCHS = (
    LIMITS[f"BACKPROP_MAX_{name}"] for name in ("LAYERS", "UNITS", "SAMPLES", "EPOCHS")
)


def _numbers(value: Any) -> list[float]:
    """Every number in ``value``, depth first."""
    if isinstance(value, dict):
        return _numbers(list(value.values()))
    if isinstance(value, list):
        return [number for item in value for number in _numbers(item)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


def _moderate(value: float) -> float:
    """``value`` if within ±1e6, else its remainder by 1e6: parameters of 1e200 only overflow."""
    if abs(value) <= 1e6:
        return value
    if isinstance(value, int):  # JSON integers may be too large for a float
        return math.copysign(abs(value) % 10**6, value)
    return math.fmod(value, 1e6)


def _fill(value: Any, count: int, default: float = 0.5, moderate: bool = False) -> list[float]:
    """``count`` numbers taken in turn from those in ``value`` (``default`` if it has none)."""
    source = [_moderate(x) for x in _numbers(value)] if moderate else _numbers(value)
    source = source or [default]
    return [source[index % len(source)] for index in range(count)]


def _matrix(value: Any, rows: int, columns: int, moderate: bool = False) -> list[list[float]]:
    flat = _fill(value, rows * columns, moderate=moderate)
    return [flat[row * columns : (row + 1) * columns] for row in range(rows)]


def _is_batch(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], list)


def _like(inputs: Any, value: Any, width: int) -> Any:
    """``value``'s numbers in the form of ``inputs`` (a sample or a batch), ``width`` per sample."""
    return _matrix(value, len(inputs), width) if _is_batch(inputs) else _fill(value, width)


def _fit_network(network: dict[str, Any]) -> list[int]:
    """Make the layers chain (columns = units before) with moderate parameters; return the sizes
    from input to output."""
    layers = network["layers"][:MAX_LAYERS]
    first = layers[0]["weights"][0]
    sizes = [min(max(len(first), 1), MAX_UNITS)]
    for index, layer in enumerate(layers):
        units = min(len(layer["weights"]), MAX_UNITS)
        layer["weights"] = _matrix(layer["weights"], units, sizes[-1], moderate=True)
        layer["bias"] = _fill(layer["bias"], units, 0.0, moderate=True)
        if layer["activation"] in LAST_LAYER_ONLY and index < len(layers) - 1:
            layer["activation"] = "tanh"
        sizes.append(units)
    network["layers"] = layers
    return sizes


def _fit_targets(body: dict[str, Any], last: dict[str, Any], outputs: int) -> None:
    """Targets in the form of the inputs, as the loss reads them (probabilities, one-hot rows)."""
    targets = _like(body["inputs"], body["targets"], outputs)
    rows = targets if _is_batch(targets) else [targets]
    loss = body.get("loss")
    if loss == "binary_cross_entropy":
        last["activation"] = "sigmoid"
        for row in rows:
            row[:] = [t if 0 <= t <= 1 else float(t > 0) for t in row]
    elif loss == "cross_entropy":
        last["activation"] = "softmax"
        for row in rows:
            row[:] = [float(index == row.index(max(row))) for index in range(len(row))]
    body["targets"] = targets


def _fit_claimed(claimed: dict[str, Any], inputs: Any, sizes: list[int]) -> None:
    """Claimed z, a and outputs in the form of the inputs; tensors shaped like the parameters; a
    loss if nothing else is claimed."""
    layers = len(sizes) - 1
    for item_index, item in enumerate((claimed.get("layers") or [])[:layers]):
        for name in ("z", "a"):
            if item.get(name) is not None:
                item[name] = _like(inputs, item[name], sizes[item_index + 1])
    if claimed.get("layers") is not None:
        claimed["layers"] = claimed["layers"][:layers]
    if claimed.get("outputs") is not None:
        claimed["outputs"] = _like(inputs, claimed["outputs"], sizes[-1])
    network = claimed.get("network") or {}
    for owner, key in ((claimed, "gradients"), (network, "layers")):
        if owner.get(key) is None:
            continue
        owner[key] = owner[key][:layers]
        for index, tensors in enumerate(owner[key]):
            if tensors.get("weights") is not None:
                tensors["weights"] = _matrix(tensors["weights"], sizes[index + 1], sizes[index])
            if tensors.get("bias") is not None:
                tensors["bias"] = _fill(tensors["bias"], sizes[index + 1])
    if not _numbers(claimed):
        claimed["loss"] = 0.5


def _fit_state(state: dict[str, Any], optimizer: dict[str, Any], sizes: list[int]) -> None:
    """The optimizer's own type and buffers, shaped like the parameters (squares not negative)."""
    kind = state["type"] = optimizer.get("type", "sgd")
    if kind == "sgd":
        used = ["momentum_buffer"] if optimizer.get("momentum") else []
    else:
        used = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if optimizer.get("amsgrad") else [])
    _fit_integers(state, ("step", "epoch"))
    for name in ("momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        numbers = _numbers(state.get(name) or state)
        if name.endswith("_sq"):
            numbers = [abs(number) for number in numbers]
        state[name] = (
            [
                {"weights": _matrix(numbers, units, inputs), "bias": _fill(numbers, units)}
                for units, inputs in zip(sizes[1:], sizes, strict=False)
            ]
            if name in used
            else None
        )


def _fit_integers(body: dict[str, Any], names: tuple[str, ...]) -> None:
    """JSON Schema's integers include 3.0 and 10**30, the server's only ints of 64 bits."""
    for name in names:
        if body.get(name) is not None:
            body[name] = int(body[name]) % 2**32 or 1


def fit_shapes(path: str, body: dict[str, Any]) -> None:
    """Resize a body valid by the schema so that its parts fit together and the limits hold."""
    if path == "/datasets":
        _fit_integers(body, ("seed", "samples"))
        if "samples" in body:
            body["samples"] = 1 + (body["samples"] - 1) % MAX_SAMPLES
        return
    if path == "/exercises":
        _fit_integers(body, ("seed",))
        return
    if path == "/export" and "exercise" in body:  # an exercise's notebook: /exercises' body
        _fit_integers(body["exercise"], ("seed",))
        return
    if path == "/init":
        body["sizes"] = [1 + int(abs(size)) % MAX_UNITS for size in body["sizes"][: MAX_LAYERS + 1]]
        _fit_integers(body, ("seed",))
        if body.get("activation") in LAST_LAYER_ONLY and len(body["sizes"]) > 2:
            body["activation"] = "relu"
        return
    sizes = _fit_network(body["network"])
    if "inputs" not in body:  # /export of a network alone
        return
    inputs = body["inputs"]
    body["inputs"] = inputs[:MAX_SAMPLES] if _is_batch(inputs) else inputs
    body["inputs"] = _like(body["inputs"], body["inputs"], sizes[0])
    if "targets" in body:
        _fit_targets(body, body["network"]["layers"][-1], sizes[-1])
    _fit_integers(body, ("seed", "batch_size"))
    if "epochs" in body:
        body["epochs"] = 1 + (int(body["epochs"]) - 1) % MAX_EPOCHS
    _fit_integers(body.get("trace", {}), ("every",))
    if body.get("optimizer_state") is not None:
        _fit_state(body["optimizer_state"], body.get("optimizer") or {}, sizes)
    if "claimed" in body:
        _fit_claimed(body["claimed"], body["inputs"], sizes)


# --- The tests: one pytest item per operation and run --------------------------------------------


def _conformance(case: Case) -> None:
    check_response(case)


def _fitted(case: Case) -> None:
    assert case.meta is not None
    assert case.meta.generation.mode is GenerationMode.POSITIVE
    fit_shapes(case.operation.path, case.body)
    check_response(case)


def _name(label: str) -> str:
    """``POST /train/stream`` as ``post_train_stream``."""
    return label.lower().replace(" /", "_").replace("/", "_")


def _per_operation(
    schema: Any, prefix: str, test: Callable[[Case], None], *, with_body_only: bool = False
) -> None:
    """Give each operation its own test function, hence its own pytest node id (schemathesis 4.32
    names the items of one parametrized function ``test[POST /x]`` but pytest 9.2 derives every
    node id from the function's name, so they would all share one id)."""
    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        if with_body_only and not operation.body:
            continue
        globals()[f"{prefix}_{_name(label)}"] = schema.include(name=label).parametrize()(test)


_per_operation(conformance, "test_conformance", _conformance)
_per_operation(fitted, "test_fitted", _fitted, with_body_only=True)


def test_every_operation_is_fuzzed() -> None:
    """Both runs cover every operation of the schema (the fitted one every one with a body)."""
    operations = [
        (f"{method.upper()} {path}", "requestBody" in operation)
        for path, item in OPENAPI["paths"].items()
        for method, operation in item.items()
    ]
    expected = {f"test_conformance_{_name(label)}" for label, _ in operations} | {
        f"test_fitted_{_name(label)}" for label, body in operations if body
    }
    generated = {
        name for name in globals() if name.startswith(("test_conformance_", "test_fitted_"))
    }
    assert generated == expected
    assert len(expected) == len(operations) + sum(body for _, body in operations)


POSTS = sorted(path for path, item in OPENAPI["paths"].items() if "post" in item)


@pytest.mark.parametrize("path", POSTS)
def test_oversize_body_is_a_documented_413(path: str) -> None:
    """A body over BACKPROP_MAX_BODY_BYTES gets the documented 413 and its ErrorMessage body."""
    body = {"inputs": [0.5] * LIMITS["BACKPROP_MAX_BODY_BYTES"]}
    case = conformance[path]["POST"].Case(body=body, media_type="application/json")
    response = case.call_and_validate()
    assert response.status_code == 413


def test_saturated_server_answers_the_documented_503() -> None:
    """With BACKPROP_MAX_CONCURRENT compute requests in flight, the next one gets the documented
    503: its status, content type, ErrorMessage body and Retry-After header."""
    documented = OPENAPI["paths"]["/forward"]["post"]["responses"]
    if "503" not in documented:
        pytest.skip("the schema documents no 503")
    with small_limits(BACKPROP_MAX_CONCURRENT=1):
        app = create_app()
    body = {
        "network": {"layers": [{"weights": [[1.0]], "bias": [0.0], "activation": "relu"}]},
        "inputs": [1.0],
    }

    async def saturate() -> httpx.Response:
        reading, release = asyncio.Event(), asyncio.Event()

        async def held_body() -> dict[str, Any]:
            reading.set()
            await release.wait()
            return {"type": "http.request", "body": json.dumps(body).encode()}

        async def ignore(message: Any) -> None:
            pass

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/forward", "raw_path": b"/forward", "query_string": b"",
            "root_path": "", "headers": [(b"content-type", b"application/json")],
            "client": ("testclient", 1), "server": ("testserver", 80),
        }  # fmt: skip
        held = asyncio.create_task(app(scope, held_body, ignore))
        await asyncio.wait_for(reading.wait(), 10)  # in flight, past the cap, reading its body
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post("/forward", json=body)
        release.set()
        await held
        return response

    response = asyncio.run(saturate())
    assert response.status_code == 503
    case = conformance["/forward"]["POST"].Case(body=body, media_type="application/json")
    case.validate_response(response, excluded_checks=[schemathesis.checks.not_a_server_error])
