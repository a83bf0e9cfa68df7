"""The class loop from the terminal: ``backprop exercises`` for a roster of 30, answers planted
(right, rounded, one mistake carried forward, empty, unreadable, missing, a filled notebook),
``backprop grade`` to the expected grades.csv; the notebooks validated by nbformat and run by
nbclient; hostile names never written unescaped."""

import csv
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from click.testing import CliRunner

from app.cli.commands import cli
from app.cli.exercises import FORMULA_STARTS

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "-2",
    "@SUM(A1)",
    'O\'Brien "Bob"',
    "<script>alert(1)</script>",
    "x</script><img src=x onerror=alert(1)>",
    "Line\nbreak",
    "$\\frac{1}{0}$ *bold* [link](http://x)",
    "Émilie Dupont",
]
ROSTER = HOSTILE + [f"Student {n:02d}" for n in range(20)]
KINDS = ["right", "rounded", "mistake", "empty", "unreadable", "missing", "notebook"]


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _write_roster(path: Path, names: list[str], column: str = "name") -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", column])
        writer.writerows([index, name] for index, name in enumerate(names))


def _values(exercise: dict[str, Any]) -> dict[str, Any]:
    """Each value to compute by its path, from the answer."""
    values = {}
    for item in exercise["compute"]:
        value: Any = exercise["answer"]
        for part in item["path"].replace("]", "").replace("[", ".").split("."):
            value = value[int(part)] if part.isdigit() else value[part]
        values[item["path"]] = value
    return values


def _map(value: Any, f: Any) -> Any:
    return [_map(v, f) for v in value] if isinstance(value, list) else f(value)


def _fill(notebook: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The notebook with every blank filled in with ``values``."""
    filled = json.loads(json.dumps(notebook))
    for cell in filled["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        match = re.search(r'^values\["([^"]+)"\] = .*$', source, re.MULTILINE)
        if cell["cell_type"] == "code" and match:
            line = f'values["{match[1]}"] = {json.dumps(values[match[1]])}'
            cell["source"] = source[: match.start()] + line + source[match.end() :]
    return filled


@pytest.fixture(scope="module")
def class_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A class of 30 on the notebook's template, with answers planted and graded."""
    root = tmp_path_factory.mktemp("class")
    _write_roster(root / "students.csv", ROSTER)
    out = root / "out"
    done = _run(
        "exercises", "notebook", "--roster", str(root / "students.csv"), "--out", str(out),
        "--course", "ML 101",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    key = json.loads((out / "key.json").read_text())
    for index, entry in enumerate(key["students"]):
        kind = KINDS[index % len(KINDS)]
        values = _values(entry["exercise"])
        submission = out / "submissions" / f"{entry['file']}.json"
        if kind == "right":
            submission.write_text(json.dumps(values))
        elif kind == "rounded":
            rounded = {p: _map(v, lambda x: float(f"{x:.4g}")) for p, v in values.items()}
            submission.write_text(json.dumps(rounded))
        elif kind == "mistake":
            # The ½ of the loss dropped: the output δ doubled, and every value after it
            # computed from it.
            doubled = dict(values)
            for path, value in values.items():
                if path.startswith("gradients"):
                    doubled[path] = _map(value, lambda x: 2 * x)
            exercise = entry["exercise"]
            rate = exercise["optimizer"]["learning_rate"]
            for i, layer in enumerate(exercise["network"]["layers"]):
                for part in ("weights", "bias"):
                    grad = doubled[f"gradients[{i}].{part}"]
                    doubled[f"network.layers[{i}].{part}"] = (
                        [[w - rate * g for w, g in zip(r, gr, strict=True)]
                         for r, gr in zip(layer[part], grad, strict=True)]
                        if part == "weights"
                        else [b - rate * g for b, g in zip(layer[part], grad, strict=True)]
                    )  # fmt: skip
            submission.write_text(json.dumps(doubled))
        elif kind == "empty":
            submission.write_text("{}")
        elif kind == "unreadable":
            submission.write_text('{"loss": 0.5,')
        elif kind == "notebook":
            blank = json.loads((out / "students" / entry["file"] / "exercise.ipynb").read_text())
            notebook = _fill(blank, values)
            (out / "submissions" / f"{entry['file']}.ipynb").write_text(json.dumps(notebook))
    done = _run("grade", str(out))
    assert done.exit_code == 0, done.output
    return out


def test_the_class_loop_grades_as_expected(class_set: Path) -> None:
    """grades.csv: one row per student in the roster's order, each planted answer graded."""
    key = json.loads((class_set / "key.json").read_text())
    with open(class_set / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(ROSTER) == 30
    assert list(rows[0]) == ["student", "file", "submission", "score", "first_error", "mistakes"]
    values = len(key["students"][0]["exercise"]["compute"])
    expected = {
        "right": ("graded", 1.0),
        "rounded": ("graded", 1.0),
        "mistake": ("graded", round((values - 1) / values, 4)),
        "empty": ("empty", 0.0),
        "unreadable": ("unreadable", 0.0),
        "missing": ("missing", 0.0),
        "notebook": ("graded", 1.0),
    }
    for index, (row, entry) in enumerate(zip(rows, key["students"], strict=True)):
        kind = KINDS[index % len(KINDS)]
        assert row["file"] == entry["file"]
        assert (row["submission"], float(row["score"])) == expected[kind], (kind, row)
        if kind == "mistake":
            assert row["first_error"].startswith("gradients[1].bias: ")
            assert "½ is missing" in row["first_error"]
            assert row["mistakes"] == "gradients[1].bias: missing_half"
        elif kind in ("right", "rounded", "notebook"):
            assert row["first_error"] == row["mistakes"] == ""
    feedback = (class_set / "feedback" / f"{key['students'][2]['file']}.md").read_text()
    assert "- ✗ gradients[1].bias: the ½ is missing" in feedback
    assert "- ↪ network.layers[0].weights (right from your gradients[1].bias)" in feedback


def test_every_student_has_a_sheet_a_notebook_a_solution_and_a_key(class_set: Path) -> None:
    """Each notebook is valid nbformat 4; each student's numbers differ; key.csv holds every
    value of every student."""
    key = json.loads((class_set / "key.json").read_text())
    networks = set()
    for entry in key["students"]:
        folder = class_set / "students" / entry["file"]
        notebook = nbformat.read(folder / "exercise.ipynb", as_version=4)
        nbformat.validate(notebook)
        assert (
            "$z^{(1)}" in (folder / "sheet.md").read_text()
            or "z^{(1)}" in (folder / "sheet.md").read_text()
        )
        assert (folder / "solution.md").read_text().startswith("#")
        networks.add(json.dumps(entry["exercise"]["network"]))
    assert len(networks) == 30
    with open(class_set / "key.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 30 * len(key["students"][0]["exercise"]["compute"])
    assert [float(v) for v in json.loads(rows[0]["value"])]


def test_hostile_names_never_appear_unescaped(class_set: Path) -> None:
    """No name reaches a notebook's code; in Markdown it is escaped (no tag, no </script>); in
    a CSV cell a formula sign is preceded by ' and the scores are numbers."""
    key = json.loads((class_set / "key.json").read_text())
    for path in class_set.rglob("*"):
        if path.suffix in (".md", ".ipynb"):
            text = path.read_text()
            assert "<script" not in text.lower()
            assert "</script" not in text.lower()
            assert "<img" not in text
    for entry in key["students"]:
        notebook = json.loads(
            (class_set / "students" / entry["file"] / "exercise.ipynb").read_text()
        )
        code = "".join(
            "".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"
        )
        for word in ("Bob", "HYPERLINK", "alert", "Dupont", "Student"):
            assert word not in code
    for name in ("grades.csv", "key.csv"):
        with open(class_set / name, newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    assert not cell.startswith(FORMULA_STARTS), (name, cell)
    with open(class_set / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["student"] == "'" + HOSTILE[0]
    assert rows[4]["student"] == HOSTILE[4]
    assert rows[7]["student"] == "Line\nbreak"
    assert all(isinstance(float(row["score"]), float) for row in rows)


def test_a_roster_without_a_name_column_is_a_clear_error(tmp_path: Path) -> None:
    _write_roster(tmp_path / "roster.csv", ["Ada"], column="email")
    done = _run(
        "exercises",
        "notebook",
        "--roster",
        str(tmp_path / "roster.csv"),
        "--out",
        str(tmp_path / "o"),
    )
    assert done.exit_code == 1
    assert "no column of names: its header row is id, email; name one column name or student" in (
        done.output
    )
    assert not (tmp_path / "o").exists()


def test_grading_a_folder_without_a_key_is_a_clear_error(tmp_path: Path) -> None:
    done = _run("grade", str(tmp_path))
    assert done.exit_code == 1
    assert "no key.json" in done.output


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jupyter's own directories as it will default to them (no deprecation warning)."""
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")


def _run_notebook(notebook: dict[str, Any], where: Path) -> list[str]:
    """The notebook run by nbclient; the text its last cell (check()) prints."""
    from nbclient import NotebookClient

    node = nbformat.from_dict(notebook)
    NotebookClient(
        node, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(where)}}
    ).execute()
    outputs = node.cells[-1].outputs
    return "".join(o.get("text", "") for o in outputs).splitlines()


def test_a_notebook_filled_in_checks_itself(class_set: Path, kernel_env: None) -> None:
    """Run by nbclient: blank, it asks for a value; filled in right, every value is ✓; with
    the ½ dropped, ✗ names the mistake and the values after it are ↪."""
    key = json.loads((class_set / "key.json").read_text())
    entry = key["students"][2]
    blank = json.loads((class_set / "students" / entry["file"] / "exercise.ipynb").read_text())
    assert _run_notebook(blank, class_set) == [
        "Fill in a value (each ... is a number to write), then run check() again."
    ]
    right = _run_notebook(_fill(blank, _values(entry["exercise"])), class_set)
    assert right[-1] == "score: 100%"
    assert all(line.startswith("✓ ") for line in right[:-1])
    assert len(right) - 1 == len(entry["exercise"]["compute"])
    planted = json.loads((class_set / "submissions" / f"{entry['file']}.json").read_text())
    mistaken = _run_notebook(_fill(blank, planted), class_set)
    wrong = [line for line in mistaken if line.startswith("✗")]
    assert wrong == [f"✗ gradients[1].bias: {line.split(': ', 1)[1]}" for line in wrong]
    assert len(wrong) == 1
    assert "½ is missing" in wrong[0]
    assert any(line.startswith("↪ network.layers[0].weights") for line in mistaken)


def _plain_step(exercise: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each updated parameter a plain SGD step's ``w − η·∂L/∂w`` (the velocity
    left out)."""
    rate = exercise["optimizer"]["learning_rate"]
    planted = dict(values)
    for path in values:
        if path.startswith("network."):
            index, part = path.split("[")[1].split("].")
            before = np.array(exercise["network"]["layers"][int(index)][part])
            gradient = np.array(exercise["answer"]["gradients"][int(index)][part])
            planted[path] = (before - rate * gradient).tolist()
    return planted


def test_a_momentum_step_is_graded_with_its_update(tmp_path: Path, kernel_env: None) -> None:
    """/check grades the momentum step: a momentum class's right answers score 1 over every
    value, the update included; an update that leaves the velocity out is named in the feedback
    and in the notebook."""
    _write_roster(tmp_path / "roster.csv", ["Ada", "Alan"])
    out = tmp_path / "out"
    done = _run(
        "exercises", "momentum", "--roster", str(tmp_path / "roster.csv"), "--out", str(out)
    )
    assert done.exit_code == 0, done.output
    key = json.loads((out / "key.json").read_text())
    right, plain = key["students"]
    values = _values(right["exercise"])
    assert any(path.startswith("network.") for path in values)
    (out / "submissions" / f"{right['file']}.json").write_text(json.dumps(values))
    planted = _plain_step(plain["exercise"], _values(plain["exercise"]))
    (out / "submissions" / f"{plain['file']}.json").write_text(json.dumps(planted))
    assert _run("grade", str(out)).exit_code == 0
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["submission"] == "graded"
    assert float(rows[0]["score"]) == 1.0
    assert float(rows[1]["score"]) < 1.0
    assert rows[1]["first_error"].startswith("network.layers[0].weights: the earlier velocity")
    feedback = (out / "feedback" / f"{right['file']}.md").read_text()
    assert "✓ network.layers[0].weights" in feedback
    blank = json.loads((out / "students" / right["file"] / "exercise.ipynb").read_text())
    printed = _run_notebook(_fill(blank, values), out)
    assert printed[-1] == "score: 100%"
    assert len(printed) - 1 == len(values)
    assert all(line.startswith("✓ ") for line in printed[:-1])
    blank = json.loads((out / "students" / plain["file"] / "exercise.ipynb").read_text())
    printed = _run_notebook(_fill(blank, planted), out)
    assert any(
        line.startswith("✗ network.layers[0].weights: the earlier velocity is left out")
        for line in printed
    )


def test_an_unknown_template_is_the_servers_422(tmp_path: Path) -> None:
    _write_roster(tmp_path / "roster.csv", ["Ada"])
    roster = str(tmp_path / "roster.csv")
    done = _run("exercises", "lenet", "--roster", roster, "--out", str(tmp_path / "o"))
    assert done.exit_code == 1
    assert "the request is invalid (422):" in done.output
    assert "'lenet' is no ready template" in done.output
    assert not (tmp_path / "o").exists()
