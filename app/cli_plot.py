"""``backprop train --plot FILE``: the loss (and accuracy) curves of a run, drawn with
matplotlib, an optional extra (``pip install '.[plot]'``) imported only here."""

from collections.abc import Sequence
from pathlib import Path

from app.schemas.training import EpochTrace

MISSING = "--plot needs matplotlib (the optional extra plot): pip install matplotlib"


class PlotUnavailableError(Exception):
    """matplotlib is not installed."""


def ensure_matplotlib() -> None:
    """Fail before a run, not after it, when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError as exc:
        raise PlotUnavailableError(MISSING) from exc
    matplotlib.use("Agg")  # no display needed: the figure goes to a file


def plot_curves(entries: Sequence[EpochTrace], path: Path) -> None:
    """Draw the recorded losses (and accuracies, on a second axis) against the epoch into
    ``path``, a PNG or SVG file as its suffix says."""
    ensure_matplotlib()
    import matplotlib.pyplot as plt

    figure, loss_axis = plt.subplots(figsize=(7, 4))
    losses = [(e.epoch, e.loss) for e in entries if e.loss is not None]
    loss_axis.plot([x for x, _ in losses], [y for _, y in losses], color="tab:blue", label="loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("loss")
    accuracies = [(e.epoch, e.accuracy) for e in entries if e.accuracy is not None]
    if accuracies:
        accuracy_axis = loss_axis.twinx()
        accuracy_axis.plot(
            [x for x, _ in accuracies], [y for _, y in accuracies], color="tab:orange"
        )
        accuracy_axis.set_ylabel("accuracy", color="tab:orange")
        accuracy_axis.set_ylim(0, 1.05)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
