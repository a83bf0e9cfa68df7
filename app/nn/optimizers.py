"""Optimizers with PyTorch's exact update rules, over the flat parameter vector.

Each optimizer is a frozen set of hyper-parameters plus two pure-in-spirit functions:
``init(size)`` returns a fresh :class:`OptimizerState` and ``step(state, w, g, out)`` writes the
updated flat parameter vector into ``out`` (``w`` itself, or another buffer so that the old
parameters stay for a rollback) and updates the state in place (one vector operation per rule,
whatever the network's depth). The state is plain arrays and a step count, so it can leave the
server as JSON and come back to resume training exactly where it stopped. Buffers are named as in
PyTorch's optimizer state (:data:`BufferName`); ``buffers`` says which ones a configuration keeps.

Rules follow torch.optim.SGD, torch.optim.Adam and torch.optim.AdamW (``maximize=False``, single
tensor path); the docstrings give the formulas. The defaults are PyTorch's but SGD's learning
rate, the notebook's 0.01. :data:`OPTIMIZERS` is the one table of the options a request names: each
with its ``torch.optim`` class and its defaults, which the request models and the exported scripts
read.
"""

import math
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args

import numpy as np

from app.nn.errors import NonFiniteError
from app.nn.types import Array

OptimizerName = Literal["sgd", "adam", "adamw"]
BufferName = Literal["momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
BUFFER_NAMES: tuple[BufferName, ...] = get_args(BufferName)
MEANS_OF_SQUARES: frozenset[BufferName] = frozenset({"exp_avg_sq", "max_exp_avg_sq"})
"""The buffers that hold running means of squared gradients: never negative."""


@dataclass
class OptimizerState:
    """Updates and epochs so far and the optimizer's per-parameter buffers (flat, named)."""

    step: int = 0
    buffers: dict[BufferName, Array] = field(default_factory=dict)
    epoch: int = 0

    def copy(self) -> "OptimizerState":
        """An independent copy (to roll back an update that diverged)."""
        buffers = {k: v.copy() for k, v in self.buffers.items()}
        return OptimizerState(self.step, buffers, self.epoch)

    def restore(self, other: "OptimizerState") -> None:
        """Take ``other``'s values in place."""
        self.step, self.epoch = other.step, other.epoch
        if not other.buffers:  # plain SGD's: a training run restores a state every epoch
            return
        for name, values in other.buffers.items():
            np.copyto(self.buffers[name], values)


class Optimizer(Protocol):
    """What the training loop needs from an optimizer."""

    @property
    def buffers(self) -> tuple[BufferName, ...]:
        """The state buffers this configuration keeps."""
        ...

    def init(self, size: int) -> OptimizerState:
        """The state before the first update of ``size`` parameters."""
        ...

    def step(self, state: OptimizerState, w: Array, g: Array, out: Array) -> None:
        """Write parameters ``w`` updated with gradient ``g`` into ``out``; update ``state``."""
        ...


@dataclass(frozen=True)
class SGD:
    """torch.optim.SGD. With ``g = ∇ + weight_decay·w``: ``b ← g`` at step 1, then
    ``b ← momentum·b + (1 − dampening)·g``; ``g ← g + momentum·b`` (Nesterov) or ``g ← b``;
    ``w ← w − learning_rate·g``. Without momentum it is plain ``w ← w − learning_rate·g``."""

    learning_rate: float = 0.01
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False

    @property
    def name(self) -> OptimizerName:
        """The name a request gives this optimizer."""
        return "sgd"

    weight_decay: float = 0.0

    @property
    def buffers(self) -> tuple[BufferName, ...]:
        """No buffer without momentum; a momentum buffer otherwise."""
        return ("momentum_buffer",) if self.momentum else ()

    def init(self, size: int) -> OptimizerState:
        """Every buffer at zero."""
        return OptimizerState(0, {name: np.zeros(size) for name in self.buffers})

    def step(self, state: OptimizerState, w: Array, g: Array, out: Array) -> None:
        """One SGD update."""
        if self.weight_decay:
            g = g + self.weight_decay * w
        if self.momentum:
            buf = state.buffers["momentum_buffer"]
            if state.step == 0:
                np.copyto(buf, g)
            else:
                buf *= self.momentum
                buf += (1.0 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        # out = w − learning_rate·g, the same two roundings either way; into a separate out the
        # product goes straight there, sparing a network-sized temporary (written here rather
        # than in a function: a call costs a tenth of a small network's epoch).
        if out is w:
            out -= self.learning_rate * g
        else:
            np.multiply(g, self.learning_rate, out)
            np.subtract(w, out, out)
        state.step += 1


@dataclass(frozen=True)
class Adam:
    """torch.optim.Adam (``decoupled=False``) and AdamW (``decoupled=True``).

    Adam adds ``weight_decay·w`` to the gradient; AdamW first shrinks ``w ← w·(1 − lr·wd)``. Then
    ``m ← m + (1 − β1)(g − m)``, ``v ← β2·v + (1 − β2)·g²`` (with AMSGrad ``v̂ ← max(v̂, v)``
    is used for ``v``), and ``w ← w − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps)``.
    """

    learning_rate: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False
    decoupled: bool = False

    @property
    def name(self) -> OptimizerName:
        """The name a request gives this optimizer: AdamW when the decay is decoupled."""
        return "adamw" if self.decoupled else "adam"

    @property
    def buffers(self) -> tuple[BufferName, ...]:
        """First and second moments (and their running maximum for AMSGrad)."""
        moments: tuple[BufferName, ...] = ("exp_avg", "exp_avg_sq")
        return (*moments, "max_exp_avg_sq") if self.amsgrad else moments

    def init(self, size: int) -> OptimizerState:
        """Every buffer at zero."""
        return OptimizerState(0, {name: np.zeros(size) for name in self.buffers})

    def step(self, state: OptimizerState, w: Array, g: Array, out: Array) -> None:
        """One Adam or AdamW update."""
        if self.decoupled:
            w = w * (1.0 - self.learning_rate * self.weight_decay)
        elif self.weight_decay:
            g = g + self.weight_decay * w
        m, v = state.buffers["exp_avg"], state.buffers["exp_avg_sq"]
        state.step += 1
        m += (1.0 - self.beta1) * (g - m)
        v *= self.beta2
        v += (1.0 - self.beta2) * g * g
        if self.amsgrad:
            v_max = state.buffers["max_exp_avg_sq"]
            np.maximum(v_max, v, out=v_max)
            v = v_max
        # g² can overflow while the update stays finite (it tends to 0), leaving a state that
        # JSON cannot carry: that is divergence too.
        if not math.isfinite(v.max()):
            raise NonFiniteError("state")
        step_size = self.learning_rate / (1.0 - self.beta1**state.step)
        denom = np.sqrt(v) / (1.0 - self.beta2**state.step) ** 0.5 + self.eps
        np.subtract(w, step_size * (m / denom), out=out)


ADAMW_WEIGHT_DECAY = 0.01
"""torch.optim.AdamW's default weight decay (Adam's is 0)."""


@dataclass(frozen=True)
class OptimizerOption:
    """An optimizer a request can name: its ``torch.optim`` class and the engine's optimizer with
    the default settings."""

    torch_class: str
    defaults: SGD | Adam


OPTIMIZERS: dict[OptimizerName, OptimizerOption] = {
    "sgd": OptimizerOption("SGD", SGD()),
    "adam": OptimizerOption("Adam", Adam()),
    "adamw": OptimizerOption("AdamW", Adam(weight_decay=ADAMW_WEIGHT_DECAY, decoupled=True)),
}
"""Every optimizer by name, in the order the API lists them (sgd, the default, first)."""
