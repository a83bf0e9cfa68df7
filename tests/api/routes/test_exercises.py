"""GET and POST /exercises: the ready templates, byte-identical variants, answers equal to /train's
first epoch, /explain's steps and /check's verdicts, and clear 422s."""

from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient

from app import examples
from app.nn.exercises import TEMPLATES
from app.schemas.exercises import ExerciseList, ExerciseResponse, TemplateName
from tests.helpers import strict_json

Body = dict[str, Any]


def _post(client: TestClient, body: Body) -> Body:
    response = client.post("/exercises", json=body)
    assert response.status_code == 200, response.text
    answer: Body = strict_json(response.text)
    return answer


def _problems(client: TestClient, body: Body) -> list[Body]:
    response = client.post("/exercises", json=body)
    assert response.status_code == 422, response.text
    detail: list[Body] = response.json()["detail"]
    return detail


def test_list_names_the_ready_templates_and_the_limits(client: TestClient) -> None:
    """GET /exercises lists the engine's templates in order, each a valid POST template."""
    response = client.get("/exercises")
    assert response.status_code == 200
    listed = response.json()
    assert (
        [t["name"] for t in listed["templates"]] == list(TEMPLATES) == list(get_args(TemplateName))
    )
    assert listed["limits"] == {
        "max_layers": 3,
        "max_units": 4,
        "max_samples": 4,
        "max_decimals": 3,
    }
    for item in listed["templates"]:
        by_name = _post(client, {"template": item["name"], "seed": 5})
        by_fields = _post(client, {"template": item["template"], "seed": 5})
        assert by_name == by_fields
    assert ExerciseList.model_validate_json(response.content).model_dump_json().encode() == (
        response.content
    )


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_answers_are_the_bytes_pydantic_writes_for_the_documented_model(
    client: TestClient, name: str
) -> None:
    """The route writes its keys by hand: read back into ExerciseResponse and written by
    Pydantic (the fields given), it is the same bytes."""
    response = client.post("/exercises", json={"template": name, "seed": 2, "include_answer": True})
    assert response.status_code == 200, response.text
    answer = ExerciseResponse.model_validate_json(response.content)
    assert answer.model_dump_json(exclude_unset=True).encode() == response.content


def test_same_seed_same_bytes_other_seed_other_numbers(client: TestClient) -> None:
    body = {"template": "mazur", "seed": 42, "include_answer": True}
    first = client.post("/exercises", json=body).content
    assert client.post("/exercises", json=body).content == first
    other = _post(client, {**body, "seed": 43})
    assert other["network"] != strict_json(first)["network"]


def test_a_student_and_course_are_hashed_to_the_seed(client: TestClient) -> None:
    """The same student in the same course gets the same exercise; another course, another."""
    body = {"template": "notebook", "student": "Ada Lovelace", "course": "ML 101"}
    first = _post(client, body)
    assert first == _post(client, body)
    assert _post(client, {"template": "notebook", "seed": first["seed"]}) == first
    assert _post(client, {**body, "course": "ML 102"})["seed"] != first["seed"]


def _train_first_epoch(client: TestClient, exercise: Body) -> Body:
    body = {
        key: exercise[key]
        for key in ("network", "inputs", "targets", "loss", "optimizer", "optimizer_state")
    }
    body |= {
        "epochs": 1,
        "trace": {"every": 1, "include": ["loss", "outputs", "layers", "gradients", "network"]},
    }
    response = client.post("/train", json=body)
    assert response.status_code == 200, response.text
    trained: Body = response.json()
    return trained


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_the_answer_is_trains_first_epoch(client: TestClient, name: str) -> None:
    """Every number of the answer is /train's, bit for bit (the update after the step)."""
    for seed in (0, 1, 2):
        exercise = _post(client, {"template": name, "seed": seed, "include_answer": True})
        answer = exercise["answer"]
        trained = _train_first_epoch(client, exercise)
        epoch = trained["trace"][0]
        assert answer["loss"] == epoch["loss"]
        assert answer["outputs"] == epoch["outputs"]
        assert answer["layers"] == epoch["layers"]
        assert answer["gradients"] == epoch["gradients"]
        updated = [
            {"weights": layer["weights"], "bias": layer["bias"]}
            for layer in epoch["network"]["layers"]
        ]
        assert answer["network"]["layers"] == updated
        assert [v["path"] for v in exercise["compute"]][:2] == ["layers[0].z", "layers[0].a"]


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_the_answer_is_explains_values(client: TestClient, name: str) -> None:
    """The exercise's /explain request works as it is, and its JSON steps hold the answer's
    numbers (the first sample's for per-sample values)."""
    exercise = _post(client, {"template": name, "seed": 3, "include_answer": True})
    answer = exercise["answer"]
    markdown = client.post("/explain", json=exercise["explain"])
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    response = client.post("/explain", json={**exercise["explain"], "format": "json"})
    assert response.status_code == 200, response.text
    results = {step["id"]: step["result"] for step in response.json()["steps"] if "id" in step}
    batch = exercise["template"]["samples"] > 1
    seen = 0
    for index, layer in enumerate(answer["layers"]):
        for name_, values in layer.items():
            first = values[0] if batch else values
            for unit, value in enumerate(first):
                assert results[f"forward.{index}.{name_}.{unit}"] == value
                seen += 1
    assert results["loss"] == answer["loss"]
    for index, tensors in enumerate(answer["gradients"]):
        for row, values in enumerate(tensors["weights"]):
            for column, value in enumerate(values):
                assert results[f"backward.{index}.weights.{row}.{column}"] == value
                seen += 1
        for unit, value in enumerate(tensors["bias"]):
            assert results[f"backward.{index}.bias.{unit}"] == value
    for index, tensors in enumerate(answer["network"]["layers"]):
        for row, values in enumerate(tensors["weights"]):
            for column, value in enumerate(values):
                assert results[f"update.{index}.weights.{row}.{column}"] == value
                seen += 1
    assert seen > 10


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_check_marks_the_answer_right(client: TestClient, name: str) -> None:
    """The answer posted to /check as claimed is all correct, and so is it written to 4
    significant figures (what the worth-doing rule promises); /check grades plain SGD, so the
    update of a momentum step is left to the answer key."""
    exercise = _post(client, {"template": name, "seed": 4, "include_answer": True})
    claimed = exercise["answer"]
    if exercise["optimizer"]["momentum"]:
        claimed = {**claimed, "network": None}
    body = {key: exercise[key] for key in ("network", "inputs", "targets", "loss")} | {
        "learning_rate": exercise["optimizer"]["learning_rate"],
        "claimed": claimed,
    }
    response = client.post("/check", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["all_correct"] is True

    def rounded(value: Any) -> Any:
        if isinstance(value, list):
            return [rounded(v) for v in value]
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        return float(f"{value:.4g}") if isinstance(value, float) else value

    response = client.post("/check", json={**body, "claimed": rounded(claimed)})
    assert response.status_code == 200, response.text
    verdicts = {check["path"]: check["verdict"] for check in response.json()["checks"]}
    assert set(verdicts.values()) == {"correct"}, verdicts


def test_compute_chooses_the_values_and_their_shapes(client: TestClient) -> None:
    """compute: forward and loss only; shapes of one sample are 1-D, of a batch 2-D."""
    template = {"sizes": [2, 2, 1], "activation": "tanh", "samples": 2, "compute": ["loss"]}
    exercise = _post(client, {"template": template, "seed": 1, "include_answer": True})
    assert exercise["compute"] == [{"path": "loss", "step": "loss", "shape": []}]
    assert exercise["answer"] == {
        "layers": None,
        "outputs": None,
        "loss": exercise["answer"]["loss"],
        "gradients": None,
        "network": None,
    }
    template["compute"] = ["forward", "gradients"]
    exercise = _post(client, {"template": template, "seed": 1})
    shapes = {v["path"]: v["shape"] for v in exercise["compute"]}
    assert shapes["layers[0].z"] == [2, 2]
    assert shapes["gradients[0].weights"] == [2, 2]
    assert shapes["gradients[1].bias"] == [1]
    assert "loss" not in shapes
    assert exercise["answer"] is None
    assert exercise["explain"] is None


def test_swagger_examples_work(client: TestClient) -> None:
    for example in examples.EXERCISE_EXAMPLES.values():
        _post(client, example["value"])


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        ({"template": "nope", "seed": 1}, ["body", "template"], "no ready template"),
        (
            {"template": {"sizes": [2, 2, 1], "units": 3}, "seed": 1},
            ["body", "template", "units"],
            "Extra inputs",
        ),
        (
            {
                "template": {
                    "sizes": [2, 3, 2],
                    "activation": "softmax",
                    "output_activation": "softmax",
                    "loss": "cross_entropy",
                },
                "seed": 1,
            },
            ["body", "template", "activation"],
            "only allowed on the last layer",
        ),
        (
            {"template": {"sizes": [2, 5, 1]}, "seed": 1},
            ["body", "template", "sizes", 1],
            "1 to 4 units per layer",
        ),
        (
            {"template": {"sizes": [2, 2, 2, 2, 1]}, "seed": 1},
            ["body", "template", "sizes"],
            "at most 4 items",
        ),
        (
            {"template": {"sizes": [2, 1], "samples": 5}, "seed": 1},
            ["body", "template", "samples"],
            "less than or equal to 4",
        ),
        (
            {"template": {"sizes": [2, 1], "loss": "binary_cross_entropy"}, "seed": 1},
            ["body", "template", "output_activation"],
            "needs output_activation sigmoid",
        ),
        (
            {"template": {"sizes": [2, 2, 1], "activation": "tanh", "dead_relu": True}, "seed": 1},
            ["body", "template", "dead_relu"],
            "no hidden layer is relu",
        ),
        ({"template": "notebook"}, ["body", "seed"], "a seed or a student"),
        ({"template": "notebook", "seed": 1, "student": "Ada"}, ["body", "seed"], "one of the two"),
        ({"template": "notebook", "seed": 1, "course": "ML"}, ["body", "course"], "give student"),
        ({"template": "notebook", "student": "x" * 201}, ["body", "student"], "at most 200"),
    ],
)
def test_bad_requests_are_clear_422s(
    client: TestClient, body: Body, loc: list[Any], words: str
) -> None:
    problems = _problems(client, body)
    assert any(p["loc"] == loc and words in p["msg"] for p in problems), problems


def test_no_variant_worth_doing_is_a_422(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.nn.exercises.MAX_DRAWS", 0)
    (problem,) = _problems(client, {"template": "notebook", "seed": 1})
    assert problem["loc"] == ["body", "template"]
    assert problem["type"] == "no_variant"
    assert "worth doing" in problem["msg"]
