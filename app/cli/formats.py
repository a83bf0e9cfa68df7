"""The CLI's printouts: a training run in the notebook's layout or as a table, a check's marks
one line per claimed value, and a 422's problems as ``path: message`` lines. Pure functions to
text; a run is printed from its stream's lines as plain JSON
(:meth:`app.client.Client.train_lines`: the command imports no model to print a run).

The notebook printed NumPy arrays with ``print(f"...{array}")``; the layout here does the same
with NumPy's default print options, so that its lines match the notebook's character for
character (8 significant digits after the point, NumPy's spacing and line wrapping).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from app.client import Problem

if TYPE_CHECKING:
    from rich.table import Table

    from app.schemas.diagnostics import CheckedValue, CheckResponse

Entry = Mapping[str, Any]
"""A trace entry or a summary as its JSON object (``EpochTrace``'s or ``TrainSummary``'s fields;
a field the server did not send is absent)."""


def _array(values: Any) -> str:
    with np.printoptions():  # the defaults, whatever the process set elsewhere
        return str(np.asarray(values, dtype=np.float64))


def _number(value: float | None) -> str:
    """A value as the notebook prints a one-element array; null (not finite) as null."""
    return "null" if value is None else _array([value])


def notebook_epoch(entry: Entry) -> list[str]:
    """One recorded epoch as the notebook prints it: the hidden outputs H and y_pred, the loss,
    every gradient (W1's flattened, as the notebook flattens it), then the updated parameters.
    Lines whose values the trace does not hold are left out."""
    lines = []
    layers, outputs = entry.get("layers"), entry.get("outputs")
    if layers is not None and outputs is not None:
        hidden = ", ".join(_array(layer["a"]) for layer in layers[:-1])
        lines.append(f"隐藏节点输出:{hidden}, 输出Y结果:{_array(outputs)}")
    if entry.get("loss") is not None:
        lines.append(f"求损失函数结果,loss:{_array([entry['loss']])}")
    if "validation_loss" in entry:
        line = f"验证集损失,validation_loss:{_number(entry['validation_loss'])}"
        if entry.get("validation_accuracy") is not None:
            line += f", validation_accuracy:{_array([entry['validation_accuracy']])}"
        lines.append(line)
    gradients = entry.get("gradients")
    if gradients is not None:
        weights = [
            f"W{i}梯度{_array(np.ravel(g['weights']) if i == 1 else g['weights'])}"
            for i, g in enumerate(gradients, start=1)
        ]
        biases = [f"B{i}梯度{_array(g['bias'])}" for i, g in enumerate(gradients, start=1)]
        lines.append(f"求各个参数的梯度:{', '.join(weights + biases)}")
    if entry.get("network") is not None:
        layers = entry["network"]["layers"]
        weights = [f"W{i}:{_array(layer['weights'])}" for i, layer in enumerate(layers, start=1)]
        biases = [f"B{i}{_array(layer['bias'])}" for i, layer in enumerate(layers, start=1)]
        lines.append(f"更新参数{','.join(weights + biases)}")
    return lines


def summary_line(summary: Entry) -> str:
    """The run's end: its status, epochs run, final loss (and accuracy, validation loss and
    accuracy, and the best network's epoch)."""
    status = summary["status"]
    text = f"{status}: {summary['epochs_run']} epochs, final loss {summary['final_loss']:.8g}"
    if summary.get("final_accuracy") is not None:
        text += f", final accuracy {summary['final_accuracy']:.4g}"
    if summary.get("final_validation_loss") is not None:
        text += f", final validation loss {summary['final_validation_loss']:.8g}"
    if summary.get("final_validation_accuracy") is not None:
        text += f", final validation accuracy {summary['final_validation_accuracy']:.4g}"
    if summary.get("best_epoch") is not None:
        returned = "returned" if status == "early_stopped" else "not returned"
        text += f"; lowest validation loss after epoch {summary['best_epoch']} ({returned})"
    if summary.get("divergence"):
        text += f" ({summary['divergence']})"
    return text


def _short(values: Any) -> str:
    flat = np.ravel(np.asarray(values, dtype=np.float64))
    shown = " ".join(f"{v:.6g}" for v in flat[:4])
    return f"{shown} … ({flat.size})" if flat.size > 4 else shown


def trace_table(entries: Sequence[Entry]) -> Table:
    """The recorded epochs as a compact table: epoch, loss, accuracy, validation loss and
    accuracy, and outputs when recorded (a validation loss that is not finite shows as null)."""
    from rich.table import Table  # Rich only for a table: a piped printout goes without it

    table = Table("epoch", "loss")
    has_accuracy = any(e.get("accuracy") is not None for e in entries)
    has_validation = any("validation_loss" in e for e in entries)
    has_validation_accuracy = any(e.get("validation_accuracy") is not None for e in entries)
    has_outputs = any(e.get("outputs") is not None for e in entries)
    for name, shown in (
        ("accuracy", has_accuracy),
        ("validation loss", has_validation),
        ("validation accuracy", has_validation_accuracy),
        ("outputs", has_outputs),
    ):
        if shown:
            table.add_column(name)
    for e in entries:
        loss, accuracy = e.get("loss"), e.get("accuracy")
        row = [str(e["epoch"]), "" if loss is None else f"{loss:.8g}"]
        if has_accuracy:
            row.append("" if accuracy is None else f"{accuracy:.4g}")
        if has_validation:
            validation_loss = e.get("validation_loss")
            row.append("null" if validation_loss is None else f"{validation_loss:.8g}")
        if has_validation_accuracy:
            validation_accuracy = e.get("validation_accuracy")
            row.append("" if validation_accuracy is None else f"{validation_accuracy:.4g}")
        if has_outputs:
            outputs = e.get("outputs")
            row.append("" if outputs is None else _short(outputs))
        table.add_row(*row)
    return table


def json_path(loc: Iterable[str | int]) -> str:
    """A 422 ``loc`` as a path into the request: ``network.layers[1].weights``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "body" or path:
            path += f".{part}" if path else part
    return path or "body"


def problem_lines(problems: Iterable[Problem]) -> list[str]:
    """Each problem of a 422 as ``path: message``."""
    return [f"{json_path(p.loc)}: {p.msg}" for p in problems]


def _mark(item: CheckedValue) -> str:
    """One claimed value's line: ✓ correct, ↪ carried forward from the claim it follows from, ✗
    wrong with its mistakes' texts (else the hint: the step's formula)."""
    if item.verdict == "correct":
        return f"✓ {item.path}"
    if item.verdict == "carried_forward":
        return f"↪ {item.path}: carried forward from {item.carried_from}"
    texts = " — or ".join(f"{m.text} [{m.id}]" for m in item.mistakes)
    return f"✗ {item.path}: {texts or item.hint}"


def check_lines(answer: CheckResponse) -> list[str]:
    """A check as a teacher's marks: one line per claimed value in the order of the
    computation, then the score (the share of values correct or carried forward)."""
    right = sum(item.verdict != "wrong" for item in answer.checks)
    score = f"score: {right}/{len(answer.checks)} ({answer.score:.0%})"
    if answer.first_wrong is not None:
        score += f"; first wrong: {answer.first_wrong.path}"
    return [_mark(item) for item in answer.checks] + [score]
