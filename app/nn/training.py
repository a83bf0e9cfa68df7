"""The training loop: epochs of updates on batches of the data, the trace, stopping rules.

Epoch ``e`` computes the forward pass, loss and gradients with the parameters at its start, then
updates them; :class:`EpochRecord` holds exactly that (the notebook prints the same). An epoch
makes one update per batch; full-batch training is one batch of all samples. With several
batches an epoch's record holds the mean of the batch losses, each sample's z and a from its
batch's forward pass, and the mean of the batch gradients. A network is *finite* when its
parameters, every ``z`` and its loss are finite on the training data. Training stops at the first
epoch whose updates yield a network that is not finite: that epoch is not recorded and the last
finite network is returned with status ``diverged``. A record holds its epoch, its loss and the
parts of :data:`PARTS` that the run keeps.

With validation data a record also holds the :class:`Validation` of the parameters at the start
of its epoch, computed only for records unless a stopping rule reads it after every epoch:
``validation_loss_below`` (status ``target_reached``) or ``patience``, early stopping: the run
ends with status ``early_stopped`` once ``patience`` epochs in a row have not lowered the best
validation loss seen (strictly), and returns the network that had it, with the optimizer state
it had then. A validation loss that is not finite is None and never an improvement.

A ``deadline`` ends the run with status ``deadline_exceeded`` at the first check past it: after
an epoch, or between two batches of an epoch (so a run goes on at most one batch past it). An epoch
cut between its batches is undone, as a diverged one is: the run returns the network, optimizer
state and records of the epochs it completed, so ``epochs_run``, the trace and ``final_loss``
describe whole epochs and resuming from the result reproduces an uninterrupted run. The last epoch
run has a record then only if it was kept as it passed or is one batch: computing it again would
run an epoch of batches past the deadline.
"""

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from itertools import chain
from operator import length_hint
from time import monotonic
from typing import Literal, cast, get_args
from weakref import ReferenceType, ref

import numpy as np
from numpy.typing import NDArray

from app.nn.errors import NonFiniteError, Quantity, RunCancelledError, quiet_floating
from app.nn.health import LayerHealth, health
from app.nn.losses import Loss
from app.nn.network import (
    ForwardPass,
    Parameters,
    Workspace,
    _forward_buffers,
    accuracy,
    check_update_finite,
    evaluate,
    even,
    forward_size,
)
from app.nn.optimizers import Optimizer, OptimizerState
from app.nn.regularization import Regularization
from app.nn.types import Array

Status = Literal["completed", "diverged", "target_reached", "early_stopped", "deadline_exceeded"]
Part = Literal["outputs", "layers", "gradients", "network", "validation", "health"]
PARTS: tuple[Part, ...] = get_args(Part)
"""What a record can keep: the last layer's z and a (the outputs, what the loss and accuracy
read), every layer's z and a, the gradients, the parameters after the update, the validation,
each layer's health (:mod:`app.nn.health`, computed from every layer's z and a and the
gradients, which it needs kept)."""


@dataclass(frozen=True)
class Validation:
    """A network's loss and accuracy on the validation data: None where not finite (the loss) or
    not defined (the accuracy of a regression loss or of soft targets)."""

    loss: float | None
    accuracy: float | None


@dataclass(frozen=True)
class _Best:
    """The network with the lowest validation loss so far, after ``epoch`` epochs, and the
    optimizer state it was reached with."""

    epoch: int
    params: Parameters
    state: OptimizerState
    validation: Validation

    def beaten_by(self, validation: Validation) -> bool:
        """Whether ``validation`` is an improvement: a finite loss strictly below the best's."""
        loss, best = validation.loss, self.validation.loss
        return loss is not None and (best is None or loss < best)


_Parts = tuple[ForwardPass | None, Parameters | None, Parameters | None]
"""An epoch's forward pass, gradients and network after its update, as its record holds them."""


class EpochRecord:
    """One epoch: values computed at its start and the parameters after its update.

    ``forward`` holds every layer's z and a when the run keeps ``layers``, else the last layer's
    alone when it keeps ``outputs``; a part that the run does not keep is None. ``parts`` are
    ``forward``, ``gradients`` and ``network``; a small full-batch run gives its :class:`_Memory`
    and ``vector``, the bytes of the memory after the epoch's update, instead: they are made from
    them when first read (a record costs one ``bytes`` object, and one read of a part an array
    of those bytes and the views of all three into it).
    """

    __slots__ = ("_memory", "_parts", "_vector", "epoch", "health", "loss", "penalty", "validation")

    def __init__(
        self,
        epoch: int,
        loss: float,
        parts: _Parts | None,
        validation: Validation | None = None,
        penalty: float | None = None,
        health: list[LayerHealth] | None = None,
        memory: "_Memory | None" = None,
        vector: bytes | None = None,
    ) -> None:
        self.epoch, self.loss, self.validation, self.penalty = epoch, loss, validation, penalty
        self.health, self._parts, self._memory, self._vector = health, parts, memory, vector

    def _values(self) -> _Parts:
        parts = self._parts
        if parts is None:
            # The epoch's update wrote buffer epoch % 3, from which on the vector holds the memory.
            memory, vector = cast(_Memory, self._memory), cast(bytes, self._vector)
            parts = self._parts = memory.parts(vector, self.epoch % 3)
            self._memory = self._vector = None
        return parts

    @property
    def forward(self) -> ForwardPass | None:
        """The z and a the run keeps, computed with the parameters at the epoch's start."""
        return self._values()[0]

    @property
    def gradients(self) -> Parameters | None:
        """The gradients at the epoch's start (the mean of its batches'), if kept."""
        return self._values()[1]

    @property
    def network(self) -> Parameters | None:
        """The parameters after the epoch's update, if kept."""
        return self._values()[2]


@dataclass(frozen=True)
class TrainingResult:
    """How training ended: the returned network, its loss and forward pass on the data, its
    validation, and (with ``patience``) how many epochs the best network seen had trained."""

    status: Status
    epochs_run: int
    final_loss: float
    network: Parameters
    optimizer_state: OptimizerState
    forward: ForwardPass
    diverged_at_epoch: int | None = None
    divergence: str | None = None
    validation: Validation | None = None
    best_epoch: int | None = None
    non_finite: tuple[Quantity, int | None] | None = None
    """Diverged: what was not finite first and in which layer (None: not a layer's)."""


_Values = tuple[float, ForwardPass | None, Parameters | None]
"""An epoch's loss, forward pass and gradients, as its record holds them."""

SMALL_MEMORY = 4_096
"""Numbers up to which a full-batch run keeps its parameter buffers, gradients and forward pass
in one vector (:class:`_Memory`), a record being one copy of it; above, a record copies each part
it keeps."""

READ_AHEAD = 64
"""Epochs that a run with such small records trains in a row, under one floating-point error
state (entering one costs as much as a record), before it yields their records."""


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
    keep: frozenset[Part]
    validation: tuple[Array, Array] | None = None
    validation_loss_below: float | None = None
    patience: int | None = None
    cancelled: Callable[[], bool] | None = None
    regularization: Regularization | None = None

    def penalty(self, params: Parameters) -> float | None:
        """The regularization penalty of ``params`` (None without regularization); raises
        :class:`NonFiniteError` if it is not finite."""
        rule = self.regularization
        return None if rule is None else rule.penalty(params)

    def regularize(self, params: Parameters, grads: Parameters) -> None:
        """Add the penalty's gradient at ``params`` to ``grads``, the data loss's: after the
        backward pass, before the optimizer's step."""
        if self.regularization is not None:
            self.regularization.add_gradient(params, grads)

    @property
    def watches(self) -> bool:
        """Whether a stopping rule reads the validation loss after every epoch."""
        return self.validation_loss_below is not None or self.patience is not None

    @property
    def layers(self) -> slice:
        """The layers whose z and a a record keeps: all of them, the last one or none."""
        if "layers" in self.keep:
            return slice(None)
        return slice(-1, None) if "outputs" in self.keep else slice(0)

    def wanted(self, epoch: int) -> bool:
        """Whether the caller asked for this epoch's record (the last one comes anyway)."""
        return (epoch - 1) % self.every == 0

    def reached(self, value: float) -> bool:
        """Whether loss ``value`` meets the target ``loss_below``."""
        return self.loss_below is not None and value <= self.loss_below

    def validation_reached(self, validation: Validation) -> bool:
        """Whether ``validation`` meets the target ``validation_loss_below``."""
        target, loss = self.validation_loss_below, validation.loss
        return target is not None and loss is not None and loss <= target

    def stop(self, epoch: int, value: float) -> Status | None:
        """Why training stops after ``epoch`` ended with loss ``value``, if it does; raises
        :class:`RunCancelledError` when the caller has cancelled the run."""
        if self.loss_below is not None and value <= self.loss_below:  # reached(), inlined
            return "target_reached"
        if epoch == self.epochs:
            return "completed"
        if self.deadline is None and self.cancelled is None:  # nothing to interrupt it
            return None
        return self.interrupted()

    def interrupted(self) -> Status | None:
        """Why training stops now, whatever its results, if it does: the deadline has passed;
        raises :class:`RunCancelledError` when the caller has cancelled the run. Checked after
        each epoch and between the batches of an epoch."""
        if self.deadline is not None and monotonic() >= self.deadline:
            return "deadline_exceeded"
        if self.cancelled is not None and self.cancelled():
            raise RunCancelledError
        return None

    def batches(self, epoch: int) -> list[NDArray[np.int64]]:
        """The rows of each batch in the ``epoch``-th epoch counted from 0 across resumed runs:
        one batch of all the data as it is, or consecutive batches in the data's order or, with
        ``shuffle``, in an order drawn from ``default_rng([seed, epoch])``."""
        samples = len(self.x)
        several = self.batch_size < samples
        if self.shuffle and several:
            order = shuffled(self.seed, epoch, samples)
        else:
            order = np.arange(samples)
        return [
            order[start : start + self.batch_size] for start in range(0, samples, self.batch_size)
        ]


def shuffled(seed: int, epoch: int, samples: int) -> NDArray[np.int64]:
    """The order of the samples in the ``epoch``-th epoch (from 0) of a shuffled run: a
    permutation drawn from ``default_rng([seed, epoch])``."""
    return np.random.default_rng([seed, epoch]).permutation(samples)


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
    keep: Collection[Part] = PARTS,
    validation: tuple[Array, Array] | None = None,
    validation_loss_below: float | None = None,
    patience: int | None = None,
    cancelled: Callable[[], bool] | None = None,
    regularization: Regularization | None = None,
) -> "Run":
    """Start training: the :class:`Run` of ``epochs`` epochs from ``params`` on ``(x, t)``.

    ``state`` resumes an earlier run (default: a fresh one). Neither ``params`` nor ``state`` is
    modified. ``batch_size`` (default: all samples) splits each epoch into updates on
    consecutive batches, in the data's order or, with ``shuffle``, in an order drawn from
    ``default_rng([seed, epoch])`` (epochs counted across resumed runs, so resuming reproduces a
    single run). Training stops early when the network's loss on all the data is at or below
    ``loss_below``, and with status ``deadline_exceeded`` once ``deadline`` (a
    ``time.monotonic()`` value) has passed, after an epoch or between two batches (that epoch is
    then undone, see the module's docstring). Each record keeps the parts named in ``keep``
    (default: all of them). ``validation``, inputs and targets, is what records and the result
    measure the :class:`Validation` on; ``validation_loss_below`` and ``patience`` stop on it
    (they need it). ``cancelled``, asked where the deadline is (after every epoch that does not
    end the run and between the batches of an epoch), stops it by raising
    :class:`RunCancelledError` from the iteration when it returns True (the caller's client has
    gone). ``regularization`` adds its penalty's gradient to every update's; the loss stays the
    data loss (stopping rules read it) and each record holds the penalty of the parameters at
    its epoch's start beside it; a penalty that is not finite is divergence. The initial network
    must be finite on ``(x, t)``: otherwise :class:`NonFiniteError` is raised here, before the
    run exists.
    """
    if validation is None and (validation_loss_below is not None or patience is not None):
        raise ValueError("validation_loss_below and patience need validation data")
    state = optimizer.init(params.flat.size) if state is None else state.copy()
    size = len(x) if batch_size is None else min(batch_size, len(x))
    parts = frozenset(keep) - (frozenset() if validation is not None else {"validation"})
    plan = _Plan(
        x, t, loss, optimizer, epochs, size, shuffle, seed, loss_below, deadline, every, parts,
        validation, validation_loss_below, patience, cancelled, regularization,
    )  # fmt: skip
    return Run(params, state, plan)


class Run(chain[EpochRecord]):
    """A training run: iterating over it trains, yielding the :class:`EpochRecord` of epochs 1,
    1 + every, 1 + 2·every, … and of the last epoch run (not always past a deadline, see the
    module's docstring); then :attr:`result` holds how it ended.

    The parameters rotate through three buffers, epoch ``e`` writing its updates into buffer
    ``e % 3``, and the optimizer state at the start of each of the last two epochs is kept: a
    diverged epoch, or one cut between its batches, is undone by going back one buffer, and the
    last epoch's record, unless it was kept as it passed, is computed again from that epoch's
    start into the third buffer (past the deadline, only if that epoch is one batch). One batch
    replays the prepared calls of a :class:`Workspace` on these buffers, allocating nothing per
    epoch, and mini-batches those of a workspace per batch size (:class:`_Batches`); the
    validation data has a forward-only workspace on the same buffers. A small full-batch run
    lays the buffers and its workspace out in one :class:`_Memory` and trains up to
    :data:`READ_AHEAD` epochs at a time, queueing their records.

    A run is an :class:`itertools.chain` of the lists of records that it queues (:class:`_Lists`
    trains it to each next list), so that yielding a record is C alone: a ``__next__`` written in
    Python costs about 0.1 µs a record, as much as one more NumPy call on a small run's epoch.
    """

    __slots__ = (
        "__weakref__", "ahead", "best", "buffers", "checks", "ended", "epoch", "held", "memory",
        "minibatches", "penalty", "pending", "plan", "records", "shown", "space", "starts",
        "state", "value",
    )  # fmt: skip

    def __new__(cls, params: Parameters, state: OptimizerState, plan: _Plan) -> "Run":
        lists = _Lists()
        run = cast(Run, cls.from_iterable(lists))
        lists.run = ref(run)
        return run

    def __init__(self, params: Parameters, state: OptimizerState, plan: _Plan) -> None:
        one_batch = plan.batch_size == len(plan.x)
        self.memory = _Memory.fitting(params, plan) if one_batch else None
        # The records queued by the last call to train, and the iterator the chain yields them by.
        self.pending: list[EpochRecord] = []
        self.records = iter(self.pending)
        self.shown = 0  # the epoch of the last record of the lists yielded before
        self.ahead = 1 if self.memory is None else READ_AHEAD
        if self.memory is None:
            # Buffers 1 and 2 are written by the updates of epochs 1 and 2 before anything reads
            # them.
            self.buffers = [params.copy(), params.empty_like(), params.empty_like()]
        else:
            self.buffers = self.memory.buffers
        self.state, self.plan, self.epoch = state, plan, 0
        self.starts = [state.copy(), state.copy()]
        self.space = Workspace(
            self.buffers, plan.x, plan.t, plan.loss, backward=one_batch, outputs=False,
            memory=None if self.memory is None else self.memory.workspace,
        )  # fmt: skip
        # One batch computes a last record again with a workspace of its own, made then.
        self.minibatches = None if one_batch else _Batches(self.buffers, plan)
        self.checks = None
        if plan.validation is not None:
            self.checks = Workspace(
                self.buffers, *plan.validation, plan.loss, backward=False, outputs=False
            )
        # With a stopping rule on it, the validation of the network in hand and the best one.
        self.held: Validation | None = None
        self.best: _Best | None = None
        self.ended = self._begin()

    @quiet_floating
    def _begin(self) -> TrainingResult | None:
        """Evaluate the initial network; the result if it ends the run before any epoch."""
        plan = self.plan
        self.value = self.space.evaluate(0)
        self.penalty = plan.penalty(self.buffers[0])
        if plan.watches:
            self.held = self._validate(0)
            if plan.patience is not None:
                self.best = _Best(0, self.buffers[0].copy(), self.state.copy(), self.held)
            if plan.validation_reached(self.held):
                return self._result("target_reached")
        if plan.reached(self.value):
            return self._result("target_reached")
        return self._result("completed") if plan.epochs == 0 else None

    def _next_list(self) -> Iterator[EpochRecord]:
        """Train to the next records, unless the run has ended, and iterate over them; raises
        :class:`StopIteration` when there are none."""
        if self.pending:
            self.shown = self.pending[-1].epoch
        self.pending = pending = cast(list[EpochRecord], [])
        if self.ended is None:
            self._fill()
        if not pending:
            raise StopIteration
        self.records = records = iter(pending)
        return records

    @quiet_floating
    def _fill(self) -> None:
        """Train to the next record and on to those within :attr:`ahead` epochs, or to the end,
        under one floating-point error state, queueing the records."""
        self._advance(self.epoch + self.ahead)

    def _queue(self, record: EpochRecord | None) -> None:
        """Queue ``record``, if any, to be yielded."""
        if record is not None:
            self.pending.append(record)

    def epochs_to_next_record(self) -> int:
        """How many epochs the run trains before its next record (at most, since it may stop
        early), counted from the record before; 0 once it has ended. A queued record's epochs
        are counted as if trained as it is yielded (they take no time then)."""
        left = length_hint(self.records)
        if left:
            pending = self.pending
            shown = len(pending) - left  # records yielded from this list
            return pending[shown].epoch - (pending[shown - 1].epoch if shown else self.shown)
        if self.ended is not None:
            return 0
        every, epoch = self.plan.every, self.epoch
        following = epoch + every - (epoch - 1) % every  # the next of 1, 1 + every, ...
        return min(following, self.plan.epochs) - epoch

    @property
    def result(self) -> TrainingResult:
        """How the run ended, once its records are exhausted."""
        if self.ended is None or length_hint(self.records):
            raise RuntimeError("the run has not ended: iterate over its records first")
        return self.ended

    def _advance(self, until: int) -> None:
        """Train to the next epoch to record, and on to those up to epoch ``until``, or to the
        end, queueing the records of the epochs it trains and then the last one, if any is left
        to yield."""
        plan, space, state, memory = self.plan, self.space, self.state, self.memory
        one_batch, watches, pending = plan.batch_size == len(plan.x), plan.watches, self.pending
        # Asked once here rather than per epoch: without them an epoch pays nothing for them.
        penalized, validates = plan.regularization is not None, "validation" in plan.keep
        lazy = memory is not None and "health" not in plan.keep
        every, epochs, step = plan.every, plan.epochs, plan.optimizer.step
        buffers, starts = self.buffers, self.starts
        gradients, evaluate = space.gradients, space.evaluate
        # A record's copy of the memory is a bytes object: under half an array's cost, made and
        # freed, on a small run (an array of it is made if the record is read).
        snapshots = None if memory is None else [tail.tobytes for tail in memory.tails]
        # A queued record ends the call once the next one would be past ``until``.
        last = until - every if epochs > until else epochs
        # A state without buffers (plain SGD's) is its step and epoch: kept without a call. Without
        # a target, deadline or cancellation only the last epoch ends the run: asked without one.
        plain = not state.buffers
        only_epochs = not watches and plan.loss_below is None and plan.deadline is None
        only_epochs = only_epochs and plan.cancelled is None
        new_record = object.__new__
        while True:
            epoch = self.epoch + 1
            which = epoch % 3
            before, after = buffers[(epoch - 1) % 3], buffers[which]
            # The last epoch is known in advance unless the run stops early: keep it as it passes.
            wanted = (epoch - 1) % every == 0 or epoch == epochs
            start = starts[epoch % 2]
            if plain:
                start.step, start.epoch = state.step, state.epoch
            else:
                start.restore(state)
            copied = None
            try:
                if one_batch:
                    grads = gradients((epoch - 1) % 3)
                    if penalized:
                        plan.regularize(before, grads)
                    if snapshots is None or not wanted:
                        values = self._copies(grads) if wanted else (self.value, None, None)
                    else:
                        values = (self.value, None, None)
                        if space.output_ops:  # a loss from logits has not written them
                            space.outputs()
                    step(state, before.flat, grads.flat, after.flat)
                    if snapshots is not None and wanted:
                        copied = snapshots[which]()
                else:
                    values = cast(_Batches, self.minibatches).epoch(
                        (epoch - 1) % 3, epoch % 3, state, wanted, interruptible=True
                    )
                value = evaluate(which)
                penalty = plan.penalty(after) if penalized else None
            except NonFiniteError as error:
                state.restore(start)
                self._queue(self._diverged(epoch, error, after))
                return
            except _EpochCutError as cut:
                state.restore(start)
                self.ended = self._result(cut.status)
                self._queue(self._last_record())
                return
            started_with, self.penalty = self.penalty, penalty
            self.epoch, self.value = epoch, value
            state.epoch += 1
            validation = self._started(epoch) if wanted and validates else None
            status: Status | None
            if only_epochs:
                status = "completed" if epoch == epochs else None
            else:
                status = self._watch(epoch, value) if watches else plan.stop(epoch, value)
            record = None
            if copied is not None:
                if lazy:
                    # EpochRecord(epoch, values[0], None, validation, started_with, None, memory,
                    # copied) without the call of __init__, half a lazy record's cost.
                    record = new_record(EpochRecord)
                    record.epoch, record.loss, record.validation = epoch, values[0], validation
                    record.penalty, record.health, record._parts = started_with, None, None
                    record._memory, record._vector = memory, copied
                else:
                    parts = cast(_Memory, memory).parts(copied, which)
                    checkup = self._health(before, after, (values[0], *parts[:2]))
                    record = EpochRecord(epoch, values[0], parts, validation, started_with, checkup)
            elif wanted:
                network = self._network(after, status is not None)
                checkup = self._health(before, after, values)
                parts = (values[1], values[2], network)
                record = EpochRecord(epoch, values[0], parts, validation, started_with, checkup)
            if status is not None:
                self.ended = self._result(status)
                self._queue(record or self._last_record())
                return
            if record is not None:
                pending.append(record)
                if epoch > last:
                    return

    def _started(self, epoch: int) -> Validation | None:
        """The validation of the network at the start of ``epoch`` for its record, if kept."""
        if "validation" not in self.plan.keep:
            return None
        if self.held is not None:  # still that of the network before this epoch's update
            return self.held
        return self._validate((epoch - 1) % 3)

    def _watch(self, epoch: int, value: float) -> Status | None:
        """Validate the network after ``epoch`` (loss ``value``), keep it if it is the best so
        far, and say why training stops after it, if it does."""
        plan = self.plan
        held = self.held = self._validate(epoch % 3)
        if plan.reached(value) or plan.validation_reached(held):
            return "target_reached"
        best = self.best
        if best is not None:
            if best.beaten_by(held):
                params, state = self.buffers[epoch % 3].copy(), self.state.copy()
                self.best = best = _Best(epoch, params, state, held)
            if epoch - best.epoch >= cast(int, plan.patience):
                return "early_stopped"
        return plan.stop(epoch, value)

    def _validate(self, which: int) -> Validation:
        """The validation of parameter buffer ``which``: loss and accuracy (None if the forward
        pass or the loss is not finite). Called under :func:`quiet_floating`, like the epochs."""
        checks, plan = cast(Workspace, self.checks), self.plan
        try:
            value = checks.evaluate(which)
        except NonFiniteError:
            return Validation(None, None)
        return Validation(value, accuracy(checks.fwd, checks.t, plan.loss))

    def _last_record(self) -> EpochRecord | None:
        """The record of the last epoch run, computed again from its start, unless it was
        yielded already or the deadline has passed and that would take more than one batch."""
        epoch, plan = self.epoch, self.plan
        if epoch == 0 or plan.wanted(epoch):
            return None
        ended = cast(TrainingResult, self.ended)
        if ended.status == "deadline_exceeded" and plan.batch_size < len(plan.x):
            return None
        before = self.buffers[(epoch - 1) % 3]
        state = self.starts[epoch % 2].copy()
        batches = self.minibatches or _Batches(self.buffers, plan)
        # The third buffer holds nothing the run still needs: the refused update, the one of an
        # epoch cut short, or the start of the epoch before.
        values = batches.epoch((epoch - 1) % 3, (epoch + 1) % 3, state, True, interruptible=False)
        validation = None
        if "validation" in self.plan.keep:
            validation = self._validate((epoch - 1) % 3)
        after = self.buffers[epoch % 3]
        network = self._network(after, ended=True)
        checkup = self._health(before, after, values)
        penalty = self.plan.penalty(before)
        parts = (values[1], values[2], network)
        return EpochRecord(epoch, values[0], parts, validation, penalty, checkup)

    def _health(
        self, before: Parameters, after: Parameters, values: _Values
    ) -> list[LayerHealth] | None:
        """Each layer's health in the epoch from ``before`` to ``after``, if the run keeps it."""
        _, fwd, grads = values
        if "health" not in self.plan.keep or fwd is None or grads is None:
            return None
        return health(before, after, fwd, grads)

    def _copies(self, grads: Parameters) -> _Values:
        """A full-batch epoch's record values, copied from the workspace (the next epoch
        overwrites it) as far as the run keeps them."""
        fwd = _layers(self.space.outputs(), self.plan.layers)
        gradients = grads.copy() if "gradients" in self.plan.keep else None
        return self.value, None if fwd is None else fwd.copy(), gradients

    def _network(self, params: Parameters, ended: bool) -> Parameters | None:
        """The parameters after an epoch for its record, if the run keeps them.

        Once the run has ended its buffers are never written again: the record takes them as they
        are, a copy (fresh memory, page faults and all) only while training goes on.
        """
        if "network" not in self.plan.keep:
            return None
        return params if ended else params.copy()

    def _result(self, status: Status) -> TrainingResult:
        """How the run ended: the ended run hands over its buffers, the returned network's and
        the workspace's forward pass of it; early stopped, the best network and its state."""
        best_epoch = None if self.best is None else self.best.epoch
        if status == "early_stopped":
            best = cast(_Best, self.best)
            fwd, value = evaluate(best.params, self.plan.x, self.plan.t, self.plan.loss)
            return TrainingResult(
                status, self.epoch, value, best.params, best.state, fwd,
                validation=best.validation, best_epoch=best_epoch,
            )  # fmt: skip
        params, fwd = self.buffers[self.epoch % 3], self.space.outputs()
        return TrainingResult(
            status, self.epoch, self.value, params, self.state, fwd,
            validation=self._held(), best_epoch=best_epoch,
        )  # fmt: skip

    def _held(self) -> Validation | None:
        """The validation of the network in hand (that of buffer ``epoch % 3``), if any."""
        if self.held is not None or self.checks is None:
            return self.held
        return self._validate(self.epoch % 3)

    def _diverged(
        self, epoch: int, error: NonFiniteError, updated: Parameters
    ) -> EpochRecord | None:
        """End the run at ``epoch``, whose updates yielded the network ``updated``, not finite
        (``error`` says where it showed, unless a parameter itself is not finite); returns the
        last record if it was not yielded.

        The workspace may hold the refused network's forward pass, so that of the returned
        network is computed again.
        """
        # The optimizer's own check of its state stops before it writes ``updated``.
        if error.quantity != "state":
            try:
                check_update_finite(updated)
            except NonFiniteError as update:
                error = update
        params = self.buffers[self.epoch % 3]
        fwd, value = evaluate(params, self.plan.x, self.plan.t, self.plan.loss)
        reason = (
            f"epoch {epoch}: after its update {error.what} is not finite "
            "(float64 overflow or NaN); a smaller learning rate may help"
        )
        best_epoch = None if self.best is None else self.best.epoch
        self.ended = TrainingResult(
            "diverged", self.epoch, value, params, self.state, fwd, epoch, reason,
            self._held(), best_epoch, (error.quantity, error.layer),
        )  # fmt: skip
        return self._last_record()


class _Lists:
    """What a :class:`Run` chains: the lists of records it queues, each trained for as it is
    asked for. It holds the run by a weak reference, so that the run, which holds it, makes no
    reference cycle and is freed with its buffers as soon as its caller drops it."""

    run: "ReferenceType[Run]"

    def __iter__(self) -> "_Lists":
        return self

    def __next__(self) -> Iterator[EpochRecord]:
        # The run is the chain that asks: it is alive.
        return cast(Run, self.run())._next_list()


def _layers(fwd: ForwardPass, layers: slice) -> ForwardPass | None:
    """The z and a of ``fwd``'s ``layers`` (the same arrays), None for no layer."""
    z = fwd.z[layers]
    return ForwardPass(fwd.x, z, fwd.a[layers]) if z else None


class _EpochCutError(Exception):
    """An epoch cut between two of its batches: the run ends with ``status``."""

    def __init__(self, status: Status) -> None:
        super().__init__(status)
        self.status = status


class _Batches:
    """Mini-batch passes prepared once per run: a :class:`Workspace` for the batch size and one
    for a last partial batch, each with the calls for every parameter buffer of the run and its
    own input and target buffers, into which each batch gathers its rows. An epoch replays them:
    no batch builds an array or a call, and what is left to allocate is the loss's and the
    optimizer's temporaries and a record's copies."""

    def __init__(self, buffers: list[Parameters], plan: _Plan) -> None:
        self.buffers, self.plan = buffers, plan
        x, t, size = plan.x, plan.t, plan.batch_size
        self.spaces = {
            rows: Workspace(buffers, np.empty((rows, x.shape[1])), np.empty((rows, t.shape[1])),
                            plan.loss, outputs=False)
            for rows in {size, len(x) % size} - {0}
        }  # fmt: skip

    def epoch(
        self, before: int, after: int, state: OptimizerState, wanted: bool, *, interruptible: bool
    ) -> _Values:
        """One epoch: an update per batch, from parameter buffer ``before`` into ``after``.

        Returns the mean of the batch losses and, if the epoch's record is ``wanted``, the parts
        the run keeps: the z and a of each sample (computed with the parameters at the start of
        its batch, put back in the data's order) and the mean of the batch gradients. When
        ``interruptible``, :class:`_EpochCutError` is raised before any batch but the first once
        :meth:`_Plan.interrupted` says so (``after`` and ``state`` are then partly updated).
        """
        plan, buffers = self.plan, self.buffers
        x, t, step = plan.x, plan.t, plan.optimizer.step
        out = buffers[after]
        layers = plan.layers if wanted else slice(0)
        zs = [np.empty((len(x), units)) for units, _ in out.shapes[layers]]
        acts = [np.empty_like(z) for z in zs]
        total = np.zeros_like(out.flat) if wanted and "gradients" in plan.keep else None
        losses: list[float] = []
        which = before
        for rows in plan.batches(state.epoch):
            if interruptible and losses:
                status = plan.interrupted()
                if status is not None:
                    raise _EpochCutError(status)
            space = self.spaces[len(rows)]
            x.take(rows, 0, space.fwd.x)  # the method costs half of np.take per call
            t.take(rows, 0, space.t)
            losses.append(space.evaluate(which))
            grads = space.gradients(which)
            plan.regularize(buffers[which], grads)
            # The step of the update: the batch's gradients in, the parameters after it out.
            step(state, buffers[which].flat, grads.flat, out.flat)
            which = after
            if zs:
                fwd = space.outputs()
                for z, a, z_batch, a_batch in zip(
                    zs, acts, fwd.z[layers], fwd.a[layers], strict=True
                ):
                    z[rows], a[rows] = z_batch, a_batch
            if total is not None:
                total += grads.flat
        forward = ForwardPass(x, zs, acts) if zs else None
        gradients = None if total is None else out.with_flat(total / len(losses))
        return sum(losses) / len(losses), forward, gradients


class _Memory:
    """A small full-batch run's three parameter buffers and its workspace's gradients, z and a
    (:class:`Workspace`'s ``memory``) in one vector, in that order.

    The record of an epoch whose update wrote buffer ``which`` takes the bytes of the vector from
    that buffer on, in one call: that buffer, the later ones and the workspace. Its parts are views
    into an array of them, made when first read (:meth:`parts`).
    """

    def __init__(self, params: Parameters, plan: _Plan, passes: int) -> None:
        self.params, self.plan = params, plan
        self.stride = stride = even(params.flat.size)
        self.vector = np.empty(4 * stride + passes)
        flats = [self.vector[k * stride : k * stride + params.flat.size] for k in range(3)]
        np.copyto(flats[0], params.flat)
        self.buffers = [params.with_flat(flat) for flat in flats]
        self.workspace = self.vector[3 * stride :]
        self.tails = [self.vector[k * stride :] for k in range(3)]

    @classmethod
    def fitting(cls, params: Parameters, plan: _Plan) -> "_Memory | None":
        """The memory of a full-batch run on ``params``, if it holds at most
        :data:`SMALL_MEMORY` numbers."""
        z, a = forward_size(params.activations, len(plan.x), params.shapes)
        passes = even(z) + a
        if 4 * even(params.flat.size) + passes > SMALL_MEMORY:
            return None
        return cls(params, plan, passes)

    def parts(self, snapshot: bytes, which: int) -> _Parts:
        """The forward pass, gradients and network in a record's ``snapshot``, the bytes of the
        memory from buffer ``which`` on, each as the run keeps it: views into a writable array of
        them."""
        vector = np.frombuffer(snapshot).copy()
        params, keep, size = self.params, self.plan.keep, self.params.flat.size
        start = (3 - which) * self.stride  # of the workspace in the copy
        network = params.with_flat(vector[:size]) if "network" in keep else None
        gradients = None
        if "gradients" in keep:
            gradients = params.with_flat(vector[start : start + size])
        passes = vector[start + self.stride :]
        _, zs, acts = _forward_buffers(params.activations, len(self.plan.x), params.shapes, passes)
        fwd = _layers(ForwardPass(self.plan.x, zs, acts), self.plan.layers)
        return fwd, gradients, network
