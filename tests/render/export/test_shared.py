"""The stop-and-print loop both scripts share (app.render.export.shared.MAIN_LOOP): each variant
is Python whose ``main`` stops, prints and ends as /train does, and the NumPy script's form
differs from the PyTorch script's only by its annotations."""

import ast
import io
import json
from collections.abc import Callable
from contextlib import redirect_stdout
from typing import Any

import pytest

from app.render.export.shared import MAIN_LOOP, PRINT_NETWORK, SHOW, main_loop, untyped

LOOPS = [main_loop(validated, noun) for validated in (False, True) for noun in ("network", "model")]


class Unannotate(ast.NodeTransformer):
    """Takes out the annotations of functions and of variables (an annotated assignment becomes
    a plain one)."""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.returns = None
        for argument in node.args.args:
            argument.annotation = None
        self.generic_visit(node)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.Assign:
        assert node.value is not None
        return ast.Assign(targets=[node.target], value=node.value)


def without_annotations(tree: ast.Module) -> str:
    """The tree's dump with every function's and variable's annotations taken out."""
    return ast.dump(Unannotate().visit(tree))


def test_markers_name_a_loop() -> None:
    markers = [line for line in MAIN_LOOP.split("\n") if line.startswith("%% ")]
    assert {line[3:] for line in markers} == {"both", "plain", "validated"}


@pytest.mark.parametrize("source", [*LOOPS, SHOW, PRINT_NETWORK])
def test_untyped_takes_out_the_annotations_only(source: str) -> None:
    typed, bare = ast.parse(source), ast.parse(untyped(source))
    assert without_annotations(typed) == ast.dump(bare)
    assert all(
        node.returns is None and all(a.annotation is None for a in node.args.args)
        for node in ast.walk(bare)
        if isinstance(node, ast.FunctionDef)
    )
    assert not any(isinstance(node, ast.AnnAssign) for node in ast.walk(bare))
    assert untyped(source).count("\n") == source.count("\n")


def test_the_plain_loop_knows_nothing_of_validation() -> None:
    plain, validated = main_loop(False, "network"), main_loop(True, "network")
    assert "valid" not in plain
    assert "%%" not in plain + validated
    assert "$" not in plain + validated
    defined = [node.name for node in ast.parse(validated).body if isinstance(node, ast.FunctionDef)]
    assert defined == ["validation_reached", "improves", "main"]
    assert "the model as sent" in main_loop(True, "model")


def loop(validated: bool, names: dict[str, Any]) -> list[Any]:
    """The lines that ``main`` of a variant prints, with ``names`` for the script's others."""
    namespace: dict[str, Any] = {
        "json": json,
        "Any": Any,  # an annotation of improves names it, as the PyTorch script imports it
        "show": lambda line: print(json.dumps(line)),
        "network": lambda: {"layers": []},
        **names,
    }
    exec(main_loop(validated, "network"), namespace)
    out = io.StringIO()
    with redirect_stdout(out):
        namespace["main"]()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def epochs(losses: list[float | None]) -> Callable[[int], tuple[float, float] | None]:
    """run_epoch of a run whose epoch k ends with losses[k] (None: it diverges)."""

    def run_epoch(epoch: int) -> tuple[float, float] | None:
        loss = losses[epoch]
        return None if loss is None else (loss + 0.5, loss)

    return run_epoch


def plain(losses: list[float | None], every: int, below: float = -1.0) -> list[Any]:
    return loop(
        False,
        {
            "EPOCHS": len(losses),
            "EVERY": every,
            "data_loss": lambda: 9.0,
            "reached": lambda loss: loss <= below,
            "run_epoch": epochs(losses),
        },
    )


def test_plain_prints_every_few_epochs_and_the_last() -> None:
    lines = plain([5.0, 4.0, 3.0, 2.0, 1.0], every=2)
    assert [line.get("epoch") for line in lines[:-2]] == [1, 3, 5]
    assert lines[0] == {"epoch": 1, "loss": 5.5}
    assert lines[-2] == {"status": "completed", "epochs_run": 5, "final_loss": 1.0}
    assert lines[-1] == {"layers": []}


def test_plain_stops_at_the_target() -> None:
    lines = plain([5.0, 4.0, 3.0, 2.0, 1.0], every=10, below=3.5)
    assert [line.get("epoch") for line in lines[:-2]] == [1, 3]
    assert lines[-2] == {"status": "target_reached", "epochs_run": 3, "final_loss": 3.0}


def test_plain_divergence_prints_the_last_finite_epoch() -> None:
    lines = plain([5.0, 4.0, 3.0, None, 1.0], every=3)
    assert [line.get("epoch") for line in lines[:-2]] == [1, 3]
    summary = {"status": "diverged", "epochs_run": 3, "final_loss": 3.0, "diverged_at_epoch": 4}
    assert lines[-2] == summary


def test_validated_stops_early_with_the_best_network() -> None:
    """Patience 2: the validation loss is lowest after epoch 1, so the run stops after epoch 3
    and returns epoch 1's network, its validation and its loss."""
    validations = iter([1.0, 0.9, 0.95, 0.97, 0.5])
    snapshots = iter(["as sent", "after epoch 1", "unused"])
    restored: list[Any] = []
    lines = loop(
        True,
        {
            "EPOCHS": 10,
            "EVERY": 1,
            "PATIENCE": 2,
            "VALIDATION_LOSS_BELOW": None,
            "data_loss": lambda: 7.0 if restored else 9.0,
            "validate": lambda: {"validation_loss": next(validations)},
            "reached": lambda loss: False,
            "run_epoch": epochs([5.0, 4.0, 3.0, 2.0]),
            "snapshot": lambda: next(snapshots),
            "restore": restored.append,
        },
    )
    assert lines[:3] == [
        {"epoch": 1, "loss": 5.5, "validation_loss": 1.0},
        {"epoch": 2, "loss": 4.5, "validation_loss": 0.9},
        {"epoch": 3, "loss": 3.5, "validation_loss": 0.95},
    ]
    assert lines[3] == {
        "status": "early_stopped",
        "epochs_run": 3,
        "final_loss": 7.0,
        "final_validation_loss": 0.9,
        "best_epoch": 1,
    }
    assert restored == ["after epoch 1"]
