"""``backprop train --plot FILE``: the loss (and validation loss, accuracy, validation accuracy)
curves of a run, drawn with matplotlib, an optional extra (``pip install '.[plot]'``) imported
only here."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app.cli.request_files import ensure_directory

MISSING = "--plot needs matplotlib (the optional extra plot): pip install matplotlib"


class PlotUnavailableError(Exception):
    """The curves cannot be drawn: matplotlib is not installed, or the file cannot be written."""


def ensure_matplotlib() -> None:
    """Fail before a run, not after it, when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError as exc:
        raise PlotUnavailableError(MISSING) from exc
    matplotlib.use("Agg")  # no display needed: the figure goes to a file


def check_plot_path(path: Path) -> None:
    """Fail before a run, not after it, when matplotlib is missing, cannot write a file of
    ``path``'s kind (its suffix), or ``path``'s directory does not exist."""
    ensure_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    kinds = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lstrip(".").lower() not in kinds:
        names = ", ".join(f".{kind}" for kind in sorted(kinds))
        raise PlotUnavailableError(f"--plot {path}: the file name ends in none of {names}")
    ensure_directory(path, "--plot")


def _points(entries: Sequence[Mapping[str, Any]], field: str) -> tuple[list[int], list[float]]:
    """The epochs and values of ``field`` where the trace holds a number for it."""
    points = [(e["epoch"], e[field]) for e in entries if e.get(field) is not None]
    return [x for x, _ in points], [y for _, y in points]


def plot_curves(entries: Sequence[Mapping[str, Any]], path: Path, log_scale: bool = False) -> None:
    """Draw the recorded losses and validation losses (and accuracies, on a second axis, dashed
    for the validation data) of ``entries``, trace entries as plain JSON objects, against the
    epoch into ``path``, a PNG or SVG file as its suffix says; ``log_scale`` puts the losses on
    a logarithmic axis."""
    ensure_matplotlib()
    import matplotlib.pyplot as plt

    figure, loss_axis = plt.subplots(figsize=(7, 4))
    loss_axis.plot(*_points(entries, "loss"), color="tab:blue", label="loss")
    validation = _points(entries, "validation_loss")
    if validation[0]:
        loss_axis.plot(*validation, color="tab:green", label="validation loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("loss")
    if log_scale:
        loss_axis.set_yscale("log")
    accuracy = _points(entries, "accuracy")
    validation_accuracy = _points(entries, "validation_accuracy")
    axes = [loss_axis]
    if accuracy[0] or validation_accuracy[0]:
        accuracy_axis = loss_axis.twinx()
        axes.append(accuracy_axis)
        if accuracy[0]:
            accuracy_axis.plot(*accuracy, color="tab:orange", label="accuracy")
        if validation_accuracy[0]:
            accuracy_axis.plot(
                *validation_accuracy, color="tab:red", linestyle="--", label="validation accuracy"
            )
        accuracy_axis.set_ylabel("accuracy", color="tab:orange")
        accuracy_axis.set_ylim(0, 1.05)
    if validation[0] or validation_accuracy[0]:
        lines = [line for axis in axes for line in axis.get_lines()]
        loss_axis.legend(lines, [str(line.get_label()) for line in lines], fontsize="small")
    figure.tight_layout()
    try:
        figure.savefig(path)
    except OSError as exc:
        raise PlotUnavailableError(f"--plot {path}: cannot be written ({exc.strerror})") from None
    finally:
        plt.close(figure)
