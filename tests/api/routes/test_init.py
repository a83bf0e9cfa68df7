"""POST /init: deterministic networks that every other endpoint accepts."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import examples


def test_notebook_shape_is_ready_to_train(client: TestClient) -> None:
    """The example request gives a 3-2-1 network that /train accepts as it is."""
    response = client.post("/init", json=examples.INIT)
    assert response.status_code == 200
    network = response.json()["network"]
    assert [len(layer["weights"]) for layer in network["layers"]] == [2, 1]
    assert [len(layer["weights"][0]) for layer in network["layers"]] == [3, 2]
    assert [layer["activation"] for layer in network["layers"]] == ["relu", "identity"]
    assert [layer["bias"] for layer in network["layers"]] == [[0.0, 0.0], [0.0]]
    train = client.post("/train", json={**examples.TRAIN, "network": network})
    assert train.status_code == 200
    assert train.json()["status"] == "completed"


def test_deterministic_by_seed(client: TestClient) -> None:
    """Same request, same bytes; another seed, another network."""
    body: dict[str, Any] = {"sizes": [4, 8, 3], "output_activation": "softmax", "seed": 5}
    first = client.post("/init", json=body)
    assert first.content == client.post("/init", json=body).content
    assert first.content != client.post("/init", json={**body, "seed": 6}).content
    layers = first.json()["network"]["layers"]
    assert [layer["activation"] for layer in layers] == ["relu", "softmax"]


def test_defaults_are_nn_linear(client: TestClient) -> None:
    """Without init, weights and biases are drawn like nn.Linear's (biases not zero)."""
    network = client.post("/init", json={"sizes": [2, 2]}).json()["network"]
    assert all(abs(v) <= 2**-0.5 for v in network["layers"][0]["bias"])
    assert any(v != 0 for v in network["layers"][0]["bias"])


@pytest.mark.parametrize(
    ("body", "kind", "loc"),
    [
        ({"sizes": [3]}, "too_short", ["sizes"]),
        ({"sizes": [3, 0, 1]}, "greater_than_equal", ["sizes", 1]),
        ({"sizes": [3, 2.5]}, "int_type", ["sizes", 1]),
        ({"sizes": [3, 2, 1], "activation": "softmax"}, "invalid_combination", ["activation"]),
        ({"sizes": [3, 1], "init": "orthogonal"}, "literal_error", ["init"]),
        ({"sizes": [3, 1], "seed": -1}, "greater_than_equal", ["seed"]),
    ],
)
def test_invalid_requests(
    client: TestClient, body: dict[str, Any], kind: str, loc: list[Any]
) -> None:
    """Bad sizes, a hidden softmax or an unknown scheme get a 422 at their path."""
    response = client.post("/init", json=body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["type"], error["loc"]) == (kind, ["body", *loc])


def test_limits_apply(limited_client: Callable[..., TestClient]) -> None:
    """Width, depth and response size limits name their variables."""
    client = limited_client(
        BACKPROP_MAX_UNITS=8, BACKPROP_MAX_LAYERS=2, BACKPROP_MAX_TRACE_VALUES=50
    )
    wide = client.post("/init", json={"sizes": [9, 2, 2]}).json()["detail"]
    assert [e["msg"] for e in wide] == [
        "size 0 is 9, over the limit of 8 (set by BACKPROP_MAX_UNITS)"
    ]
    # Sizes of more layers than the limit are refused at once, before any size is looked at.
    deep = client.post("/init", json={"sizes": [9, 2, 2, 2]}).json()["detail"]
    assert [(e["loc"], e["msg"]) for e in deep] == [
        (
            ["body", "sizes"],
            "the number of layers is 3, over the limit of 2 (set by BACKPROP_MAX_LAYERS)",
        )
    ]
    big = client.post("/init", json={"sizes": [8, 8]}).json()["detail"]
    assert "BACKPROP_MAX_TRACE_VALUES" in big[0]["msg"]
