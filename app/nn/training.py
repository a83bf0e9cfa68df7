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
from dataclasses import dataclass
from time import monotonic
from typing import Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from app.nn.errors import NonFiniteError, quiet_floating
from app.nn.losses import Loss
from app.nn.network import ForwardPass, Parameters, Workspace, compute_gradients, evaluate
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
    every: int

    def wanted(self, epoch: int) -> bool:
        """Whether the caller asked for this epoch's record (the last one comes anyway)."""
        return (epoch - 1) % self.every == 0

    def reached(self, value: float) -> bool:
        """Whether loss ``value`` meets the target ``loss_below``."""
        return self.loss_below is not None and value <= self.loss_below

    def stop(self, epoch: int, value: float) -> Status | None:
        """Why training stops after ``epoch`` ended with loss ``value``, if it does."""
        if self.reached(value):
            return "target_reached"
        if epoch == self.epochs:
            return "completed"
        if self.deadline is not None and monotonic() >= self.deadline:
            return "deadline_exceeded"
        return None


def _divergence(epoch: int, error: NonFiniteError) -> str:
    return (
        f"epoch {epoch}: after its update {error.what} is not finite "
        "(float64 overflow or NaN); a smaller learning rate may help"
    )


def _record(epoch: int, before: Parameters, after: Parameters, plan: _Plan) -> EpochRecord:
    """Epoch ``epoch``'s record computed afresh from the parameters at its start; the same calls
    as the training loop's, so the same numbers, for a record that was not kept as it passed.
    Made once the run has ended, so ``after`` is taken as it is."""
    fwd, value = evaluate(before, plan.x, plan.t, plan.loss)
    grads = compute_gradients(before, fwd, plan.t, plan.loss)
    return EpochRecord(epoch, value, fwd, grads, after)


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
    every: int = 1,
) -> Generator[EpochRecord, None, TrainingResult]:
    """Start training: a generator that yields the :class:`EpochRecord` of epochs 1, 1 + every,
    1 + 2·every, … and of the last epoch run, then returns the :class:`TrainingResult`.

    ``state`` resumes an earlier run (default: a fresh one). Neither ``params`` nor ``state`` is
    modified. ``batch_size`` (default: all samples) splits each epoch into updates on
    consecutive batches, in the data's order or, with ``shuffle``, in an order drawn from
    ``default_rng([seed, epoch])`` (epochs counted across resumed runs, so resuming reproduces a
    single run). Training stops early when the network's loss on all the data is at or below
    ``loss_below``, and with status ``deadline_exceeded`` after the first epoch that ends past
    ``deadline`` (a ``time.monotonic()`` value). The initial network must be finite on
    ``(x, t)``: otherwise :class:`NonFiniteError` is raised here, before the generator exists.
    """
    state = optimizer.init(params.flat.size) if state is None else state.copy()
    size = len(x) if batch_size is None else min(batch_size, len(x))
    plan = _Plan(x, t, loss, optimizer, epochs, size, shuffle, seed, loss_below, deadline, every)
    if size == len(x):
        run = _FullBatchRun(params, state, plan)
        return _full_batch_epochs(run)
    params = params.copy()
    fwd, value = evaluate(params, x, t, loss)
    return _minibatch_epochs(params, state, fwd, value, plan)


class _FullBatchRun:
    """Full-batch training on prepared buffers: each epoch replays the workspace's calls.

    The parameters rotate through three buffers, epoch ``e`` writing its update into buffer
    ``e % 3``: the parameters at the start of the last two epochs stay, so a diverged update is
    undone by going back one buffer, and a record not kept as it passed can be recomputed.
    """

    def __init__(self, params: Parameters, state: OptimizerState, plan: _Plan) -> None:
        # Buffers 1 and 2 are written by the updates of epochs 1 and 2 before anything reads them.
        self.buffers = [params.copy(), params.empty_like(), params.empty_like()]
        self.state, self.plan, self.epoch = state, plan, 0
        self.space = Workspace(self.buffers, plan.x, plan.t, plan.loss)
        self.value = quiet_floating(self.space.evaluate)(0)
        self.saved = state.copy()
        self.last_yielded = 0

    def params(self, epoch: int) -> Parameters:
        """The parameters after ``epoch`` updates."""
        return self.buffers[epoch % 3]

    @quiet_floating
    def advance(self) -> tuple[EpochRecord | None, TrainingResult | None]:
        """Train until an epoch to record or the end: the record and, at the end, the result.

        One call runs many epochs under one floating-point error state, between two yields.
        """
        plan, space, state = self.plan, self.space, self.state
        if self.epoch == 0 and plan.reached(self.value):
            return None, self._result("target_reached")
        if plan.epochs == 0:
            return None, self._result("completed")
        while True:
            epoch = self.epoch + 1
            before, after = (epoch - 1) % 3, epoch % 3
            grads = space.gradients(before)
            # The last epoch is known in advance unless the run stops early: keep it as it passes.
            keep = plan.wanted(epoch) or epoch == plan.epochs
            kept = (space.fwd.copy(), grads.copy()) if keep else None
            self.saved.restore(state)
            plan.optimizer.step(
                state, self.buffers[before].flat, grads.flat, self.buffers[after].flat
            )
            try:
                value = space.evaluate(after)
            except NonFiniteError as error:
                updated = np.isfinite(self.buffers[after].flat).all()
                state.restore(self.saved)
                cause = error if updated else NonFiniteError("update")
                return self._last_record(), self._diverged(epoch, cause)
            status = plan.stop(epoch, value)
            # Once the run ends its buffers are never written again: the record takes them as
            # they are, a copy (fresh memory, page faults and all) only while training goes on.
            record = None
            if kept:
                network = self.params(epoch) if status else self.params(epoch).copy()
                record = EpochRecord(epoch, self.value, *kept, network)
            self.epoch, self.value = epoch, value
            state.epoch += 1
            if status is not None:
                return record or self._last_record(), self._result(status)
            if record is not None:
                self.last_yielded = epoch
                return record, None

    def _last_record(self) -> EpochRecord | None:
        """The record of the last epoch run, unless it was already yielded."""
        epoch = self.epoch
        if epoch in (0, self.last_yielded):
            return None
        return _record(epoch, self.params(epoch - 1), self.params(epoch), self.plan)

    def _result(self, status: Status) -> TrainingResult:
        """How the run ended: the ended run hands over its buffers, the returned network's and
        the workspace's forward pass of it."""
        params, fwd = self.params(self.epoch), self.space.fwd
        return TrainingResult(status, self.epoch, self.value, params, self.state, fwd)

    def _diverged(self, epoch: int, error: NonFiniteError) -> TrainingResult:
        """The run ended by a divergence: the workspace holds the refused update's forward pass,
        so that of the returned network is computed again."""
        params = self.params(self.epoch)
        fwd, value = evaluate(params, self.plan.x, self.plan.t, self.plan.loss)
        reason = _divergence(epoch, error)
        return TrainingResult("diverged", self.epoch, value, params, self.state, fwd, epoch, reason)


def _full_batch_epochs(run: _FullBatchRun) -> Generator[EpochRecord, None, TrainingResult]:
    """The epochs of :func:`train` with one batch: records as :meth:`_FullBatchRun.advance`
    hands them over."""
    while True:
        record, result = run.advance()
        if record is not None:
            yield record
        if result is not None:
            return result


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


@quiet_floating
def _update(
    params: Parameters, grads: Parameters, optimizer: Optimizer, state: OptimizerState
) -> None:
    optimizer.step(state, params.flat, grads.flat, params.flat)
    if not np.isfinite(params.flat).all():
        raise NonFiniteError("update")


def _minibatch_epochs(
    params: Parameters, state: OptimizerState, fwd: ForwardPass, value: float, plan: _Plan
) -> Generator[EpochRecord, None, TrainingResult]:
    """The epochs of :func:`train` in mini-batches, from a network known to be finite.

    Each epoch's arrays are new, so the last epoch's record is kept until it is known whether
    the run ends there.
    """
    epoch_start, epoch_start_state = params.copy(), state.copy()
    pending: EpochRecord | None = None
    if plan.reached(value):
        return TrainingResult("target_reached", 0, value, params, state, fwd)
    for epoch in range(1, plan.epochs + 1):
        np.copyto(epoch_start.flat, params.flat)
        epoch_start_state.restore(state)
        try:
            rng = np.random.default_rng([plan.seed, state.epoch])
            order = rng.permutation(len(plan.x)) if plan.shuffle else np.arange(len(plan.x))
            epoch_loss, epoch_fwd, epoch_grads = _minibatch_epoch(params, plan, state, order)
            fwd, value = evaluate(params, plan.x, plan.t, plan.loss)
        except NonFiniteError as error:
            np.copyto(params.flat, epoch_start.flat)
            state.restore(epoch_start_state)
            if pending is not None:
                yield pending
            reason = _divergence(epoch, error)
            return TrainingResult("diverged", epoch - 1, value, params, state, fwd, epoch, reason)
        state.epoch += 1
        record = EpochRecord(epoch, epoch_loss, epoch_fwd, epoch_grads, params.copy())
        pending = None if plan.wanted(epoch) else record
        if pending is None:
            yield record
        status = plan.stop(epoch, value)
        if status is not None:
            if pending is not None:
                yield pending
            return TrainingResult(status, epoch, value, params, state, fwd)
    return TrainingResult("completed", 0, value, params, state, fwd)  # zero epochs asked


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
