"""/export of an exercise as a notebook: the notebook `backprop exercises` writes for the same
student, byte for byte; valid nbformat 4; run by nbclient, blank and filled in; hostile names
escaped; bad bodies refused with the API's 422."""

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from app.cli.commands import cli
from app.main import create_app
from tests.cli.test_exercises import _fill, _run_notebook, _values

HOSTILE = 'Zoë "Bobby" </script><b>\n=1+1'


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def _export(client: TestClient, exercise: dict[str, Any]) -> str:
    response = client.post("/export", json={"format": "notebook", "exercise": exercise})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["format"], answer["filename"]) == ("notebook", "exercise.ipynb")
    nbformat.validate(nbformat.reads(answer["content"], as_version=4))
    return str(answer["content"])


def test_the_notebook_is_the_one_backprop_exercises_writes(
    client: TestClient, tmp_path: Path
) -> None:
    """The same student and course: the same file, byte for byte, from the same renderer."""
    (tmp_path / "roster.csv").write_text("name\nAda Lovelace\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["exercises", "mazur", "--roster", str(tmp_path / "roster.csv"), "--out", str(out)]
    done = CliRunner().invoke(cli, [*args, "--course", "NN 101"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    (folder,) = (out / "students").iterdir()
    written = (folder / "exercise.ipynb").read_text(encoding="utf-8")
    body = {"template": "mazur", "student": "Ada Lovelace", "course": "NN 101"}
    assert _export(client, body) == written


def test_a_seed_gives_the_exercise_of_that_seed(client: TestClient) -> None:
    """The notebook holds the numbers /exercises draws for the seed, and a cell per value."""
    drawn = client.post("/exercises", json={"template": "notebook", "seed": 7}).json()
    notebook = json.loads(_export(client, {"template": "notebook", "seed": 7}))
    sources = [cell["source"] for cell in notebook["cells"]]
    assert "**Exercise**: seed 7" in sources[0]
    exercise = next(s for s in sources if s.startswith("# The exercise as /check takes it"))
    assert json.dumps(drawn["network"]) in exercise
    paths = [item["path"] for item in drawn["compute"]]
    assert [s for s in sources if s.startswith("# ") and "values[" in s] == [
        next(s for s in sources if f"values[{json.dumps(path)}] = " in s) for path in paths
    ]
    assert sources[-1] == "check()"


def test_hostile_names_reach_the_notebook_escaped(client: TestClient) -> None:
    """Only the Markdown holds the name, escaped; no code cell holds it."""
    notebook = json.loads(_export(client, {"template": "notebook", "student": HOSTILE}))
    text = json.dumps(notebook, ensure_ascii=False)
    assert "</script>" not in text
    assert "<b>" not in text
    assert "&lt;/script&gt;" in notebook["cells"][0]["source"]
    code = "".join(cell["source"] for cell in notebook["cells"] if cell["cell_type"] == "code")
    assert "Bobby" not in code
    assert "Zoë" not in code


def test_the_notebook_runs_and_grades_itself(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run by nbclient: blank, check() asks for a value; filled in with the answer, ✓ each."""
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    body = {"template": "sigmoid_bce", "seed": 3}
    blank = json.loads(_export(client, body))
    assert _run_notebook(blank, tmp_path) == [
        "Fill in a value (each ... is a number to write), then run check() again."
    ]
    answer = client.post("/exercises", json={**body, "include_answer": True}).json()
    printed = _run_notebook(_fill(blank, _values(answer)), tmp_path)
    assert printed[-1] == "score: 100%"
    assert len(printed) - 1 == len(answer["compute"])
    assert all(line.startswith("✓ ") for line in printed[:-1])


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        (
            {"format": "notebook", "exercise": {"template": "nope", "seed": 1}},
            ["body", "exercise", "template"],
            None,
        ),
        (
            {"format": "notebook", "exercise": {"template": "notebook"}},
            ["body", "exercise", "seed"],
            "invalid_combination",
        ),
        (
            {"format": "pytorch", "exercise": {"template": "notebook", "seed": 1}},
            ["body", "format"],
            "literal_error",
        ),
        (
            {"format": "notebook", "exercise": {"template": "notebook", "seed": 1}, "epochs": 3},
            ["body", "epochs"],
            "extra_forbidden",
        ),
    ],
)
def test_bad_exercise_bodies_are_422s_that_name_the_field(
    client: TestClient, body: dict[str, Any], loc: list[str], kind: str | None
) -> None:
    response = client.post("/export", json=body)
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert any(p["loc"] == loc and (kind is None or p["type"] == kind) for p in problems), problems
