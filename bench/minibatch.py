"""Mini-batch benchmarks: app.nn.training.train against a hand-written NumPy loop in the same run.

* ``minibatch``: the 200-sample spiral of ``/datasets`` (two arms, seed 0), a 2-16-16-2 network
  (tanh, tanh, softmax; Xavier-uniform, seed 0), cross-entropy, batches of 10 (20 updates per
  epoch), with SGD at 0.03 in the data's order and shuffled, SGD with momentum 0.9 and Adam at
  0.01, both shuffled. The baseline is the loop a person writes in NumPy for the same updates:
  per batch the rows taken (in the engine's documented order when shuffled), the forward pass,
  the batch loss (what an epoch's mean loss is made of), the backward pass and the optimizer's
  update of each layer's W and b by torch.optim's rules, nothing more. The engine does a little
  more each epoch by contract: its loss on all the data after the epoch (what ``loss_below`` and
  the divergence check read) and a deadline check between batches. Both run on this one thread
  (no product here reaches BLAS's threads), so the figure is the thread's CPU time.
* ``validation``: the same SGD run shuffled, with the 50 held-out samples of a 0.25 split as
  validation data and a record every 25 epochs (records of the loss and the validation only, as
  the playground asks for them), against the same run without validation data: validation is
  computed for the recorded epochs only, so it should hardly show.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.nn.activations import ActivationName
from app.nn.datasets import draw, one_hot, split
from app.nn.init import initialize
from app.nn.losses import LOSSES
from app.nn.network import Parameters
from app.nn.optimizers import SGD, Adam, Optimizer
from app.nn.training import Part, TrainingResult, train
from app.nn.types import Array
from bench.common import Result, Target, median, spread, timed
from bench.engine import drain

MINIBATCH_TARGET = Target(1.2)
VALIDATION_TARGET = Target(1.1)
SIZES = (2, 16, 16, 2)
ACTIVATIONS: tuple[ActivationName, ...] = ("tanh", "tanh", "softmax")
SAMPLES, BATCH, SEED = 200, 10, 0
AGREEMENT = 1e-9
"""The largest relative difference allowed between the engine's final weights and the loop's:
the same arithmetic but for the order of a few sums (BLAS's, per layer or over the flat vector)."""


@dataclass(frozen=True)
class Case:
    """One mini-batch run: its name, the engine's optimizer, whether batches are shuffled."""

    name: str
    optimizer: SGD | Adam
    shuffle: bool


CASES = (
    Case("SGD 0.03", SGD(0.03), False),
    Case("SGD 0.03, shuffled", SGD(0.03), True),
    Case("SGD 0.03 momentum 0.9, shuffled", SGD(0.03, momentum=0.9), True),
    Case("Adam 0.01, shuffled", Adam(0.01), True),
)


def spiral() -> tuple[Parameters, Array, Array]:
    """The network and the 200 samples (one-hot targets) of the benchmarks."""
    inputs, labels = draw(
        "spiral", np.random.default_rng(SEED), SAMPLES, 0.0, {"arms": 2, "turns": 1.0}
    )
    params = initialize(SIZES, ACTIVATIONS, "xavier_uniform", SEED)
    return params, inputs, one_hot(labels, SIZES[-1])


def hand_loop(
    params: Parameters, x: Array, t: Array, epochs: int, case: Case
) -> tuple[list[Array], list[float]]:
    """Mini-batch training of a tanh, tanh, softmax network with cross-entropy in plain NumPy,
    each layer's W and b updated by ``case``'s optimizer; returns ``[W1, b1, W2, b2, W3, b3]``
    at the end and each epoch's mean batch loss."""
    (W1, b1), (W2, b2), (W3, b3) = ((W.copy(), b.copy()) for W, b in params.layers)
    weights = [W1, b1, W2, b2, W3, b3]
    update = _update(case.optimizer, weights)
    samples, losses = len(x), []
    for epoch in range(epochs):
        order = np.random.default_rng([SEED, epoch]).permutation(samples) if case.shuffle else None
        total = 0.0
        for start in range(0, samples, BATCH):
            if order is None:
                xb, tb = x[start : start + BATCH], t[start : start + BATCH]
            else:
                rows = order[start : start + BATCH]
                xb, tb = x[rows], t[rows]
            n = len(xb)
            a1 = np.tanh(xb @ W1.T + b1)
            a2 = np.tanh(a1 @ W2.T + b2)
            z3 = a2 @ W3.T + b3
            shifted = z3 - z3.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            total += -np.sum(tb * (shifted - np.log(e.sum(axis=1, keepdims=True)))) / n
            dz3 = (e / e.sum(axis=1, keepdims=True) - tb) / n
            dz2 = (dz3 @ W3) * (1.0 - a2 * a2)
            dz1 = (dz2 @ W2) * (1.0 - a1 * a1)
            update(
                [
                    dz1.T @ xb,
                    dz1.sum(axis=0),
                    dz2.T @ a1,
                    dz2.sum(axis=0),
                    dz3.T @ a2,
                    dz3.sum(axis=0),
                ]
            )
        losses.append(total / math.ceil(samples / BATCH))
    return weights, losses


def _update(optimizer: SGD | Adam, weights: list[Array]) -> Callable[[list[Array]], None]:
    """The update of each array of ``weights`` by its gradient, as torch.optim documents it."""
    lr = optimizer.learning_rate
    if isinstance(optimizer, Adam):
        beta1, beta2, eps = optimizer.beta1, optimizer.beta2, optimizer.eps
        m = [np.zeros_like(w) for w in weights]
        v = [np.zeros_like(w) for w in weights]
        steps = [0]

        def adam(grads: list[Array]) -> None:
            steps[0] += 1
            step_size = lr / (1.0 - beta1 ** steps[0])
            root = (1.0 - beta2 ** steps[0]) ** 0.5
            for w, g, m_w, v_w in zip(weights, grads, m, v, strict=True):
                m_w += (1.0 - beta1) * (g - m_w)
                v_w *= beta2
                v_w += (1.0 - beta2) * g * g
                w -= step_size * (m_w / (np.sqrt(v_w) / root + eps))

        return adam
    if optimizer.momentum:
        momentum, buffers = optimizer.momentum, [np.zeros_like(w) for w in weights]

        def sgd_momentum(grads: list[Array]) -> None:
            for w, g, b in zip(weights, grads, buffers, strict=True):
                b *= momentum
                b += g  # the first step's buffer is g itself: momentum times zeros, plus g
                w -= lr * b

        return sgd_momentum

    def sgd(grads: list[Array]) -> None:
        for w, g in zip(weights, grads, strict=True):
            w -= lr * g

    return sgd


def _engine(
    params: Parameters, x: Array, t: Array, epochs: int, optimizer: Optimizer, shuffle: bool,
    every: int, keep: tuple[Part, ...] = (), validation: tuple[Array, Array] | None = None,
) -> TrainingResult:  # fmt: skip
    """train() in batches of 10 to its end, the records dropped as they come."""
    run = train(
        params, x, t, LOSSES["cross_entropy"], optimizer, epochs, batch_size=BATCH,
        shuffle=shuffle, seed=SEED, every=every, keep=keep, validation=validation,
    )  # fmt: skip
    return drain(run)


def _difference(result: TrainingResult, expected: list[Array]) -> float:
    """The largest difference between the engine's final weights and the loop's, relative to
    the largest weight of each array."""
    got = [array for layer in result.network.layers for array in layer]
    return max(
        float(np.max(np.abs(g - e)) / np.max(np.abs(e))) for g, e in zip(got, expected, strict=True)
    )


def minibatch(epochs: int, repeat: int) -> list[Result]:
    """Time per epoch of train() in batches of 10 vs the hand-written loop, for each case."""
    params, x, t = spiral()
    results = []
    for case in CASES:

        def run_engine(case: Case = case) -> TrainingResult:
            return _engine(params, x, t, epochs, case.optimizer, case.shuffle, every=epochs)

        def run_hand(case: Case = case) -> tuple[list[Array], list[float]]:
            return hand_loop(params, x, t, epochs, case)

        base_times, engine_times = [], []
        for _ in range(repeat):  # interleaved, so that a burst of load elsewhere hits both alike
            seconds, (expected, _) = timed(run_hand, time.thread_time)
            base_times.append(seconds / epochs)
            seconds, result = timed(run_engine, time.thread_time)
            engine_times.append(seconds / epochs)
        error = _difference(result, expected)
        agree = error <= AGREEMENT
        print(
            f"  minibatch, {case.name}, {epochs} epochs × {repeat}, CPU time of the thread: "
            f"NumPy loop {spread(base_times, 'ms', 1e3)}/epoch, engine "
            f"{spread(engine_times, 'ms', 1e3)}/epoch; final weights' max relative "
            f"difference {error:.2g}"
        )
        measured, baseline = median(engine_times), median(base_times)
        results.append(
            Result(
                f"engine, spiral 2-16-16-2, batches of 10, {case.name}, {epochs} epochs",
                f"{measured * 1e3:.3f} ms/epoch",
                f"{baseline * 1e3:.3f} ms/epoch (NumPy loop)",
                measured / baseline,
                MINIBATCH_TARGET,
                checks_ok=agree,
                note="" if agree else f"weights differ by {error:.2g} relative",
            )
        )
    return results


def validation(epochs: int, repeat: int) -> Result:
    """Time per epoch of a shuffled SGD run with validation data vs the same run without."""
    params, inputs, targets = spiral()
    x, t, held_x, held_t = split(inputs, targets, SAMPLES // 4)
    every, optimizer = 25, SGD(0.03)

    def plain() -> TrainingResult:
        return _engine(params, x, t, epochs, optimizer, True, every, ("network",))

    def validated() -> TrainingResult:
        return _engine(
            params,
            x,
            t,
            epochs,
            optimizer,
            True,
            every,
            ("network", "validation"),
            (held_x, held_t),
        )

    base_times, measured_times = [], []
    for _ in range(repeat):
        seconds, expected = timed(plain, time.thread_time)
        base_times.append(seconds / epochs)
        seconds, result = timed(validated, time.thread_time)
        measured_times.append(seconds / epochs)
    same = bool((result.network.flat == expected.network.flat).all())
    print(
        f"  validation, {epochs} epochs × {repeat}, a record every {every}: without "
        f"{spread(base_times, 'ms', 1e3)}/epoch, with {spread(measured_times, 'ms', 1e3)}/epoch; "
        f"same final weights (==): {same}"
    )
    measured, baseline = median(measured_times), median(base_times)
    return Result(
        f"engine, spiral 150 + 50 validation samples, batches of 10, a record every {every}",
        f"{measured * 1e3:.3f} ms/epoch",
        f"{baseline * 1e3:.3f} ms/epoch (no validation data)",
        measured / baseline,
        VALIDATION_TARGET,
        checks_ok=same,
        note="" if same else "validation data changed the training",
    )
