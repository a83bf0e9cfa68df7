"""An exercise as a Jupyter notebook (nbformat 4): the task in Markdown, one code cell per value
to compute with a blank (``...``) for each number, and a ``check()`` cell that grades the values
filled in through /check, each number as written in its cell (``0.470`` at 3 decimals), and
prints ✓ (right), ↪ (right from an earlier wrong value) or ✗ with the mistake.

check() posts to the app in the notebook's own process when the backprop-api package is
installed, else to the server at ``BACKPROP_URL`` (default ``http://127.0.0.1:8000``). The
notebook holds the student's name and course only in its Markdown, escaped; its code holds the
given numbers and the API's fixed names alone.
"""

import inspect
import json
from typing import Any

from app.render.exercise import answers
from app.render.exercise.markdown import given, header, symbol
from app.render.exercise.spec import Exercise, Value
from app.render.jupyter import cell, document

CHECK_SOURCE = '''import os
import urllib.request

MARKS = {"correct": "✓", "carried_forward": "↪", "wrong": "✗"}


def post_check(body):
    """/check's answer as JSON: from the app in this process when the backprop-api package is
    installed, else from the server at BACKPROP_URL."""
    try:
        from app.client import Client
        from app.main import in_process_app
    except ImportError:
        url = os.environ.get("BACKPROP_URL", "http://127.0.0.1:8000").rstrip("/")
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(url + "/check", json_text(body).encode(), headers)
        with urllib.request.urlopen(request) as response:
            return json.load(response)
    with Client(app=in_process_app()) as client:
        return client.check(body).model_dump(mode="json")


def check():
    """Grade the values filled in so far, each number as written in its cell (IPython keeps
    the cells run in In); one line per value."""
    claimed = claimed_from(as_written(values, list(globals().get("In", []))))
    if not claimed:
        print("Fill in a value (each ... is a number to write), then run check() again.")
        return
    try:
        answer = post_check({**EXERCISE, "claimed": claimed})
    except Exception as error:
        print(f"could not check: {error}")
        return
    for item in answer["checks"]:
        line = f"{MARKS[item['verdict']]} {item['path']}"
        if item["verdict"] == "wrong":
            mistake = item.get("mistake") or {}
            line += ": " + (mistake.get("text") or item.get("hint") or "wrong")
        elif item["verdict"] == "carried_forward":
            line += f" (right from your {item['carried_from']})"
        print(line)
    print(f"score: {answer['score']:.0%}")
'''
"""The check() cell's code (the helpers of :mod:`answers` go before it)."""


def _blanks(shape: tuple[int, ...]) -> str:
    """A Python literal of ``...`` in ``shape``: ``[..., ...]``, ``[[..., ...], [..., ...]]``."""
    if not shape:
        return "..."
    inner = _blanks(shape[1:])
    return "[" + ", ".join([inner] * shape[0]) + "]"


def _value_cell(value: Value, batch: bool) -> str:
    per_sample = value.path.startswith(("layers", "outputs")) and batch
    form = f"shape {list(value.shape)}" + (", one row per sample" if per_sample else "")
    return (
        f"# {symbol(value.path)} ({value.step}): {form}\n"
        f"values[{json.dumps(value.path)}] = {_blanks(value.shape)}"
    )


def notebook(exercise: Exercise) -> dict[str, Any]:
    """The exercise notebook as nbformat 4 JSON (cells with ids, a Python 3 kernel)."""
    cells = [
        cell("markdown", header(exercise) + "\n" + given(exercise)),
        cell(
            "markdown",
            "## Your values\n\nReplace each `...` with the number you computed (keep 4 "
            "significant figures), run the cell, then run `check()` at the end. The symbols "
            "are the sheet's: $W^{(1)}$ is the first layer's weights.",
        ),
        cell(
            "code",
            "# The exercise as /check takes it: the given numbers.\n"
            f"EXERCISE = {json.dumps(exercise.check_request())}\n"
            "values = {}",
        ),
        *(cell("code", _value_cell(value, exercise.batch)) for value in exercise.values),
        cell("code", inspect.getsource(answers) + "\n\n" + CHECK_SOURCE),
        cell("code", "check()"),
    ]
    return document(cells)
