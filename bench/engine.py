"""Engine benchmarks: app.nn.training.train against hand-written loops in the same process.

* ``engine-tiny``: the notebook's 3-2-1 network, SGD at 0.01 on its one sample, against the
  notebook's own loop (bench/notebook.py). Per-epoch overhead is all there is to measure here.
  Both run on this one thread (arrays this small never reach BLAS's threads), so the figure is
  the thread's CPU time: what other processes of a shared machine take does not count. Twice:
  with records of the first and the last epoch only, and with a record of every epoch keeping
  what /train's default trace needs (:data:`FULL_TRACE`: z and a, gradients, network; health,
  which a trace has only when asked, computes more than it copies).
* ``engine-large``: 784-256-256-10 (relu, relu, identity) with mean squared error on a seeded
  batch of 256 random samples and targets, He-normal weights and zero biases, full-batch SGD at
  0.01, against a minimal NumPy loop doing the same matrix products and nothing else. BLAS should
  dominate, so the engine's bookkeeping should hardly show.
"""

import time

import numpy as np

from app.nn.losses import LOSSES
from app.nn.network import Parameters
from app.nn.optimizers import SGD
from app.nn.training import Part, Run, TrainingResult, train
from app.nn.types import Array
from bench import notebook
from bench.common import Result, Target, median, spread, timed

FULL_TRACE: tuple[Part, ...] = ("outputs", "layers", "gradients", "network")
"""The parts of the records that /train's default trace (every field but health) keeps."""
TINY_TARGET = Target(0.6)
LARGE_TARGET = Target(1.1)
LARGE_SIZES = (784, 256, 256, 10)
LARGE_SAMPLES = 256
LEARNING_RATE = 0.01


def drain(run: Run) -> TrainingResult:
    """Run training to its end, dropping each record as it comes, as a caller that wants the
    final network would."""
    for _ in run:
        pass
    return run.result


def engine_tiny(epochs: int, repeat: int) -> list[Result]:
    """Time per epoch of train() on the notebook's network vs the notebook's loop, without
    records but the first and last, and with a record of every epoch."""
    return [_engine_tiny(epochs, repeat, epochs), _engine_tiny(epochs, repeat, 1)]


def _engine_tiny(epochs: int, repeat: int, every: int) -> Result:
    """Time per epoch of train() on the notebook's network, a record every ``every`` epochs, vs
    the notebook's loop."""
    W1, W2, B1, B2 = notebook.INITIAL
    params = Parameters.from_layers(  # float64 → float → float64 is exact
        [W1.tolist(), W2.tolist()], [B1.tolist(), B2.tolist()], ["relu", "identity"]
    )
    x, t = notebook.X[np.newaxis, :], notebook.y_true[np.newaxis, :]
    loss, optimizer = LOSSES["half_squared_error"], SGD(learning_rate=notebook.learning_rate)

    def run_engine() -> TrainingResult:
        return drain(train(params, x, t, loss, optimizer, epochs, every=every, keep=FULL_TRACE))

    base_times, engine_times = [], []
    for _ in range(repeat):  # interleaved, so that a burst of load elsewhere hits both alike
        seconds, expected = timed(lambda: notebook.run(epochs), time.thread_time)
        base_times.append(seconds / epochs)
        seconds, result = timed(run_engine, time.thread_time)
        engine_times.append(seconds / epochs)
    (W1, b1), (W2, b2) = result.network.layers
    got = (W1, W2, b1, b2)
    pairs = list(zip(got, expected, strict=True))
    same = all(g.shape == e.shape and bool((g == e).all()) for g, e in pairs)
    if not same:
        worst = max(float(np.max(np.abs(g - e))) for g, e in pairs)
        print(f"FAILURE: the engine's final weights differ from the notebook's (max |Δ| {worst})")
    records = "every epoch recorded" if every == 1 else "first and last epochs recorded"
    print(
        f"  engine-tiny, {epochs:,} epochs × {repeat}, {records}, CPU time of the thread: "
        f"notebook loop {spread(base_times, 'µs', 1e6)}/epoch, "
        f"engine {spread(engine_times, 'µs', 1e6)}/epoch; final weights bit-equal (==): {same}"
    )
    measured, baseline = median(engine_times), median(base_times)
    return Result(
        f"engine, notebook 3-2-1 net, {epochs:,} epochs, {records}",
        f"{measured * 1e6:.1f} µs/epoch",
        f"{baseline * 1e6:.1f} µs/epoch (notebook loop)",
        measured / baseline,
        TINY_TARGET,
        checks_ok=same,
        note="" if same else "final weights differ from the notebook's",
    )


def _large_problem(seed: int = 0) -> tuple[list[Array], list[Array], Array, Array]:
    """He-normal weights, zero biases and standard-normal samples and targets, seeded."""
    rng = np.random.default_rng(seed)
    pairs = list(zip(LARGE_SIZES[1:], LARGE_SIZES[:-1], strict=True))
    weights = [rng.normal(0.0, np.sqrt(2.0 / inputs), (units, inputs)) for units, inputs in pairs]
    biases = [np.zeros(units) for units, _ in pairs]
    x = rng.standard_normal((LARGE_SAMPLES, LARGE_SIZES[0]))
    t = rng.standard_normal((LARGE_SAMPLES, LARGE_SIZES[-1]))
    return weights, biases, x, t


def hand_loop(
    weights: list[Array], biases: list[Array], x: Array, t: Array, epochs: int, lr: float
) -> list[Array]:
    """Full-batch SGD for relu, relu, identity and mean squared error in plain NumPy: the
    forward pass, the loss gradient, the backward pass and the update, nothing more.

    Returns ``[W1, b1, W2, b2, W3, b3]`` at the end.
    """
    W1, W2, W3 = (w.copy() for w in weights)
    b1, b2, b3 = (b.copy() for b in biases)
    for _ in range(epochs):
        z1 = x @ W1.T + b1
        a1 = np.maximum(z1, 0.0)
        z2 = a1 @ W2.T + b2
        a2 = np.maximum(z2, 0.0)
        y = a2 @ W3.T + b3
        dz3 = (2.0 / y.size) * (y - t)
        dz2 = (dz3 @ W3) * (z2 > 0)
        dz1 = (dz2 @ W2) * (z1 > 0)
        W3 -= lr * (dz3.T @ a2)
        b3 -= lr * dz3.sum(axis=0)
        W2 -= lr * (dz2.T @ a1)
        b2 -= lr * dz2.sum(axis=0)
        W1 -= lr * (dz1.T @ x)
        b1 -= lr * dz1.sum(axis=0)
    return [W1, b1, W2, b2, W3, b3]


def engine_large(epochs: int, repeat: int) -> Result:
    """Time per epoch of train() on 784-256-256-10 × 256 samples vs a minimal NumPy loop."""
    weights, biases, x, t = _large_problem()
    params = Parameters.from_layers(
        [w.tolist() for w in weights], [b.tolist() for b in biases], ["relu", "relu", "identity"]
    )
    loss, optimizer = LOSSES["mean_squared_error"], SGD(learning_rate=LEARNING_RATE)

    def run_engine() -> TrainingResult:
        return drain(train(params, x, t, loss, optimizer, epochs, every=epochs))

    def run_hand() -> list[Array]:
        return hand_loop(weights, biases, x, t, epochs, LEARNING_RATE)

    run_engine(), run_hand()  # warm-up: first touches of the buffers, BLAS threads started
    base_times, engine_times = [], []
    for _ in range(repeat):
        seconds, expected = timed(run_hand)
        base_times.append(seconds / epochs)
        seconds, result = timed(run_engine)
        engine_times.append(seconds / epochs)
    got = [array for layer in result.network.layers for array in layer]
    error = max(
        float(np.max(np.abs(g - e)) / np.max(np.abs(e)))
        for g, e in zip(got, expected, strict=True)
        if e.any()
    )
    agree = error <= 1e-9
    if not agree:
        print(f"FAILURE: the engine and the NumPy loop disagree: max relative error {error:.3g}")
    print(
        f"  engine-large, {epochs} epochs × {repeat}: NumPy loop "
        f"{spread(base_times, 'ms', 1e3)}/epoch, engine {spread(engine_times, 'ms', 1e3)}/epoch; "
        f"final weights' max relative difference {error:.2g}"
    )
    measured, baseline = median(engine_times), median(base_times)
    return Result(
        f"engine, 784-256-256-10 × {LARGE_SAMPLES} samples, {epochs} epochs",
        f"{measured * 1e3:.2f} ms/epoch",
        f"{baseline * 1e3:.2f} ms/epoch (NumPy loop)",
        measured / baseline,
        LARGE_TARGET,
        checks_ok=agree,
        note="" if agree else f"weights differ by {error:.2g} relative",
    )
