"""Every number field of every request body at the edges of float64 and the 64-bit integers.

The fields come from the app's own OpenAPI document: every ``number`` or ``integer`` property of
every POST body (through ``$ref``, ``anyOf``, ``oneOf`` and array items), at its JSON path. Each is
set, one at a time, in valid requests built from :mod:`app.examples` (where its parent object
exists there) to each of :data:`EDGES`; the answer must never be a 5xx, and must be strict JSON
(a stream: every line, ending with its summary). schemathesis draws from the same schema but
seldom hits these exact values.
"""

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import examples
from app.main import create_app
from app.nn.datasets import DATASETS
from tests.helpers import strict_json

EDGES: list[Any] = [
    -0.0,
    0,
    -1,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    -(2**63),
    -(2**63) - 1,
    -(2**64),
    5e-324,
    1e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
]
"""The values each number field is set to: signed zero, the int64 and uint64 edges and their
negatives, and the float64 extremes (the smallest subnormal, a subnormal, ±the largest float)."""

Path = tuple[str | int, ...]
SHORT_TRAIN = {"epochs": 3}
"""Bases train a few epochs only: the edges, not the runs, are under test."""


def _bases() -> dict[str, list[dict[str, Any]]]:
    """Valid bodies per endpoint, together holding every optional object a number sits in."""
    adam_state = {
        "type": "adam",
        "step": 1,
        "epoch": 1,
        "exp_avg": [
            {"weights": [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], "bias": [0.0, 0.0]},
            {"weights": [[0.0, 0.0]], "bias": [0.0]},
        ],
        "exp_avg_sq": [
            {"weights": [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], "bias": [0.0, 0.0]},
            {"weights": [[0.0, 0.0]], "bias": [0.0]},
        ],
    }
    momentum = {"type": "sgd", "learning_rate": 0.01, "momentum": 0.9, "weight_decay": 0.0}
    trains = [
        {**examples.TRAIN, **SHORT_TRAIN, "optimizer": momentum, "trace": {"every": 1}},
        {**examples.CLASSIFY, **SHORT_TRAIN},
        {**examples.EARLY_STOPPING, **SHORT_TRAIN, "batch_size": 2, "shuffle": True, "seed": 3},
        {
            **examples.TRAIN,
            **SHORT_TRAIN,
            "optimizer": {"type": "adam", "learning_rate": 0.001},
            "optimizer_state": adam_state,
        },
        {
            **examples.EARLY_STOPPING,
            **SHORT_TRAIN,
            "stop": {"loss_below": 0.1, "validation_loss_below": 0.1, "patience": 2},
        },
    ]
    explain = [examples.EXPLAIN, examples.EXPLAIN_ADAM, examples.EXPLAIN_BATCH]
    return {
        "/forward": [examples.FORWARD],
        "/loss": [examples.LOSS],
        "/backward": [examples.LOSS],
        "/gradcheck": [examples.GRADCHECK],
        "/check": [examples.CHECK, examples.CHECK_MISTAKES],
        "/train": trains,
        "/train/stream": trains,
        "/export": [{**body, "format": "numpy"} for body in trains],
        "/explain": explain,
        "/init": [examples.INIT],
        "/datasets": [
            {"name": name, "test_fraction": 0.25, "samples": 40} for name in sorted(DATASETS)
        ],
    }


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _number_paths(
    schema: dict[str, Any], document: dict[str, Any], at: Path = ()
) -> Iterator[Path]:
    """The JSON path of every number in ``schema`` (the first item of each array)."""
    schema = _resolve(schema, document)
    if schema.get("type") in ("number", "integer"):
        yield at
    for variant in [*schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", [])]:
        yield from _number_paths(variant, document, at)
    for name, field in schema.get("properties", {}).items():
        yield from _number_paths(field, document, (*at, name))
    if isinstance(schema.get("items"), dict):
        yield from _number_paths(schema["items"], document, (*at, 0))


def _cases() -> Iterator[tuple[str, int, Path]]:
    document = create_app().openapi()
    for path, bases in _bases().items():
        operation = document["paths"][path]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        paths = sorted(set(_number_paths(body, document)), key=str)
        assert paths, path
        for index, base in enumerate(bases):
            for field in paths:
                if _parent(base, field) is not None:
                    yield path, index, field


def _parent(body: Any, field: Path) -> Any:
    """The object or array that holds ``field`` in ``body``, or None when there is none."""
    for part in field[:-1]:
        in_object = isinstance(body, dict) and isinstance(part, str) and part in body
        in_array = isinstance(body, list) and isinstance(part, int) and len(body) > part
        if not (in_object or in_array):
            return None
        body = body[part]
    last = field[-1]
    if isinstance(body, list) and isinstance(last, int) and len(body) > last:
        return body
    return body if isinstance(body, dict) and isinstance(last, str) else None


CASES = list(_cases())


@pytest.fixture(scope="module")
def edge_client() -> Iterator[TestClient]:
    """One client for every case; server errors come back as answers, not exceptions."""
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "base", "field"), CASES, ids=[f"{p}#{b}:{'.'.join(map(str, f))}" for p, b, f in CASES]
)
def test_number_edges_never_answer_a_server_error(
    edge_client: TestClient, path: str, base: int, field: Path
) -> None:
    """Each edge value in this field answers a 2xx or a 4xx, in strict JSON."""
    for value in EDGES:
        body = copy.deepcopy(_bases()[path][base])
        _parent(body, field)[field[-1]] = value
        response = edge_client.post(
            path, content=json.dumps(body), headers={"content-type": "application/json"}
        )
        where = f"{path} {'.'.join(map(str, field))}={value!r}: {response.text[:300]}"
        assert response.status_code < 500, where
        if response.headers["content-type"].startswith("application/jsonl"):
            lines = [strict_json(line) for line in response.text.splitlines()]
            assert lines, where
            assert "status" in lines[-1], where
        elif response.headers["content-type"].startswith("application/json"):
            strict_json(response.text)
