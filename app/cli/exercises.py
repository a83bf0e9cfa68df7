"""A class set from the terminal: ``backprop exercises`` writes every student's exercise (sheet,
notebook, worked solution) and the answer key; ``backprop grade`` grades their submissions with
/check and writes ``grades.csv`` and a feedback file per student.

The folder ``backprop exercises`` writes, and ``backprop grade`` reads::

    DIR/key.json                      the template, the course; each student's exercise, answer
    DIR/key.csv                       student, file, seed, path, value: a row per value
    DIR/students/FILE/sheet.md        the sheet (Markdown with LaTeX), to print or convert
    DIR/students/FILE/exercise.ipynb  the notebook: a blank per value, and check()
    DIR/students/FILE/solution.md     the worked solution (/explain)
    DIR/submissions/FILE.ipynb        a filled notebook handed back, or FILE.json:
                                      {path: value} as the notebook's values, or a claimed
    DIR/grades.csv                    what backprop grade writes, with DIR/feedback/FILE.md

FILE is the roster's row number and the name in letters and digits (``003-ada-lovelace``), so
no name can reach outside the folder. A name starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is written to a CSV file after a ``'``, so that a spreadsheet shows it as text
(OWASP's advice against CSV injection); numbers stay numbers.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import orjson

from app.cli.request_files import InputError
from app.client import Client, InvalidRequestError
from app.render import jupyter
from app.render.exercise import answers, markdown
from app.render.exercise.notebook import notebook
from app.render.exercise.spec import from_answer

NAME_COLUMNS: Final = ("name", "student")
"""The roster's column that holds each student's name (the first found, in any case)."""
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may read a cell starting with as a formula."""
GRADES_HEADER: Final = ("student", "file", "submission", "score", "first_error", "mistakes")


def csv_text(text: str) -> str:
    """Text as a CSV cell a spreadsheet shows as text (a leading ``'`` before a formula sign)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def read_roster(path: Path) -> list[str]:
    """The students' names in the roster's order (rows without a name are skipped)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    column = next((name for name in header if name.strip().lower() in NAME_COLUMNS), None)
    if column is None:
        shown = ", ".join(header) if header else "nothing"
        raise InputError(
            f"{path}: no column of names: its header row is {shown}; name one column "
            f"{' or '.join(NAME_COLUMNS)}"
        )
    names = [(row.get(column) or "").strip() for row in reader]
    names = [name for name in names if name]
    if not names:
        raise InputError(f"{path}: no student in column {column!r}")
    return names


def file_name(index: int, name: str) -> str:
    """A student's file name: the row number and the name's letters and digits, lower case."""
    letters = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    return f"{index + 1:03d}" + (f"-{letters}" if letters else "")


def template_of(template: str) -> Any:
    """A ready template's name as it is, or the fields in a JSON file."""
    if not template.endswith(".json"):
        return template
    try:
        return orjson.loads(Path(template).read_bytes())
    except OSError as exc:
        raise InputError(f"{template}: cannot be read ({exc.strerror})") from None
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{template} is not JSON: {exc}") from None


def key_rows(student: str, file: str, exercise: dict[str, Any]) -> Iterator[list[Any]]:
    """key.csv's rows of one student: each value to compute with its answer as JSON."""
    answer = exercise["answer"]
    for item in exercise["compute"]:
        value: Any = answer
        for part in item["path"].replace("]", "").replace("[", ".").split("."):
            value = value[int(part)] if part.isdigit() else value[part]
        yield [csv_text(student), file, exercise["seed"], item["path"], json.dumps(value)]


@dataclass(frozen=True)
class Written:
    """What ``backprop exercises`` wrote: the students, and the folder."""

    students: int
    out: Path


def write_class(
    client: Client, template: Any, roster: list[str], course: str, out: Path
) -> Written:
    """Every student's exercise, sheet, notebook and worked solution, and the key."""
    students_dir = out / "students"
    key: list[dict[str, Any]] = []
    rows: list[list[Any]] = []
    resolved: Any = None
    for index, student in enumerate(roster):
        body = {"template": template, "student": student, "include_answer": True}
        if course:
            body["course"] = course
        response = client.exercises(body)
        answer = orjson.loads(response.model_dump_json(exclude_unset=True))
        resolved = answer["template"]
        file = file_name(index, student)
        folder = students_dir / file
        folder.mkdir(parents=True, exist_ok=True)  # after the first answer: a 422 writes nothing
        exercise = from_answer(student, course, answer)
        (folder / "sheet.md").write_text(markdown.sheet(exercise), encoding="utf-8")
        (folder / "exercise.ipynb").write_text(jupyter.text(notebook(exercise)), encoding="utf-8")
        solution = client.explain(answer["explain"])
        (folder / "solution.md").write_text(str(solution), encoding="utf-8")
        key.append({"student": student, "file": file, "seed": answer["seed"], "exercise": answer})
        rows += key_rows(student, file, answer)
    (out / "submissions").mkdir(exist_ok=True)
    document = {"template": resolved, "course": course, "students": key}
    (out / "key.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    with open(out / "key.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "file", "seed", "path", "value"])
        writer.writerows(rows)
    return Written(len(roster), out)


class UnreadableError(Exception):
    """A submission that cannot be read; its message says why."""


def _no(constant: str) -> None:
    """JSON has no NaN or Infinity (Python's json reads them unless told not to)."""
    raise ValueError(f"{constant} is not a JSON number")


def submitted_claims(folder: Path, file: str) -> dict[str, Any] | None:
    """A student's submission as /check's ``claimed`` ({} when it fills in nothing), or None
    when there is none; :class:`UnreadableError` when it cannot be read."""
    for suffix in (".ipynb", ".json"):
        path = folder / f"{file}{suffix}"
        if not path.exists():
            continue
        try:
            # Each number of a JSON file as written (a Decimal of its text), as /check grades it.
            document = json.loads(path.read_bytes(), parse_float=Decimal, parse_constant=_no)
        except (OSError, ValueError) as exc:
            raise UnreadableError(f"{path.name} is not JSON ({exc})") from None
        if not isinstance(document, dict):
            raise UnreadableError(f"{path.name} holds no JSON object")
        if suffix == ".json":
            # {path: value} as the notebook's values, or /check's claimed itself.
            paths = any("[" in key for key in document)
            return answers.claimed_from(document) if paths else document
        values: dict[str, Any] = {}
        for cell in document.get("cells") or []:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                text = "".join(source) if isinstance(source, list) else str(source)
                values |= answers.values_of(text)
        return answers.claimed_from(values)
    return None


@dataclass(frozen=True)
class Grade:
    """One student's row of grades.csv, and the feedback lines."""

    submission: str
    score: float
    first_error: str
    mistakes: list[str]
    lines: list[str]


MARKS: Final = {"correct": "✓", "carried_forward": "↪", "wrong": "✗"}


def grade_one(client: Client, exercise: dict[str, Any], claimed: dict[str, Any] | None) -> Grade:
    """A submission graded with /check: its verdicts, the first error and the mistakes named."""
    if claimed is None:
        return Grade("missing", 0.0, "", [], ["No submission was found."])
    if not any(value not in (None, [], {}) for value in claimed.values()):
        return Grade("empty", 0.0, "", [], ["The submission fills in no value."])
    body = {
        "network": exercise["network"],
        "inputs": exercise["inputs"],
        "targets": exercise["targets"],
        "loss": exercise["loss"],
        "claimed": claimed,
    }
    if exercise["optimizer"]["momentum"]:
        body |= {"optimizer": exercise["optimizer"], "optimizer_state": exercise["optimizer_state"]}
    else:
        body["learning_rate"] = exercise["optimizer"]["learning_rate"]
    try:
        answer = client.check(body).model_dump(mode="json")
    except InvalidRequestError as exc:
        problems = "; ".join(f"{'.'.join(map(str, p.loc[2:]))}: {p.msg}" for p in exc.problems)
        return Grade("unreadable", 0.0, "", [], [f"The submission cannot be graded: {problems}"])
    lines, mistakes = [], []
    for item in answer["checks"]:
        line = f"{MARKS[item['verdict']]} {item['path']}"
        if item["verdict"] == "wrong":
            named = item.get("mistakes") or []
            text = " — or ".join(m["text"] for m in named) or item.get("hint") or "wrong"
            ids = " or ".join(m["id"] for m in named) or "not a usual mistake"
            mistakes.append(f"{item['path']}: {ids}")
            line += f": {text}"
        elif item["verdict"] == "carried_forward":
            line += f" (right from your {item['carried_from']})"
        lines.append(line)
    expected = len(exercise["compute"])
    graded = len(answer["checks"])
    score = sum(item["verdict"] != "wrong" for item in answer["checks"]) / expected
    first = answer.get("first_wrong") or {}
    first_error = f"{first['path']}: {first['hint']}" if first else ""
    if graded < expected:
        missing = expected - graded
        verb = "is" if missing == 1 else "are"
        lines.append(f"{missing} of the {expected} values {verb} not filled in.")
    return Grade("graded", score, first_error, mistakes, lines)


def grade_class(client: Client, out: Path, submissions: Path) -> list[tuple[str, Grade]]:
    """Every student of ``out``'s key graded: grades.csv and a feedback file each."""
    try:
        key = orjson.loads((out / "key.json").read_bytes())
    except OSError as exc:
        message = f"{out}: no key.json ({exc.strerror}): run backprop exercises first"
        raise InputError(message) from None
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{out}/key.json is not JSON: {exc}") from None
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    results = []
    rows = []
    for entry in key["students"]:
        student, file = entry["student"], entry["file"]
        try:
            grade = grade_one(client, entry["exercise"], submitted_claims(submissions, file))
        except UnreadableError as exc:
            grade = Grade("unreadable", 0.0, "", [], [f"The submission cannot be read: {exc}"])
        results.append((student, grade))
        rows.append(
            [
                csv_text(student),
                file,
                grade.submission,
                round(grade.score, 4),
                csv_text(grade.first_error),
                csv_text("; ".join(grade.mistakes)),
            ]
        )
        text = [
            "# Feedback",
            "",
            f"**Student**: {markdown.escape(student)}  ",
            f"**Score**: {grade.score:.0%}",
            "",
            *(f"- {line}" for line in grade.lines),
            "",
            f"The worked solution: `students/{file}/solution.md`.",
            "",
        ]
        (feedback / f"{file}.md").write_text("\n".join(text), encoding="utf-8")
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(GRADES_HEADER)
        writer.writerows(rows)
    return results
