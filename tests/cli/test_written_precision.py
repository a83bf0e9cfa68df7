"""A number's trailing zeros reach /check on every route a student's value takes: a JSON answer
file and a filled notebook graded by ``backprop grade``, the notebook's own check(), ``backprop
check`` on a request file, and the client's check() with a ``Decimal``.

The planted claim is the loss written to 3 decimals with a trailing zero ("1.080" for 1.0834):
at 3 decimals it is off by more than a unit of its last place, so wrong; read as the float 1.08
(2 decimals) it is right. A route that turns the text into a float grades it right."""

import csv
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app import examples
from app.cli.commands import cli
from app.client import Client
from app.main import in_process_app
from app.render.exercise import answers
from tests.cli.test_exercises import _run_notebook, _values, _write_roster

STUDENT = "Grace"
"""A student of the notebook's template whose loss (1.083392) has a third decimal far from 0."""


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _written_loss(loss: float) -> str:
    """The loss to 2 decimals with a trailing zero: wrong at 3 decimals, right at 2."""
    assert 1 <= abs(loss) < 10
    assert abs(loss - round(loss, 2)) > 0.0015
    return f"{round(loss, 2):.2f}0"


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("written")
    _write_roster(root / "roster.csv", [STUDENT])
    out = root / "out"
    done = _run("exercises", "notebook", "--roster", str(root / "roster.csv"), "--out", str(out))
    assert done.exit_code == 0, done.output
    return out


def _entry(out: Path) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads((out / "key.json").read_text())["students"][0]
    return entry


def _graded(out: Path) -> tuple[dict[str, str], str]:
    """grades.csv's row and the feedback of the one student, after ``backprop grade``."""
    done = _run("grade", str(out))
    assert done.exit_code == 0, done.output
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    return row, (out / "feedback" / f"{_entry(out)['file']}.md").read_text()


def _json_text(values: dict[str, Any], loss: str) -> str:
    """The answers file's text: every value right, the loss written as ``loss``."""
    return json.dumps(values | {"loss": "@"}).replace('"@"', loss)


def test_a_json_answer_file_is_graded_at_the_precision_written(class_dir: Path) -> None:
    entry = _entry(class_dir)
    values = _values(entry["exercise"])
    written = _written_loss(values["loss"])
    submission = class_dir / "submissions" / f"{entry['file']}.json"
    submission.write_text(_json_text(values, written))
    row, feedback = _graded(class_dir)
    assert "- ✗ loss" in feedback
    assert row["first_error"].startswith("loss: ")
    # The same number without its trailing zero is right at 2 decimals.
    submission.write_text(_json_text(values, written.removesuffix("0")))
    row, feedback = _graded(class_dir)
    assert "- ✓ loss" in feedback
    assert float(row["score"]) == 1.0
    submission.unlink()


def _filled(out: Path, loss: str) -> dict[str, Any]:
    """The student's notebook filled in right, the loss's cell holding ``loss`` as written."""
    entry = _entry(out)
    notebook: dict[str, Any] = json.loads(
        (out / "students" / entry["file"] / "exercise.ipynb").read_text()
    )
    values = _values(entry["exercise"])
    for cell in notebook["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        match = re.search(r'^values\["([^"]+)"\] = .*$', source, re.MULTILINE)
        if cell["cell_type"] == "code" and match:
            value = loss if match[1] == "loss" else json.dumps(values[match[1]])
            line = f'values["{match[1]}"] = {value}'
            cell["source"] = source[: match.start()] + line + source[match.end() :]
    return notebook


def test_a_filled_notebook_is_graded_at_the_precision_written(class_dir: Path) -> None:
    entry = _entry(class_dir)
    written = _written_loss(_values(entry["exercise"])["loss"])
    submission = class_dir / "submissions" / f"{entry['file']}.ipynb"
    submission.write_text(json.dumps(_filled(class_dir, written)))
    row, feedback = _graded(class_dir)
    assert "- ✗ loss" in feedback
    assert row["first_error"].startswith("loss: ")
    submission.unlink()


def test_the_notebook_s_check_grades_at_the_precision_written(
    class_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check() run in the notebook's kernel (nbclient) reads the number from its cell."""
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    written = _written_loss(_values(_entry(class_dir)["exercise"])["loss"])
    printed = _run_notebook(_filled(class_dir, written), class_dir)
    assert any(line.startswith("✗ loss: ") for line in printed), printed
    printed = _run_notebook(_filled(class_dir, written.removesuffix("0")), class_dir)
    assert printed[-1] == "score: 100%", printed


def test_the_client_sends_a_decimal_as_written() -> None:
    """1.7766125 claimed as "1.770": wrong within 0.001; as "1.77": right within 0.01."""
    body = {key: value for key, value in examples.CHECK.items() if key != "tolerance"}
    with Client(app=in_process_app()) as client:
        three = client.check(body | {"claimed": {"loss": Decimal("1.770")}}).checks[0]
        two = client.check(body | {"claimed": {"loss": Decimal("1.77")}}).checks[0]
        floated = client.check(body | {"claimed": {"loss": 1.770}}).checks[0]
    assert (three.verdict, three.tolerance) == ("wrong", pytest.approx(0.001))
    assert (two.verdict, two.tolerance) == ("correct", pytest.approx(0.01))
    assert floated.tolerance == two.tolerance


def test_backprop_check_reads_a_request_file_s_claims_as_written(tmp_path: Path) -> None:
    body = {key: value for key, value in examples.CHECK.items() if key != "tolerance"}
    request = tmp_path / "check.json"
    request.write_text(json.dumps(body | {"claimed": {"loss": "@"}}).replace('"@"', "1.770"))
    done = _run("check", str(request), "--json")
    assert done.exit_code == 3, done.output
    answer = json.loads(done.output)
    assert answer["checks"][0]["verdict"] == "wrong"
    assert answer["checks"][0]["tolerance"] == pytest.approx(0.001)


def test_values_are_read_from_a_cell_as_written() -> None:
    source = (
        'values["loss"] = 0.470\n'
        'values["layers[0].z"] = [-1.50, +2, ...]\n'
        'values["outputs"] = [[1e-3, 0.10]]\n'
        "values['gradients[0].bias'] = sum([1.0])\n"
    )
    found = answers.values_of(source)
    assert str(found["loss"]) == "0.470"
    assert [str(v) if v is not ... else v for v in found["layers[0].z"]] == ["-1.50", "2", ...]
    assert [str(v) for v in found["outputs"][0]] == ["0.001", "0.10"]
    assert "gradients[0].bias" not in found
    # A value a later statement changed keeps the value the notebook holds.
    held = {"loss": 0.47, "outputs": [[0.5, 0.1]]}
    shown = answers.as_written(held, ["", source])
    assert str(shown["loss"]) == "0.470"
    assert shown["outputs"] == [[0.5, 0.1]]
    text = answers.json_text({"claimed": {"loss": Decimal("0.470"), "z": [Decimal("-1.50")]}})
    assert json.loads(text, parse_float=str) == {"claimed": {"loss": "0.470", "z": ["-1.50"]}}
