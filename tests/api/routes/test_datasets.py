"""GET and POST /datasets: the list of sets, reproducible data ready for /train, encodings, the
held-out split, and clear 422s."""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import examples
from app.nn.datasets import DATASETS
from app.schemas.datasets import DatasetResponse
from tests.helpers import strict_json

Body = dict[str, Any]
SPLIT = "invalid_combination"


def _post(client: TestClient, body: Body) -> Body:
    response = client.post("/datasets", json=body)
    assert response.status_code == 200, response.text
    answer: Body = strict_json(response.text)
    return answer


def test_list_names_every_set_with_its_defaults(client: TestClient) -> None:
    """GET /datasets lists the engine's sets in order, each parameter with its default and range."""
    response = client.get("/datasets")
    assert response.status_code == 200
    sets = response.json()["datasets"]
    assert [s["name"] for s in sets] == list(DATASETS)
    for listed in sets:
        dataset = DATASETS[listed["name"]]
        parameters = listed["parameters"]
        assert listed["task"] == dataset.task
        assert parameters["samples"]["default"] == dataset.samples
        assert parameters["noise"]["default"] == dataset.noise
        assert {"seed", "test_fraction"} <= set(parameters)
        assert ("encoding" in parameters) == (dataset.task == "classification")
        for key, param in dataset.params.items():
            assert parameters[key]["default"] == param.default
            assert (parameters[key]["minimum"], parameters[key]["maximum"]) == (
                param.minimum,
                param.maximum,
            )
    spiral = next(s for s in sets if s["name"] == "spiral")
    assert spiral["classes"] == 3


@pytest.mark.parametrize("name", list(DATASETS))
def test_same_request_same_bytes(client: TestClient, name: str) -> None:
    """Every set with its defaults: the same request gives the same bytes."""
    first = client.post("/datasets", json={"name": name, "seed": 7})
    assert first.status_code == 200
    assert first.content == client.post("/datasets", json={"name": name, "seed": 7}).content
    if name != "notebook":
        assert first.content != client.post("/datasets", json={"name": name, "seed": 8}).content


def test_one_hot_targets_have_a_column_per_class(client: TestClient) -> None:
    """spiral with 4 arms and 50 samples: 50 one-hot rows of 4, classes 13, 13, 12, 12."""
    answer = _post(client, {"name": "spiral", "samples": 50, "arms": 4})
    inputs, targets = np.array(answer["inputs"]), np.array(answer["targets"])
    assert inputs.shape == (50, 2)
    assert targets.shape == (50, 4)
    assert set(targets.ravel().tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(targets.sum(axis=1), 1.0)
    assert targets.sum(axis=0).tolist() == [13, 13, 12, 12]
    assert (answer["classes"], answer["task"]) == (4, "classification")
    assert answer["test_inputs"] is None
    assert answer["test_targets"] is None


def test_binary_targets_are_one_column_with_the_one_hot_classes(client: TestClient) -> None:
    """binary gives, for the same data, the one-hot rows' second column."""
    body: Body = {"name": "circles", "samples": 31, "seed": 2}
    one_hot = _post(client, body)
    binary = _post(client, {**body, "encoding": "binary"})
    assert binary["inputs"] == one_hot["inputs"]
    assert binary["targets"] == [[row[1]] for row in one_hot["targets"]]
    assert sum(row[0] for row in binary["targets"]) == 15


def test_regression_targets_are_rows(client: TestClient) -> None:
    """linear without noise: each target row is x·w + b for the documented w = [1, −2], b = 0.5."""
    answer = _post(client, {"name": "linear", "samples": 20, "features": 2, "noise": 0.0})
    inputs, targets = np.array(answer["inputs"]), np.array(answer["targets"])
    assert targets.shape == (20, 1)
    np.testing.assert_allclose(targets[:, 0], inputs @ [1.0, -2.0] + 0.5, rtol=1e-15, atol=1e-15)
    assert answer["classes"] is None


def test_noise_changes_the_inputs_not_the_labels(client: TestClient) -> None:
    """The same seed with noise: the same labels, the inputs moved by about the noise."""
    body: Body = {"name": "moons", "samples": 2000, "noise": 0.0}
    clean, noisy = _post(client, body), _post(client, {**body, "noise": 0.25})
    assert clean["targets"] == noisy["targets"]
    offsets = np.array(noisy["inputs"]) - np.array(clean["inputs"])
    assert offsets.std() == pytest.approx(0.25, rel=0.05)


def test_split_holds_out_the_last_rows_of_the_same_data(client: TestClient) -> None:
    """test_fraction 0.25 of 40: 30 training rows and 10 held out, together the unsplit data."""
    body: Body = {"name": "xor", "samples": 40, "seed": 1}
    whole = _post(client, body)
    parts = _post(client, {**body, "test_fraction": 0.25})
    assert (len(parts["inputs"]), len(parts["test_inputs"])) == (30, 10)
    assert (len(parts["targets"]), len(parts["test_targets"])) == (30, 10)
    assert parts["inputs"] + parts["test_inputs"] == whole["inputs"]
    assert parts["targets"] + parts["test_targets"] == whole["targets"]
    again = client.post("/datasets", json={**body, "test_fraction": 0.25})
    assert again.json() == parts


def test_notebook_set_trains_to_the_notebooks_numbers(client: TestClient) -> None:
    """The notebook set's data through /train gives the notebook's first epoch."""
    data = _post(client, {"name": "notebook"})
    assert (data["inputs"], data["targets"]) == ([[-1.0, 2.0, 1.5]], [[1.0]])
    body = {**examples.TRAIN, "inputs": data["inputs"], "targets": data["targets"], "epochs": 1}
    first = client.post("/train", json=body).json()["trace"][0]
    assert first["loss"] == 1.7766125000000004
    assert first["outputs"] == [[-0.8850000000000001]]


def test_moons_go_straight_into_train(client: TestClient) -> None:
    """moons from /datasets and a network from /init, through /train with softmax and
    cross_entropy: the held-out accuracy of the trained network is high."""
    data = _post(client, {"name": "moons", "samples": 200, "test_fraction": 0.25, "seed": 0})
    init = {"sizes": [2, 16, 2], "activation": "tanh", "output_activation": "softmax", "seed": 0}
    network = client.post("/init", json=init).json()["network"]
    train = {
        "network": network,
        "inputs": data["inputs"],
        "targets": data["targets"],
        "loss": "cross_entropy",
        "optimizer": {"type": "adam", "learning_rate": 0.05},
        "epochs": 300,
        "trace": {"every": 300, "include": ["loss"]},
    }
    trained = client.post("/train", json=train).json()
    assert trained["status"] == "completed"
    assert trained["final_accuracy"] >= 0.95
    held_out = {
        "network": trained["network"],
        "inputs": data["test_inputs"],
        "targets": data["test_targets"],
        "loss": "cross_entropy",
    }
    assert client.post("/loss", json=held_out).json()["accuracy"] >= 0.9


@pytest.mark.parametrize(
    ("body", "kind", "loc"),
    [
        ({"name": "mnist"}, "literal_error", ["name"]),
        ({"name": 3}, "literal_error", ["name"]),
        ({"samples": 10}, "missing", ["name"]),
        ({"name": "xor", "samples": 0}, "greater_than_equal", ["samples"]),
        ({"name": "xor", "samples": 1}, "greater_than_equal", ["samples"]),
        ({"name": "spiral", "samples": 4, "arms": 5}, "greater_than_equal", ["samples"]),
        ({"name": "xor", "samples": 2.5}, "int_type", ["samples"]),
        ({"name": "xor", "noise": -0.1}, "greater_than_equal", ["noise"]),
        ({"name": "xor", "noise": "0.1"}, "float_type", ["noise"]),
        ({"name": "circles", "factor": 1.0}, "less_than_equal", ["factor"]),
        ({"name": "spiral", "arms": 11}, "less_than_equal", ["arms"]),
        ({"name": "blobs", "features": 0}, "greater_than_equal", ["features"]),
        ({"name": "xor", "factor": 0.5}, "extra_forbidden", ["factor"]),
        ({"name": "sine", "encoding": "one_hot"}, "extra_forbidden", ["encoding"]),
        ({"name": "xor", "encoding": "labels"}, "literal_error", ["encoding"]),
        ({"name": "spiral", "encoding": "binary"}, "invalid_combination", ["encoding"]),
        ({"name": "xor", "test_fraction": 1.0}, "less_than", ["test_fraction"]),
        ({"name": "xor", "samples": 10, "test_fraction": 0.01}, SPLIT, ["test_fraction"]),
        ({"name": "xor", "samples": 10, "test_fraction": 0.99}, SPLIT, ["test_fraction"]),
        ({"name": "notebook", "samples": 2}, "less_than_equal", ["samples"]),
        ({"name": "notebook", "noise": 0.1}, "less_than_equal", ["noise"]),
        ({"name": "xor", "seed": -1}, "greater_than_equal", ["seed"]),
    ],
)  # fmt: skip
def test_bad_requests_name_the_field(
    client: TestClient, body: Body, kind: str, loc: list[Any]
) -> None:
    """An unknown set, a parameter out of range or of the wrong type, a set's parameter on
    another set, binary for three classes, a split that leaves a part empty: a 422 at the field."""
    response = client.post("/datasets", json=body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["type"], error["loc"]) == (kind, ["body", *loc])


def test_unknown_set_lists_the_sets(client: TestClient) -> None:
    [error] = client.post("/datasets", json={"name": "mnist"}).json()["detail"]
    assert all(name in error["msg"] for name in DATASETS)


def test_samples_over_the_limit_name_the_variable(
    limited_client: Callable[..., TestClient],
) -> None:
    client = limited_client(BACKPROP_MAX_SAMPLES=100)
    listed = client.get("/datasets").json()["datasets"]
    assert [s["parameters"]["samples"]["maximum"] for s in listed] == [100] * 10 + [1]
    assert client.post("/datasets", json={"name": "moons", "samples": 100}).status_code == 200
    response = client.post("/datasets", json={"name": "moons", "samples": 101})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "samples"]
    assert error["type"] == "limit_exceeded"
    assert "BACKPROP_MAX_SAMPLES" in error["msg"]


def test_response_size_limit_applies(limited_client: Callable[..., TestClient]) -> None:
    """64 features of 1,000 samples are 65,000 numbers: over a limit of 50,000."""
    client = limited_client(BACKPROP_MAX_TRACE_VALUES=50_000)
    response = client.post("/datasets", json={"name": "linear", "samples": 1000, "features": 64})
    assert response.status_code == 422
    assert "BACKPROP_MAX_TRACE_VALUES" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("name", list(examples.DATASET_EXAMPLES))
def test_swagger_examples_work(client: TestClient, name: str) -> None:
    body = examples.DATASET_EXAMPLES[name]["value"]
    assert client.post("/datasets", json=body).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        examples.DATASET,
        {"name": "linear", "samples": 12, "test_fraction": 0.25},
        {
            "name": "xor",
            "samples": 12,
            "input_features": ["x1_times_x2", "sin_x1"],
            "grid": {"low": -1, "high": 1, "steps": 3},
        },
    ],
    ids=["one_hot", "held_out", "features_and_grid"],
)
def test_answers_are_the_bytes_pydantic_writes_for_the_documented_model(
    client: TestClient, body: Body
) -> None:
    """The route writes its answer's keys by hand: read back into DatasetResponse and written by
    Pydantic, it is the same bytes, so the keys follow the model's fields."""
    response = client.post("/datasets", json=body)
    assert response.status_code == 200, response.text
    answer = DatasetResponse.model_validate_json(response.content)
    assert answer.model_dump_json(exclude_unset=True).encode() == response.content


def test_input_features_are_tf_playgrounds_of_the_same_points(client: TestClient) -> None:
    """Every feature, computed from the raw inputs of the same request: in the order asked, for
    the training and the test part alike."""
    body = {"name": "moons", "samples": 20, "noise": 0.1, "test_fraction": 0.25, "seed": 3}
    raw = client.post("/datasets", json=body).json()
    names = ["sin_x2", "x1", "x2", "x1_squared", "x2_squared", "x1_times_x2", "sin_x1"]
    answer = client.post("/datasets", json=body | {"input_features": names}).json()
    assert answer["input_features"] == names
    assert answer["targets"] == raw["targets"]
    for part in ("inputs", "test_inputs"):
        x1, x2 = np.array(raw[part]).T
        expected = np.stack([np.sin(x2), x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1)], axis=1)
        np.testing.assert_array_equal(answer[part], expected)
    assert "input_features" not in raw
    assert "grid_inputs" not in raw


def test_grid_inputs_carry_the_same_features(client: TestClient) -> None:
    """steps² points from low to high, x1 varying fastest, with the features applied; a 1-D set's
    grid is one column."""
    body = {
        "name": "circles",
        "samples": 4,
        "input_features": ["x1_squared", "x2_squared"],
        "grid": {"low": -6, "high": 6, "steps": 3},
    }
    answer = client.post("/datasets", json=body).json()
    assert answer["grid_inputs"] == [
        [36.0, 36.0], [0.0, 36.0], [36.0, 36.0],
        [36.0, 0.0], [0.0, 0.0], [36.0, 0.0],
        [36.0, 36.0], [0.0, 36.0], [36.0, 36.0],
    ]  # fmt: skip
    body = {"name": "sine", "samples": 4, "input_features": ["x1", "sin_x1"]}
    answer = client.post("/datasets", json=body | {"grid": {"low": 0, "high": 1, "steps": 2}})
    assert answer.json()["grid_inputs"] == [[0.0, 0.0], [1.0, math.sin(1.0)]]
    raw = client.post("/datasets", json={"name": "xor", "grid": {"low": 0, "high": 1, "steps": 2}})
    assert raw.json()["grid_inputs"] == [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        (
            {"name": "sine", "input_features": ["x1", "x2"]},
            ["input_features", 1],
            "invalid_combination",
        ),
        (
            {"name": "xor", "input_features": ["x1", "x1"]},
            ["input_features", 1],
            "invalid_combination",
        ),
        (
            {"name": "blobs", "features": 3, "input_features": ["x1"]},
            ["input_features", 0],
            "invalid_combination",
        ),
        ({"name": "xor", "input_features": ["x3"]}, ["input_features", 0], "literal_error"),
        ({"name": "xor", "input_features": []}, ["input_features"], "too_short"),
        (
            {"name": "xor", "grid": {"low": 1, "high": 1, "steps": 5}},
            ["grid", "high"],
            "invalid_combination",
        ),
        (
            {"name": "xor", "grid": {"low": 0, "high": 1, "steps": 1}},
            ["grid", "steps"],
            "greater_than_equal",
        ),
        (
            {"name": "linear", "grid": {"low": 0, "high": 1, "steps": 5}},
            ["grid"],
            "invalid_combination",
        ),
    ],
)
def test_feature_and_grid_errors_name_their_field(
    client: TestClient, body: dict[str, Any], loc: list[Any], kind: str
) -> None:
    response = client.post("/datasets", json=body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", *loc], kind)


def test_grid_counts_against_the_answer_limit(limited_client: Callable[..., TestClient]) -> None:
    """A 1000 × 1000 grid is two million numbers: over a limit of a million."""
    client = limited_client(BACKPROP_MAX_TRACE_VALUES=1_000_000)
    body = {"name": "xor", "grid": {"low": -1, "high": 1, "steps": 1000}}
    response = client.post("/datasets", json=body)
    assert response.status_code == 422
    assert "BACKPROP_MAX_TRACE_VALUES" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("name", ["plane", "gaussians"])
def test_tf_playground_regression_sets(client: TestClient, name: str) -> None:
    """Inputs in [−6, 6]², targets as TensorFlow Playground computes them (noise 0)."""
    answer = client.post("/datasets", json={"name": name, "samples": 300, "seed": 1}).json()
    X, t = np.array(answer["inputs"]), np.array(answer["targets"])[:, 0]
    assert answer["task"] == "regression"
    assert answer["classes"] is None
    assert X.shape == (300, 2)
    assert np.abs(X).max() <= 6.0
    if name == "plane":
        np.testing.assert_allclose(t, (X[:, 0] + X[:, 1]) / 10.0, rtol=1e-15)
        return
    centres = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    for x, target in zip(X, t, strict=True):
        bumps = [s * max(0.0, 1 - math.dist(x, (cx, cy)) / 2) for cx, cy, s in centres]
        assert target == pytest.approx(max(bumps, key=abs), abs=1e-15)
    assert t.max() > 0.5
    assert t.min() < -0.5
