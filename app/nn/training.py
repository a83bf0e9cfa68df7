"""The training loop: epochs of full-batch or mini-batch updates, the trace, stopping rules.

Epoch ``e`` computes the forward pass, loss and gradients with the parameters at its start, then
updates them; :class:`EpochRecord` holds exactly that (the notebook prints the same). With
mini-batches an epoch makes one update per batch and its record holds the mean of the batch
losses, each sample's z and a from its batch's forward pass, and the mean of the batch gradients.
A network is *finite* when its parameters, every ``z`` and its loss are finite on the training
data. Training stops at the first epoch whose updates yield a network that is not finite: that
epoch is not recorded and the last finite network is returned with status ``diverged``.
"""

from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from time import monotonic
from typing import Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from app.nn.errors import NonFiniteError, quiet_floating
from app.nn.losses import Loss
from app.nn.network import ForwardPass, Parameters, compute_gradients, evaluate
from app.nn.optimizers import Optimizer, OptimizerState
from app.nn.types import Array

Status = Literal["completed", "diverged", "target_reached", "deadline_exceeded"]
R = TypeVar("R")
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
    """How training ended: the returned network, its loss and forward pass on the data."""

    status: Status
    epochs_run: int
    final_loss: float
    network: Parameters
    optimizer_state: OptimizerState
    forward: ForwardPass
    diverged_at_epoch: int | None = None
    divergence: str | None = None


@dataclass(frozen=True)
class _Plan:
    """What one training run does: its data, loss, optimizer and schedule."""

    x: Array
    t: Array
    loss: Loss
    optimizer: Optimizer
    epochs: int
    batch_size: int
    shuffle: bool
    seed: int
    loss_below: float | None
    deadline: float | None


@quiet_floating
def _update(
    params: Parameters, grads: Parameters, optimizer: Optimizer, state: OptimizerState
) -> None:
    optimizer.step(state, params, grads)
    if not np.isfinite(params.flat).all():
        raise NonFiniteError("update")


def _reached(value: float, loss_below: float | None) -> bool:
    return loss_below is not None and value <= loss_below


def _minibatch_epoch(
    params: Parameters, plan: _Plan, state: OptimizerState, order: NDArray[np.int64]
) -> tuple[float, ForwardPass, Parameters]:
    """One pass over the data in batches, one update per batch.

    Returns the mean of the batch losses, every sample's z and a (each computed with the
    parameters at the start of its batch, put back in the data's order) and the mean of the
    batch gradients.
    """
    x, t = plan.x, plan.t
    zs = [np.empty((len(x), units)) for units, _ in params.shapes]
    acts = [np.empty_like(z) for z in zs]
    grads, total = params.empty_like(), np.zeros_like(params.flat)
    losses = []
    for start in range(0, len(x), plan.batch_size):
        rows = order[start : start + plan.batch_size]
        fwd, value = evaluate(params, x[rows], t[rows], plan.loss)
        compute_gradients(params, fwd, t[rows], plan.loss, grads)
        _update(params, grads, plan.optimizer, state)
        for z, a, z_batch, a_batch in zip(zs, acts, fwd.z, fwd.a, strict=True):
            z[rows], a[rows] = z_batch, a_batch
        total += grads.flat
        losses.append(value)
    return (
        sum(losses) / len(losses),
        ForwardPass(x, zs, acts),
        params.with_flat(total / len(losses)),
    )


def train(
    params: Parameters,
    x: Array,
    t: Array,
    loss: Loss,
    optimizer: Optimizer,
    epochs: int,
    state: OptimizerState | None = None,
    *,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
    loss_below: float | None = None,
    deadline: float | None = None,
) -> Generator[EpochRecord, None, TrainingResult]:
    """Start training: a generator that yields one :class:`EpochRecord` per epoch, then returns
    the :class:`TrainingResult`.

    ``state`` resumes an earlier run (default: a fresh one). Neither ``params`` nor ``state`` is
    modified. ``batch_size`` (default: all samples) splits each epoch into updates on
    consecutive batches, in the data's order or, with ``shuffle``, in an order drawn from
    ``default_rng([seed, epoch])`` (epochs counted across resumed runs, so resuming reproduces a
    single run). Training stops early when the network's loss on all the data is at or below
    ``loss_below``, and with status ``deadline_exceeded`` after the first epoch that ends past
    ``deadline`` (a ``time.monotonic()`` value). The initial network must be finite on
    ``(x, t)``: otherwise :class:`NonFiniteError` is raised here, before the generator exists.
    """
    params = params.copy()
    state = optimizer.init(params.flat.size) if state is None else state.copy()
    fwd, value = evaluate(params, x, t, loss)
    size = len(x) if batch_size is None else min(batch_size, len(x))
    plan = _Plan(x, t, loss, optimizer, epochs, size, shuffle, seed, loss_below, deadline)
    return _epochs(params, state, fwd, value, plan)


def _epochs(
    params: Parameters, state: OptimizerState, fwd: ForwardPass, value: float, plan: _Plan
) -> Generator[EpochRecord, None, TrainingResult]:
    """The epochs of :func:`train`, from a network already known to be finite."""
    grads = params.empty_like()
    epoch_start, epoch_start_state = params.copy(), state.copy()
    if _reached(value, plan.loss_below):
        return TrainingResult("target_reached", 0, value, params, state, fwd)
    for epoch in range(1, plan.epochs + 1):
        np.copyto(epoch_start.flat, params.flat)
        epoch_start_state.restore(state)
        try:
            if plan.batch_size == len(plan.x):
                compute_gradients(params, fwd, plan.t, plan.loss, grads)
                record = EpochRecord(epoch, value, fwd, grads.copy(), params)
                _update(params, grads, plan.optimizer, state)
            else:
                rng = np.random.default_rng([plan.seed, state.epoch])
                order = rng.permutation(len(plan.x)) if plan.shuffle else np.arange(len(plan.x))
                epoch_loss, epoch_fwd, epoch_grads = _minibatch_epoch(params, plan, state, order)
                record = EpochRecord(epoch, epoch_loss, epoch_fwd, epoch_grads, params)
            fwd, value = evaluate(params, plan.x, plan.t, plan.loss)
        except NonFiniteError as error:
            np.copyto(params.flat, epoch_start.flat)
            state.restore(epoch_start_state)
            reason = (
                f"epoch {epoch}: after its update {error.what} is not finite "
                "(float64 overflow or NaN); a smaller learning rate may help"
            )
            return TrainingResult("diverged", epoch - 1, value, params, state, fwd, epoch, reason)
        state.epoch += 1
        yield replace(record, network=params.copy())
        if _reached(value, plan.loss_below):
            return TrainingResult("target_reached", epoch, value, params, state, fwd)
        if plan.deadline is not None and epoch < plan.epochs and monotonic() >= plan.deadline:
            return TrainingResult("deadline_exceeded", epoch, value, params, state, fwd)
    return TrainingResult("completed", plan.epochs, value, params, state, fwd)


def collect(
    epochs: Generator[R, None, TrainingResult], keep: Callable[[R], T]
) -> tuple[list[T], TrainingResult]:
    """Drain a training generator, keeping ``keep(item)`` of each item as it comes."""
    kept: list[T] = []
    while True:
        try:
            kept.append(keep(next(epochs)))
        except StopIteration as stop:
            return kept, stop.value
