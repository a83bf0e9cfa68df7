"""Exercises for a class: a variant of a template drawn from a seed, redrawn until worth doing.

A :class:`Template` fixes a network's shape (layer sizes, the hidden and the output activation),
its loss, one SGD step (learning rate, momentum), the samples, the decimals of the given numbers
and which values the student computes. :func:`draw` takes numbers from ``default_rng(seed)``:
weights nonzero in [−1, 1], biases in [−0.5, 0.5], inputs nonzero in [−2, 2], targets as the loss
takes them (in [−1, 1] for an identity output, [0, 1] for a sigmoid one, 0 or 1 for binary
cross-entropy, one-hot rows for cross-entropy) and, with momentum, the previous step's momentum
buffer in [−0.5, 0.5], all with the template's decimals. A draw is kept when it is worth doing by
hand (:func:`problems` says why not):

- no hidden ReLU unit dead on every sample, unless the template asks for one (then one is), and
  no ReLU or leaky ReLU ``z`` exactly 0, where the derivative is a convention;
- no sigmoid or tanh unit saturated, ``|z| > 3``;
- no gradient entry 0 by accident (those of a dead unit asked for are not);
- a loss of at least :data:`MIN_LOSS`;
- every value to compute judged right (or carried forward) by ``/check``'s precision rule when
  the student rounds each value computed on the way to :data:`FIGURES` significant figures and
  computes on from the rounded values (the forward pass, the loss, each δ and gradient, the
  velocity and the update): the rounding errors that pile up stay within the precision.

Otherwise the same generator draws again, so one template and one seed give one exercise.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np

from app.nn.activations import ActivationName
from app.nn.check import Key, check, order, rounded_step
from app.nn.losses import LOSSES, LossName
from app.nn.network import ForwardPass, Parameters, compute_gradients, evaluate
from app.nn.optimizers import SGD, OptimizerState
from app.nn.types import Array

Part = Literal["forward", "loss", "gradients", "update"]
PARTS: Final[tuple[Part, ...]] = get_args(Part)
MAX_LAYERS: Final = 3
"""Layers of a hand exercise, at most (sizes has one more entry)."""
MAX_UNITS: Final = 4
"""Units (and inputs) of a layer of a hand exercise, at most."""
MAX_SAMPLES: Final = 4
"""Samples of a hand exercise, at most."""
MAX_DECIMALS: Final = 3
"""Decimals of the given numbers, at most."""
MAX_DRAWS: Final = 1000
"""Draws tried before a template is called impossible to make worth doing."""
MIN_LOSS: Final = 0.05
"""A loss below this is 'already tiny': the step teaches little."""
SATURATED: Final = 3.0
"""A sigmoid or tanh unit with ``|z|`` above this is saturated (its derivative under 0.05)."""
FIGURES: Final = 4
"""The significant figures a student writes each value with; they must be enough."""
ZERO: Final = 1e-12
"""A gradient entry this small is 0."""
SQUASHING: Final[frozenset[ActivationName]] = frozenset({"sigmoid", "tanh"})
KINKED: Final[frozenset[ActivationName]] = frozenset({"relu", "leaky_relu"})


@dataclass(frozen=True)
class Template:
    """What every variant of an exercise shares."""

    sizes: tuple[int, ...]
    activation: ActivationName
    output_activation: ActivationName
    loss: LossName
    learning_rate: float
    momentum: float = 0.0
    samples: int = 1
    decimals: int = 1
    compute: tuple[Part, ...] = PARTS
    dead_relu: bool = False

    @property
    def activations(self) -> tuple[ActivationName, ...]:
        """Each layer's activation: the hidden one, then the output one."""
        return (self.activation,) * (len(self.sizes) - 2) + (self.output_activation,)


@dataclass(frozen=True)
class ReadyTemplate:
    """A template ready to use, with a title that says what it practises."""

    title: str
    template: Template


TEMPLATES: Final[dict[str, ReadyTemplate]] = {
    "notebook": ReadyTemplate(
        "The notebook's 3-2-1 ReLU network: one sample, half squared error, SGD 0.01",
        Template((3, 2, 1), "relu", "identity", "half_squared_error", 0.01),
    ),
    "mazur": ReadyTemplate(
        "Mazur's 2-2-2 sigmoid network: one sample, half squared error, SGD 0.5",
        Template((2, 2, 2), "sigmoid", "sigmoid", "half_squared_error", 0.5, decimals=2),
    ),
    "sigmoid_bce": ReadyTemplate(
        "A 2-2-1 sigmoid network with binary cross-entropy: one sample, SGD 0.1",
        Template((2, 2, 1), "sigmoid", "sigmoid", "binary_cross_entropy", 0.1),
    ),
    "softmax_ce": ReadyTemplate(
        "A 2-3-2 ReLU network with a softmax output and cross-entropy: one sample, SGD 0.1",
        Template((2, 3, 2), "relu", "softmax", "cross_entropy", 0.1),
    ),
    "batch": ReadyTemplate(
        "The notebook's 3-2-1 ReLU network on a batch of two samples: the mean loss, SGD 0.1",
        Template((3, 2, 1), "relu", "identity", "half_squared_error", 0.1, samples=2),
    ),
    "momentum": ReadyTemplate(
        "One step of SGD with momentum 0.9 on a 2-2-1 ReLU network, from the previous step's "
        "momentum buffer",
        Template((2, 2, 1), "relu", "identity", "half_squared_error", 0.1, momentum=0.9),
    ),
}
"""The ready templates by name, in the order GET /exercises lists them."""


@dataclass(frozen=True)
class Step:
    """One training step of an exercise, as /train's first epoch computes it."""

    fwd: ForwardPass
    loss: float
    gradients: Parameters
    updated: Parameters


@dataclass(frozen=True)
class Exercise:
    """A variant of a template: the given numbers and its answer."""

    template: Template
    seed: int
    params: Parameters
    x: Array
    t: Array
    momentum_buffer: Parameters | None
    """The previous step's momentum buffer (with momentum), in the network's layout."""
    step: Step

    def to_compute(self) -> Iterator[Key]:
        """The values to compute, as /check's keys, in the order of the computation."""
        for _, key in order(len(self.template.sizes) - 1):
            if part_of(key) in self.template.compute:
                yield key

    def value(self, key: Key) -> Array:
        """The answer at ``key``: per-sample values as ``(samples, units)``, the loss 0-d."""
        kind = key[0]
        if kind == "outputs":
            return self.step.fwd.outputs
        if kind == "loss":
            return np.asarray(self.step.loss)
        if kind == "layers":
            index, name = int(key[1]), key[2]
            return (self.step.fwd.z if name == "z" else self.step.fwd.a)[index]
        tensors = self.step.gradients if kind == "gradients" else self.step.updated
        W, b = tensors.layers[int(key[-2])]
        return W if key[-1] == "weights" else b


class NoVariantError(ValueError):
    """No draw of a template within :data:`MAX_DRAWS` is worth doing."""


def part_of(key: Key) -> Part:
    """The part of the computation a /check key belongs to."""
    kind = key[0]
    if kind in ("layers", "outputs"):
        return "forward"
    if kind == "loss":
        return "loss"
    return "gradients" if kind == "gradients" else "update"


def train_step(
    template: Template, params: Parameters, x: Array, t: Array, buffer: Parameters | None
) -> Step:
    """The forward pass, loss, gradients and SGD update of /train's first epoch (resumed from
    ``buffer`` at step 1 with momentum)."""
    loss = LOSSES[template.loss]
    fwd, value = evaluate(params, x, t, loss)
    grads = compute_gradients(params, fwd, t, loss)
    optimizer = SGD(template.learning_rate, template.momentum)
    state = optimizer.init(params.flat.size)
    if buffer is not None:
        state = OptimizerState(1, {"momentum_buffer": buffer.flat.copy()})
    updated = params.empty_like()
    optimizer.step(state, params.flat, grads.flat, updated.flat)
    return Step(fwd, value, grads, updated)


def _numbers(
    rng: np.random.Generator, shape: tuple[int, ...], high: float, decimals: int, *, zero: bool
) -> Array:
    """Numbers in [−high, high] with ``decimals`` decimals (0 itself only if ``zero``)."""
    scale = 10**decimals
    top = round(high * scale)
    steps = rng.integers(-top, top, size=shape, endpoint=True)
    if not zero:
        # Shift 0 to ±1 step by the sign of another draw: nonzero, still symmetric.
        steps = np.where(steps == 0, rng.choice(np.array([-1, 1]), size=shape), steps)
    values: Array = np.round(steps / scale, decimals)
    return values


def _targets(rng: np.random.Generator, template: Template) -> Array:
    samples, outputs, decimals = template.samples, template.sizes[-1], template.decimals
    if template.loss == "cross_entropy":
        one_hot: Array = np.eye(outputs)[rng.integers(0, outputs, size=samples)]
        return one_hot
    if template.loss == "binary_cross_entropy":
        return rng.integers(0, 1, size=(samples, outputs), endpoint=True).astype(np.float64)
    if template.output_activation in ("sigmoid", "softmax"):
        return np.abs(_numbers(rng, (samples, outputs), 1.0, decimals, zero=True))
    return _numbers(rng, (samples, outputs), 1.0, decimals, zero=True)


def _candidate(rng: np.random.Generator, template: Template, seed: int) -> Exercise:
    decimals = template.decimals
    weights: list[list[list[float]]] = []
    biases: list[list[float]] = []
    for inputs, units in zip(template.sizes, template.sizes[1:], strict=False):
        weights.append(_numbers(rng, (units, inputs), 1.0, decimals, zero=False).tolist())
        biases.append(_numbers(rng, (units,), 0.5, decimals, zero=True).tolist())
    params = Parameters.from_layers(weights, biases, template.activations)
    x = _numbers(rng, (template.samples, template.sizes[0]), 2.0, decimals, zero=False)
    t = _targets(rng, template)
    buffer = None
    if template.momentum:
        flat = _numbers(rng, params.flat.shape, 0.5, decimals, zero=True)
        buffer = params.with_flat(flat)
    return Exercise(
        template, seed, params, x, t, buffer, train_step(template, params, x, t, buffer)
    )


def dead_units(exercise: Exercise) -> set[tuple[int, int]]:
    """The hidden ReLU units, as ``(layer, unit)``, with ``z ≤ 0`` on every sample."""
    activations = exercise.params.activations
    return {
        (index, int(unit))
        for index, z in enumerate(exercise.step.fwd.z[:-1])
        if activations[index] == "relu"
        for unit in np.flatnonzero(np.all(z <= 0, axis=0))
    }


def _dead_entries(exercise: Exercise, dead: set[tuple[int, int]]) -> Parameters:
    """A mask in the network's layout: the gradient entries a dead unit makes 0 on purpose (its
    weights and bias, and the weights that read its output)."""
    mask = exercise.params.with_flat(np.zeros(exercise.params.flat.size, dtype=np.float64))
    for index, unit in dead:
        W, b = mask.layers[index]
        W[unit, :] = 1.0
        b[unit] = 1.0
        mask.layers[index + 1][0][:, unit] = 1.0
    return mask


def _figures(values: Array) -> tuple[Array, Array]:
    """``values`` written to :data:`FIGURES` significant figures, and one unit of the last."""
    magnitude = np.abs(values)
    with np.errstate(divide="ignore"):
        exponent = np.where(magnitude > 0, np.floor(np.log10(magnitude)), 0.0)
    unit = 10.0 ** (exponent - (FIGURES - 1))
    return np.round(values / unit) * unit, unit


def _four_figures_suffice(exercise: Exercise) -> bool:
    """Whether /check judges every value to compute right (or carried forward) when the student
    rounds each value computed on the way to :data:`FIGURES` significant figures and carries the
    rounded values forward (forward pass, loss, every δ and gradient, the update)."""
    keys = list(exercise.to_compute())
    if not keys:
        return True
    template, buffer = exercise.template, exercise.momentum_buffer
    state = None if buffer is None else OptimizerState(1, {"momentum_buffer": buffer.flat})
    optimizer = SGD(template.learning_rate, template.momentum)
    args = (exercise.params, exercise.x, exercise.t, template.loss, optimizer)
    rounded = rounded_step(*args, lambda values: _figures(values)[0], state)
    claims = {key: rounded[key] for key in keys}
    units = {key: _figures(claim)[1] for key, claim in claims.items()}
    checks = check(*args, claims, units=units, state=state)
    return all(item.verdict != "wrong" for item in checks)


def problems(exercise: Exercise) -> Iterator[str]:
    """Why a variant is not worth doing by hand, one reason at a time (none: it is)."""
    template, fwd = exercise.template, exercise.step.fwd
    dead = dead_units(exercise)
    if template.dead_relu and not dead:
        yield "no hidden ReLU unit is dead on every sample, and the template asks for one"
    if dead and not template.dead_relu:
        yield "a hidden ReLU unit is dead on every sample"
    for index, (name, z) in enumerate(zip(exercise.params.activations, fwd.z, strict=True)):
        if name in KINKED and np.any(z == 0):
            yield f"a {name} unit of layer {index} has z = 0 exactly"
        if name in SQUASHING and np.any(np.abs(z) > SATURATED):
            yield f"a {name} unit of layer {index} is saturated (|z| > {SATURATED:g})"
    allowed = _dead_entries(exercise, dead).flat if dead else 0.0
    if np.any((np.abs(exercise.step.gradients.flat) < ZERO) & (allowed == 0)):
        yield "a gradient entry is 0 by accident"
    if not exercise.step.loss >= MIN_LOSS:
        yield f"the loss is under {MIN_LOSS:g}"
    if not _four_figures_suffice(exercise):
        yield f"{FIGURES} significant figures are not enough for a value"


def draw(template: Template, seed: int) -> Exercise:
    """The first variant drawn from ``default_rng(seed)`` that is worth doing.

    Raises :class:`NoVariantError` when none of :data:`MAX_DRAWS` draws is.
    """
    rng = np.random.default_rng(seed)
    for _ in range(MAX_DRAWS):
        exercise = _candidate(rng, template, seed)
        if next(problems(exercise), None) is None:
            return exercise
    raise NoVariantError(
        f"none of {MAX_DRAWS:,} draws of this template is worth doing by hand (a saturated "
        "unit, a dead ReLU, a zero gradient or a tiny loss every time): try fewer layers, other "
        "activations or more decimals"
    )


def seed_of(student: str, course: str = "") -> int:
    """A seed from a student's name and a course: the same pair, the same seed, on any machine
    (SHA-256, not Python's salted ``hash``), below 2**53 so JavaScript reads it exactly."""
    digest = hashlib.sha256(f"{len(course)}:{course}{student}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 2**53
