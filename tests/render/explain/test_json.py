"""The worked solution as JSON (app.render.explain.json): each step of the engine as ExplainStep,
each run left out as ExplainElision, with the text format's names and formulas and the engine's
exact values; written step by step, the same bytes as the whole answer at once."""

from typing import Any

import numpy as np
import orjson
import pytest

from app.nn.explain import explain
from app.nn.explain_steps import Elided, Entry, Step
from app.nn.network import Parameters
from app.nn.optimizers import SGD
from app.render.explain import json, text
from app.schemas.explain import ExplainElision, ExplainResponse, ExplainStep
from tests.notebook_values import NOTEBOOK, T, X

STEP_KEYS = list(ExplainStep.model_fields)
ELISION_KEYS = list(ExplainElision.model_fields)


def notebook_steps(max_steps: int = 1_000, max_terms: int = 10) -> list[Entry]:
    """The worked solution of the notebook's first epoch, as the engine builds it."""
    return list(
        explain(NOTEBOOK, X, T, "half_squared_error", SGD(0.01), None, 0, max_terms, max_steps)
    )


def wide_steps() -> list[Entry]:
    """A layer wide enough that a max_steps of 4 leaves runs of alike steps out."""
    rng = np.random.default_rng(0)
    params = Parameters.from_layers(
        [rng.uniform(-1, 1, (6, 5)).tolist(), rng.uniform(-1, 1, (1, 6)).tolist()],
        [[0.0] * 6, [0.0]],
        ["tanh", "identity"],
    )
    x, t = rng.uniform(-1, 1, (1, 5)), np.array([[0.5]])
    return list(explain(params, x, t, "half_squared_error", SGD(0.1), None, 0, 3, 4))


def test_steps_are_explain_steps_in_the_model_s_field_order() -> None:
    steps = notebook_steps()
    answer = orjson.loads(json.render(steps, 6))
    assert list(answer) == ["steps"]
    assert len(answer["steps"]) == len(steps)
    for entry, written in zip(steps, answer["steps"], strict=True):
        assert isinstance(entry, Step)
        assert list(written) == STEP_KEYS
        assert written["id"] == entry.id
        assert written["result"] == entry.result  # exact, not rounded to digits
        assert written["symbol"] == text.symbol(entry.target)
    ExplainResponse.model_validate_json(json.render(steps, 6))


def test_the_notebook_s_output_and_loss() -> None:
    steps = orjson.loads(json.render(notebook_steps(), 6))["steps"]
    loss = next(step for step in steps if step["stage"] == "loss")
    assert loss["result"] == pytest.approx(1.7766125, abs=1e-15)
    outputs = [step for step in steps if step["stage"] == "forward" and step["id"].endswith(".a.0")]
    assert outputs[-1]["result"] == pytest.approx(-0.885, abs=1e-15)
    for step in steps:
        for operand in step["operands"]:
            assert operand["symbol"] in step["formula"]
    assert len({step["id"] for step in steps}) == len(steps)


def test_elided_runs_are_explain_elisions() -> None:
    steps = wide_steps()
    elided = [entry for entry in steps if isinstance(entry, Elided)]
    assert elided, "the wide layer's runs are left out with max_steps 4"
    written = orjson.loads(json.render(steps, 4))["steps"]
    for entry, answer in zip(steps, written, strict=True):
        if isinstance(entry, Elided):
            assert list(answer) == ELISION_KEYS
            assert answer["elided_items"] == entry.items
            assert answer["elided_steps"] == entry.steps
            assert answer["note"] == text.line(entry, 4)
    ExplainResponse.model_validate_json(json.render(steps, 4))


@pytest.mark.parametrize("digits", [2, 6, 17])
def test_written_as_it_comes_is_the_whole_answer_at_once(digits: int) -> None:
    """Serializing step by step gives the bytes orjson writes for the whole answer."""
    for steps in (notebook_steps(), wide_steps()):
        whole: dict[str, Any] = {"steps": [json.step(entry, digits) for entry in steps]}
        assert json.render(iter(steps), digits) == orjson.dumps(whole)


def test_no_steps() -> None:
    assert json.render([], 6) == b'{"steps":[]}'
