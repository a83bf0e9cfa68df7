"""The training loop: full-batch epochs, the per-epoch trace, and divergence.

Epoch ``e`` computes the forward pass, loss and gradients with the parameters at its start, then
updates them; :class:`EpochRecord` holds exactly that (the notebook prints the same). A network is
*finite* when its parameters, every ``z`` and its loss are finite on the training data. Training
stops at the first epoch whose update yields a network that is not finite: that epoch is not
recorded and the last finite network is returned with status ``diverged``.
"""

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np

from app.nn.errors import NonFiniteError, quiet_floating
from app.nn.losses import Loss
from app.nn.network import ForwardPass, Parameters, compute_gradients, evaluate
from app.nn.optimizers import Optimizer, OptimizerState
from app.nn.types import Array

Status = Literal["completed", "diverged"]
T = TypeVar("T")


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: values computed at its start and the parameters after its update."""

    epoch: int
    loss: float
    forward: ForwardPass
    gradients: Parameters
    network: Parameters


@dataclass(frozen=True)
class TrainingResult:
    """How training ended, with the returned network and its loss on the training data."""

    status: Status
    epochs_run: int
    final_loss: float
    network: Parameters
    optimizer_state: OptimizerState
    diverged_at_epoch: int | None = None
    divergence: str | None = None


@quiet_floating
def _update(
    params: Parameters, grads: Parameters, optimizer: Optimizer, state: OptimizerState
) -> None:
    optimizer.step(state, params, grads)
    if not np.isfinite(params.flat).all():
        raise NonFiniteError("update")


def train(
    params: Parameters,
    x: Array,
    t: Array,
    loss: Loss,
    optimizer: Optimizer,
    epochs: int,
    state: OptimizerState | None = None,
) -> Generator[EpochRecord, None, TrainingResult]:
    """Yield one :class:`EpochRecord` per epoch, then return the :class:`TrainingResult`.

    ``state`` resumes an earlier run (default: a fresh one). Neither ``params`` nor ``state`` is
    modified. The initial network must be finite on ``(x, t)``: otherwise
    :class:`NonFiniteError` is raised before the first epoch.
    """
    params = params.copy()
    state = optimizer.init(params.flat.size) if state is None else state.copy()
    grads = params.empty_like()
    previous = np.empty_like(params.flat)
    previous_state = state.copy()
    fwd, value = evaluate(params, x, t, loss)
    for epoch in range(1, epochs + 1):
        compute_gradients(params, fwd, t, loss, grads)
        np.copyto(previous, params.flat)
        previous_state.restore(state)
        try:
            _update(params, grads, optimizer, state)
            next_fwd, next_value = evaluate(params, x, t, loss)
        except NonFiniteError as error:
            np.copyto(params.flat, previous)
            state.restore(previous_state)
            reason = (
                f"epoch {epoch}: after its update {error.what} is not finite "
                "(float64 overflow or NaN); a smaller learning rate may help"
            )
            return TrainingResult("diverged", epoch - 1, value, params, state, epoch, reason)
        yield EpochRecord(epoch, value, fwd, grads.with_flat(grads.flat.copy()), params.copy())
        fwd, value = next_fwd, next_value
    return TrainingResult("completed", epochs, value, params, state)


def collect(
    epochs: Generator[EpochRecord, None, TrainingResult], keep: Callable[[EpochRecord], T]
) -> tuple[list[T], TrainingResult]:
    """Drain a :func:`train` generator, keeping ``keep(record)`` of each epoch as it comes."""
    kept: list[T] = []
    while True:
        try:
            kept.append(keep(next(epochs)))
        except StopIteration as stop:
            return kept, stop.value
