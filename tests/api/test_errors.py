"""Every error path: status, the one JSON error shape, loc and message."""

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import examples
from app.api import route_classes
from app.api.errors import MAX_ECHOED_CHARS
from app.config import Settings, get_settings
from app.schemas.base import MAX_REPORTED_PROBLEMS
from tests.helpers import strict_json

Body = dict[str, Any]


def _train(**changes: Any) -> Body:
    body = copy.deepcopy(examples.TRAIN)
    body.update(changes)
    return body


def _with_layer(index: int, **changes: Any) -> Body:
    body = copy.deepcopy(examples.TRAIN)
    body["network"]["layers"][index].update(changes)
    return body


def _only_error(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    detail = strict_json(response.text)["detail"]
    assert isinstance(detail, list)
    assert len(detail) == 1, detail
    error: dict[str, Any] = detail[0]
    assert set(error) <= {"type", "loc", "msg", "input", "ctx"}
    return error


INVALID_BODIES: list[tuple[str, Body, str, list[Any], str]] = [
    ("bool", _train(inputs=[-1.0, True, 1.5]), "float_type", ["inputs", 1], "valid number"),
    ("numeric string", _train(targets=["1.5"]), "float_type", ["targets", 0], "valid number"),
    (
        "null number",
        _with_layer(1, bias=[None]),
        "float_type",
        ["network", "layers", 1, "bias", 0],
        "valid number",
    ),
    (
        "unknown field",
        _train(learning_rate=0.1),
        "extra_forbidden",
        ["learning_rate"],
        "Extra inputs",
    ),
    (
        "unknown layer field",
        _with_layer(0, bias_init=0),
        "extra_forbidden",
        ["network", "layers", 0, "bias_init"],
        "Extra",
    ),
    (
        "missing network",
        {"inputs": [1.0], "targets": [1.0]},
        "missing",
        ["network"],
        "Field required",
    ),
    (
        "unknown activation",
        _with_layer(0, activation="softplus"),
        "literal_error",
        ["network", "layers", 0, "activation"],
        "relu",
    ),
    ("unknown loss", _train(loss="hinge"), "literal_error", ["loss"], "mean_squared_error"),
    ("no layers", _train(network={"layers": []}), "too_short", ["network", "layers"], "at least 1"),
    (
        "empty weights",
        _with_layer(0, weights=[]),
        "too_short",
        ["network", "layers", 0, "weights"],
        "at least 1",
    ),
    (
        "epochs zero",
        _train(epochs=0),
        "greater_than_equal",
        ["epochs"],
        "greater than or equal to 1",
    ),
    ("epochs float", _train(epochs=1.5), "int_type", ["epochs"], "valid integer"),
    (
        "negative learning rate",
        _train(optimizer={"type": "sgd", "learning_rate": -0.1}),
        "greater_than_equal",
        ["optimizer", "learning_rate"],
        "0",
    ),
    (
        "unknown optimizer",
        _train(optimizer={"type": "adagrad"}),
        "literal_error",
        ["optimizer", "type"],
        "sgd",
    ),
    (
        "ragged weights",
        _with_layer(0, weights=[[0.1, -0.2, 0.4], [-0.5, 0.3]]),
        "shape_mismatch",
        ["network", "layers", 0, "weights", 1],
        "layer 0: every row of weights must have the same length: "
        "row 1 has 2 numbers but row 0 has 3",
    ),
    (
        "bias length",
        _with_layer(0, bias=[0.0]),
        "shape_mismatch",
        ["network", "layers", 0, "bias"],
        "layer 0 has 2 units (one per row of weights), so bias needs 2 numbers but it has 1",
    ),
    (
        "layer inputs",
        _with_layer(1, weights=[[0.3, -0.7, 0.1]]),
        "shape_mismatch",
        ["network", "layers", 1, "weights"],
        "layer 1 expects 2 inputs (layer 0 has 2 units) but its weights have 3 columns",
    ),
    (
        "sample width",
        _train(inputs=[1.0, 2.0]),
        "shape_mismatch",
        ["inputs"],
        "inputs has 2 numbers but layer 0 expects 3 inputs",
    ),
    (
        "batch row width",
        _train(inputs=[[1.0, 2.0, 3.0], [1.0, 2.0]], targets=[[1.0], [0.0]]),
        "shape_mismatch",
        ["inputs", 1],
        "inputs row 1 has 2 numbers but layer 0 expects 3 inputs",
    ),
    (
        "target width",
        _train(targets=[1.0, 2.0]),
        "shape_mismatch",
        ["targets"],
        "targets has 2 numbers but the last layer (layer 1) has 1 output",
    ),
    (
        "target form",
        _train(inputs=[[-1.0, 2.0, 1.5]], targets=[1.0]),
        "shape_mismatch",
        ["targets"],
        "inputs is a batch (a list of rows), so targets must be a batch (a list of rows) too",
    ),
    (
        "target rows",
        _train(inputs=[[-1.0, 2.0, 1.5], [1.0, 1.0, 1.0]], targets=[[1.0]]),
        "shape_mismatch",
        ["targets"],
        "targets has 1 row but inputs has 2: one target row per sample",
    ),
]


@pytest.mark.parametrize(
    ("body", "kind", "loc", "message"),
    [case[1:] for case in INVALID_BODIES],
    ids=[case[0] for case in INVALID_BODIES],
)
def test_invalid_body(
    client: TestClient, body: Body, kind: str, loc: list[Any], message: str
) -> None:
    """Each invalid body gets one 422 error at the JSON path of the bad value."""
    error = _only_error(client.post("/train", json=body))
    assert error["type"] == kind
    assert error["loc"] == ["body", *loc]
    assert message in error["msg"]


def test_one_sample_for_a_one_input_network_hints_at_batches(client: TestClient) -> None:
    """Three numbers for a one-input network: the message says how to send three samples."""
    network = {"layers": [{"weights": [[2.0]], "bias": [0.0], "activation": "identity"}]}
    error = _only_error(
        client.post("/forward", json={"network": network, "inputs": [1.0, 2.0, 3.0]})
    )
    assert "send a list of rows" in error["msg"]


def test_several_problems_are_reported_together(client: TestClient) -> None:
    """All shape problems of a body come back in one response."""
    body = _with_layer(0, bias=[0.0])
    body["network"]["layers"][1]["weights"] = [[0.3, -0.7, 0.1]]
    response = client.post("/forward", json=body)
    assert response.status_code == 422
    locs = [error["loc"] for error in response.json()["detail"]]
    assert ["body", "network", "layers", 0, "bias"] in locs
    assert ["body", "network", "layers", 1, "weights"] in locs


@pytest.mark.parametrize(
    ("literal", "hint"),
    [
        ("NaN", "NaN, Infinity"),
        ("Infinity", "NaN, Infinity"),
        ("-Infinity", "NaN, Infinity"),
        ("1e400", "NaN, Infinity"),
        ("-1e400", "NaN, Infinity"),
    ],
)
def test_non_finite_literals_are_rejected(client: TestClient, literal: str, hint: str) -> None:
    """Bare NaN/Infinity/overflowing literals get a 422 (not FastAPI's 500 when echoing them)."""
    text = json.dumps(examples.FORWARD).replace("-1.0", literal, 1)
    response = client.post("/forward", content=text, headers={"content-type": "application/json"})
    error = _only_error(response)
    assert error["type"] == "json_invalid"
    assert error["loc"][0] == "body"
    assert hint in error["msg"]


@pytest.mark.parametrize(
    "content",
    [b"{", b'{"network": }', b"\xff\xfe\x00", b"[" * 5000 + b"]" * 5000, b"null"],
    ids=["truncated", "syntax", "not utf-8", "deeply nested", "null"],
)
def test_malformed_json(client: TestClient, content: bytes) -> None:
    """Malformed, undecodable or absurdly nested bodies get a 422, never a 500."""
    response = client.post(
        "/forward", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize("path", ["/forward", "/train", "/train/stream", "/explain", "/check"])
@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data", None]
)
def test_a_body_not_sent_as_json_is_a_415(
    client: TestClient, path: str, content_type: str | None
) -> None:
    """curl's ``-d`` (a form type), another type or none: a 415 that says how to send JSON, not a
    422 saying the body is not a dictionary."""
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(path, content=json.dumps(examples.TRAIN), headers=headers)
    assert response.status_code == 415, response.text
    detail = response.json()["detail"]
    sent = f"Content-Type {content_type}" if content_type else "no Content-Type"
    assert detail.startswith(f"the body came with {sent}:")
    assert "Content-Type: application/json (curl: --json @file" in detail


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", "application/problem+json"],
)
def test_json_media_types_with_parameters_or_suffixes_are_read(
    client: TestClient, content_type: str
) -> None:
    """Every JSON media type FastAPI reads (parameters, case, a ``+json`` suffix) is answered."""
    response = client.post(
        "/forward", content=json.dumps(examples.FORWARD), headers={"content-type": content_type}
    )
    assert response.status_code == 200, response.text


def test_an_empty_body_of_another_type_is_still_a_missing_body(client: TestClient) -> None:
    """With no body at all there is nothing sent in the wrong form: the 422 names the body."""
    response = client.post(
        "/forward", content=b"", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "missing"


def test_large_invalid_input_is_not_echoed(client: TestClient) -> None:
    """A big wrong value is named by its path, not copied back into the error."""
    error = _only_error(
        client.post("/forward", json={**examples.FORWARD, "inputs": {"x": [1.0] * 100}})
    )
    assert error["loc"] == ["body", "inputs"]
    assert "input" not in error


@pytest.mark.parametrize(
    ("path", "body", "loc", "what"),
    [
        (
            "/forward",
            _with_layer(1, weights=[[1e200, 1e200]]) | {"inputs": [1e200, 2.0, 3.0]},
            ["network", "layers", 1],
            "layer 1: z is not finite",
        ),
        (
            "/loss",
            _train(
                targets=[-1e300],
                network={
                    "layers": [
                        {"weights": [[1e300, 0.0, 0.0]], "bias": [0.0], "activation": "identity"}
                    ]
                },
                inputs=[1.0, 0.0, 0.0],
            ),
            ["targets"],
            "the loss is not finite",
        ),
        (
            "/backward",
            # y = 1e300 · tanh(1e-300) = 1 is fine, but ∂L/∂W0 = 1e300 · 1e10 overflows.
            _train(
                network={
                    "layers": [
                        {"weights": [[1e-310, 0.0, 0.0]], "bias": [0.0], "activation": "tanh"},
                        {"weights": [[1e300]], "bias": [0.0], "activation": "identity"},
                    ]
                },
                inputs=[1e10, 0.0, 0.0],
                targets=[0.0],
            ),
            ["network", "layers", 0],
            "layer 0: the gradient is not finite",
        ),
        (
            "/train",
            _with_layer(0, weights=[[1e300, 1e300, 1e300], [0.0, 0.0, 0.0]])
            | {"inputs": [1e300, 1e300, 1e300]},
            ["network", "layers", 0],
            "layer 0: z is not finite",
        ),
    ],
    ids=["forward", "loss", "backward", "train"],
)
def test_overflow_from_finite_inputs(
    client: TestClient, path: str, body: Body, loc: list[Any], what: str
) -> None:
    """Finite inputs whose computation overflows get a 422 naming where, never NaN in JSON."""
    for key in ("optimizer", "epochs") if path != "/train" else ():
        body.pop(key, None)
    if path == "/forward":
        body.pop("targets"), body.pop("loss")
    error = _only_error(client.post(path, json=body))
    assert error["type"] == "non_finite"
    assert error["loc"] == ["body", *loc]
    assert what in error["msg"]


LIMIT_CASES: list[tuple[str, int, Body, list[Any], str]] = [
    ("BACKPROP_MAX_LAYERS", 1, _train(), ["network", "layers"], "the number of layers is 2"),
    (
        "BACKPROP_MAX_UNITS",
        2,
        _train(),
        ["network", "layers", 0, "weights"],
        "layer 0's number of inputs is 3",
    ),
    (
        "BACKPROP_MAX_SAMPLES",
        1,
        _train(inputs=[[-1.0, 2.0, 1.5]] * 2, targets=[[1.0]] * 2),
        ["inputs"],
        "the number of samples is 2",
    ),
    ("BACKPROP_MAX_EPOCHS", 5, _train(epochs=6), ["epochs"], "epochs is 6"),
    (
        "BACKPROP_MAX_WORK",
        100,
        _train(epochs=10),
        [],
        "the work (epochs × (samples × parameters + 160,000 × layers)) is 3,200,110",
    ),
    (
        "BACKPROP_MAX_TRACE_VALUES",
        300,
        _train(epochs=10),
        [],
        "the number of values in the response is 325",
    ),
]


@pytest.mark.parametrize(
    ("env", "limit", "body", "loc", "message"),
    LIMIT_CASES,
    ids=[case[0] for case in LIMIT_CASES],
)
def test_limits_name_their_variable(
    limited_client: Callable[..., TestClient],
    env: str,
    limit: int,
    body: Body,
    loc: list[Any],
    message: str,
) -> None:
    """Work over a configured limit gets a 422 naming the limit and its variable."""
    client = limited_client(**{env: limit})
    error = _only_error(client.post("/train", json=body))
    assert error["type"] == "limit_exceeded"
    assert error["loc"] == ["body", *loc]
    assert message in error["msg"]
    assert f"over the limit of {limit:,} (set by {env})" in error["msg"]


def _count_numbers(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_count_numbers(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_numbers(v) for v in value)
    return int(isinstance(value, int | float) and not isinstance(value, bool))


def test_response_value_count_is_exact(client: TestClient) -> None:
    """The trace-size limit counts exactly the numbers a /train response holds."""
    body = client.post("/train", json=_train(epochs=10)).json()
    assert _count_numbers(body) == 325


def test_every_limit_has_a_case() -> None:
    """Each limit in Settings is exercised above or in the files named below."""
    elsewhere = {  # below, in test_trace_and_stream, test_training_deadline, test_concurrency,
        # test_slow_clients and test_non_readers
        "BACKPROP_MAX_BODY_BYTES",
        "BACKPROP_MAX_STREAM_WORK",
        "BACKPROP_MAX_CONCURRENT",
        "BACKPROP_DEADLINE_SECONDS",
        "BACKPROP_BODY_TIMEOUT_SECONDS",
        "BACKPROP_BODY_MIN_RATE",
        "BACKPROP_HEADER_TIMEOUT_SECONDS",
        "BACKPROP_MAX_HEADER_BYTES",
        "BACKPROP_MAX_CONNECTIONS",
        "BACKPROP_SEND_TIMEOUT_SECONDS",
    }
    tested = {case[0] for case in LIMIT_CASES} | elsewhere
    assert tested == {getattr(Settings(), name).env for name in Settings.__dataclass_fields__}


def test_body_over_limit_declared(limited_client: Callable[..., TestClient]) -> None:
    """A declared Content-Length over the limit gets a JSON 413 naming the variable."""
    client = limited_client(BACKPROP_MAX_BODY_BYTES=1000)
    response = client.post(
        "/train", content=b" " * 1001, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    detail = "The request body is over the limit of 1,000 bytes (set by BACKPROP_MAX_BODY_BYTES)"
    assert response.json() == {"detail": detail}


def test_body_over_limit_streamed(limited_client: Callable[..., TestClient]) -> None:
    """A chunked body without Content-Length is cut off once it passes the limit."""
    client = limited_client(BACKPROP_MAX_BODY_BYTES=1000)
    chunks = (b" " * 400 for _ in range(5))
    response = client.post("/train", content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "BACKPROP_MAX_BODY_BYTES" in response.json()["detail"]


def test_body_at_limit_is_accepted(limited_client: Callable[..., TestClient]) -> None:
    """The limit itself is allowed."""
    content = json.dumps(examples.TRAIN).encode()
    client = limited_client(BACKPROP_MAX_BODY_BYTES=len(content))
    response = client.post("/train", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 200


def test_bad_limit_variable_fails_at_start(limited_client: Callable[..., TestClient]) -> None:
    """A limit variable that is not a positive whole number stops the app from starting."""
    with pytest.raises(ValueError, match="BACKPROP_MAX_EPOCHS must be a whole number"):
        limited_client(BACKPROP_MAX_EPOCHS="lots")


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/nowhere", 404), ("GET", "/train", 405)]
)
def test_other_errors_are_json(client: TestClient, method: str, path: str, status: int) -> None:
    """Errors other than 422 are {"detail": "..."}."""
    response = client.request(method, path)
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str)


# --- Error bombs: a 422 lists at most MAX_REPORTED_PROBLEMS problems --------------------------

BOMB = 10_000
"""Invalid items in one body: far more than a 422 lists."""


def _bounded(response: Any, more: int, others: int = 0) -> list[dict[str, Any]]:
    """The listed problems of a 422 that lists MAX_REPORTED_PROBLEMS and counts ``more`` besides
    up to ``others`` that the request also has (a limit, a shape: as the endpoint checks)."""
    assert response.status_code == 422, response.text[:300]
    detail: list[dict[str, Any]] = strict_json(response.text)["detail"]
    assert len(detail) == MAX_REPORTED_PROBLEMS + 1
    counted = detail[-1]["ctx"]["more"]
    assert more <= counted <= more + others
    assert detail[-1] == {
        "type": "too_many_errors",
        "loc": ["body"],
        "msg": f"... and {counted:,} more problems (at most {MAX_REPORTED_PROBLEMS} are listed)",
        "ctx": {"more": counted},
    }
    return detail[:-1]


POST_BODIES: dict[str, Body] = {
    "/forward": examples.FORWARD,
    "/loss": examples.LOSS,
    "/backward": examples.LOSS,
    "/gradcheck": examples.GRADCHECK,
    "/check": examples.CHECK,
    "/train": examples.TRAIN,
    "/train/stream": examples.TRAIN,
    "/export": {**examples.TRAIN, "format": "numpy"},
    "/explain": examples.EXPLAIN,
}


@pytest.mark.parametrize("path", sorted(POST_BODIES))
@pytest.mark.parametrize("strings", [1_000, BOMB], ids=["on the loop", "in a worker thread"])
def test_a_string_bomb_in_inputs_lists_the_first_problems(
    client: TestClient, path: str, strings: int
) -> None:
    """Strings for numbers: the first hundred, each with its loc, then the count (a body of a
    thousand is validated on the event loop, of ten thousand in the thread pool)."""
    body = POST_BODIES[path] | {"inputs": ["a"] * strings}
    listed = _bounded(client.post(path, json=body), strings - MAX_REPORTED_PROBLEMS)
    assert [e["loc"] for e in listed] == [["body", "inputs", i] for i in range(100)]
    assert {(e["type"], e["msg"], e["input"]) for e in listed} == {
        ("float_type", "Input should be a valid number", "a")
    }


@pytest.mark.parametrize("path", sorted(POST_BODIES))
def test_ragged_rows_list_the_first_problems(client: TestClient, path: str) -> None:
    """A batch whose rows are all one number short: the first hundred rows, then the count."""
    body = copy.deepcopy(POST_BODIES[path])
    body["inputs"] = [[1.0, 2.0, 3.0]] + [[1.0]] * BOMB
    if "targets" in body:
        body["targets"] = [[1.0]] * (BOMB + 1)
    listed = _bounded(client.post(path, json=body), BOMB - MAX_REPORTED_PROBLEMS, others=3)
    assert [e["loc"] for e in listed] == [["body", "inputs", i] for i in range(1, 101)]
    assert listed[0]["msg"] == "inputs row 1 has 1 number but layer 0 expects 3 inputs"


@pytest.mark.parametrize(
    ("body", "first_loc", "more"),
    [
        (  # a number in every row of a batch, and rows that are no rows
            examples.FORWARD | {"inputs": [[1.0, "a", 2.0]] * BOMB + ["row"] * 5},
            ["body", "inputs", 0, 1],
            BOMB + 5 - 100,
        ),
        (
            _with_layer(0, weights=[["w"] * 3] * BOMB),
            ["body", "network", "layers", 0, "weights", 0, 0],
            3 * BOMB - 100,
        ),
        (
            _with_layer(1, bias=[None] * BOMB),
            ["body", "network", "layers", 1, "bias", 0],
            BOMB - 100,
        ),
        (
            _train(**{f"unknown_{i}": i for i in range(BOMB)}),
            ["body", "unknown_0"],
            BOMB - 100,
        ),
    ],
    ids=["batch", "weights", "bias", "unknown fields"],
)
def test_every_kind_of_bomb_is_bounded(
    client: TestClient, body: Body, first_loc: list[Any], more: int
) -> None:
    over_sample_limit = int(len(body["inputs"]) > get_settings().max_samples.value)
    listed = _bounded(client.post("/train", json=body), more, others=over_sample_limit)
    assert listed[0]["loc"] == first_loc


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/train", _train(network={"layers": [{}] * BOMB}), ["body", "network", "layers"]),
        (
            "/train",
            _train(
                optimizer={"type": "adam"},
                optimizer_state={"type": "adam", "step": 1, "exp_avg": [{}] * BOMB},
            ),
            ["body", "optimizer_state", "exp_avg"],
        ),
        (
            "/check",
            examples.CHECK | {"claimed": {"layers": [{}] * BOMB}},
            ["body", "claimed", "layers"],
        ),
        ("/init", {"sizes": ["a"] * BOMB}, ["body", "sizes"]),
    ],
    ids=["layers", "optimizer state", "claimed layers", "init sizes"],
)
def test_a_list_longer_than_the_layer_limit_is_refused_before_its_items(
    client: TestClient, path: str, body: Body, loc: list[Any]
) -> None:
    """One entry naming the limit, not one per (invalid) item."""
    detail = strict_json(client.post(path, json=body).text)["detail"]
    assert [(e["type"], e["loc"]) for e in detail] == [("limit_exceeded", loc)]
    assert "BACKPROP_MAX_LAYERS" in detail[0]["msg"]


def test_unknown_fields_of_init_and_datasets_are_bounded(client: TestClient) -> None:
    many = {f"k{i}": 0 for i in range(BOMB)}
    for path, body in (("/init", examples.INIT | many), ("/datasets", examples.DATASET | many)):
        listed = _bounded(client.post(path, json=body), BOMB - 100)
        assert listed[0] == {
            "type": "extra_forbidden",
            "loc": ["body", "k0"],
            "msg": "Extra inputs are not permitted",
            "input": 0,
        }


def test_long_strings_are_echoed_cut_short(client: TestClient) -> None:
    """A megabyte string as a number, or as an unknown field's name, comes back cut to 100
    characters and marked."""
    long = "x" * 1_000_000
    cut = "x" * MAX_ECHOED_CHARS + "…"
    detail = client.post("/forward", json=examples.FORWARD | {"inputs": [long]}).json()["detail"]
    assert detail == [
        {
            "type": "float_type",
            "loc": ["body", "inputs", 0],
            "msg": "Input should be a valid number",
            "input": cut,
        }
    ]
    detail = client.post("/forward", json=examples.FORWARD | {long: [long] * 3}).json()["detail"]
    assert detail == [
        {
            "type": "extra_forbidden",
            "loc": ["body", cut],
            "msg": "Extra inputs are not permitted",
            "input": [cut] * 3,
        }
    ]


def test_a_large_body_is_validated_in_a_worker_thread(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over INLINE_BODY_BYTES, valid or not, parsing and validation leave the event loop."""
    threads: list[str] = []
    real = route_classes._validated

    def recording(field: Any, body: bytes) -> Any:
        threads.append(threading.current_thread().name)
        return real(field, body)

    monkeypatch.setattr(route_classes, "_validated", recording)
    samples = route_classes.INLINE_BODY_BYTES // 10
    valid = examples.FORWARD | {"inputs": [[-1.0, 2.0, 1.5]] * samples}
    assert client.post("/forward", json=valid).status_code == 200
    invalid = examples.TRAIN | {"inputs": ["a"] * (route_classes.INLINE_BODY_BYTES // 4)}
    assert client.post("/train", json=invalid).status_code == 422
    malformed = b"[" * (route_classes.INLINE_BODY_BYTES + 1)
    headers = {"content-type": "application/json"}
    assert client.post("/train", content=malformed, headers=headers).status_code == 422
    assert client.post("/forward", json=examples.FORWARD).status_code == 200
    assert threads == ["AnyIO worker thread"] * 3


@pytest.mark.parametrize(
    "path", ["/forward", "/loss", "/backward", "/gradcheck", "/train", "/train/stream", "/export"]
)
def test_a_large_valid_body_validated_in_a_worker_thread_is_answered(
    client: TestClient, path: str
) -> None:
    """The model validated off the loop is what the endpoint gets (FastAPI takes it as it is)."""
    samples = route_classes.INLINE_BODY_BYTES // 16
    body = POST_BODIES[path] | {"inputs": [[-1.0, 2.0, 1.5]] * samples}
    if "targets" in body:
        body["targets"] = [[1.0]] * samples
    if "epochs" in body:
        body["epochs"] = 1
    assert len(json.dumps(body)) > route_classes.INLINE_BODY_BYTES
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text[:300]
    if path in ("/forward", "/loss", "/backward"):
        assert response.json()["outputs"] == [pytest.approx([-0.885])] * samples
