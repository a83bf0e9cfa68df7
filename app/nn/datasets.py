"""Toy data sets to train on, drawn from a seeded generator: same arguments, same arrays.

Each generator is ``(rng, samples, noise, **params) -> (X, y)`` with ``X`` of shape
``(samples, features)``. A classification set's ``y`` holds integer labels ``0..k-1``, split evenly
(the first ``samples mod k`` classes get one sample more), and its ``noise`` is the standard
deviation of Gaussian noise added to every input. A regression set's ``y`` holds target rows and
its ``noise`` is added to the targets. :data:`DATASETS` is the registry: each set's generator,
parameters with their defaults and ranges, and description; the API's schemas derive from it.

:data:`FEATURES` are TensorFlow Playground's input features of a set with one or two inputs
(``x1``, ``x2``, their squares, their product, their sines): :func:`apply_features` computes them
from the inputs, for the data and, with :func:`grid`, for a grid of points alike.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from app.nn.types import Array

Task = Literal["classification", "regression"]
Generator = Callable[..., tuple[Array, Array]]

NOTEBOOK_INPUTS = (-1.0, 2.0, 1.5)
NOTEBOOK_TARGETS = (1.0,)
LINEAR_BIAS = 0.5


@dataclass(frozen=True)
class Param:
    """A set's own parameter: its default, inclusive range and meaning (int if the default is)."""

    default: int | float
    minimum: int | float
    maximum: int | float
    description: str


@dataclass(frozen=True)
class DataSet:
    """A generator with its parameters; ``features`` (input columns) and ``classes`` are each a
    fixed count or the name of the parameter giving it."""

    generate: Generator
    task: Task
    description: str
    params: Mapping[str, Param] = field(default_factory=dict)
    features: int | str = 2
    classes: int | str | None = 2
    samples: int = 200
    max_samples: int | None = None
    noise: float = 0.0
    max_noise: float = 10.0

    def feature_count(self, params: Mapping[str, Any]) -> int:
        """How many input columns the set has with ``params``."""
        return int(params[self.features]) if isinstance(self.features, str) else self.features

    def class_count(self, params: Mapping[str, Any]) -> int | None:
        """How many classes the set has with ``params`` (None for regression)."""
        return int(params[self.classes]) if isinstance(self.classes, str) else self.classes


def linear_weights(features: int) -> Array:
    """The ``linear`` set's answer ``w = [1, −2, 3, −4, …]`` (its bias is :data:`LINEAR_BIAS`)."""
    j = np.arange(features)
    return np.where(j % 2 == 0, 1.0, -1.0) * (j + 1)


def class_sizes(samples: int, classes: int) -> list[int]:
    """``samples`` split evenly over ``classes``, the first ``samples mod classes`` one larger."""
    return [samples // classes + (c < samples % classes) for c in range(classes)]


def _labels(sizes: list[int]) -> Array:
    return np.repeat(np.arange(len(sizes)), sizes)


def _noisy(rng: np.random.Generator, X: Array, noise: float) -> Array:
    """``X`` plus Gaussian noise, drawn also when ``noise`` is 0 (then exactly 0), so that one seed
    gives the same clean points at every noise level."""
    return X + rng.normal(0.0, noise, X.shape)


def xor(rng: np.random.Generator, samples: int, noise: float) -> tuple[Array, Array]:
    """Points in [−1, 1]²; class 1 where the signs of x₁ and x₂ differ (XOR of the signs)."""
    labels = _labels(class_sizes(samples, 2))
    signs = rng.choice([-1.0, 1.0], samples)
    magnitudes = rng.uniform(0.0, 1.0, (samples, 2))
    X = magnitudes * np.stack([signs, np.where(labels == 1, -signs, signs)], axis=1)
    return _noisy(rng, X, noise), labels


def circles(
    rng: np.random.Generator, samples: int, noise: float, factor: float
) -> tuple[Array, Array]:
    """Class 0 on the unit circle, class 1 on a circle of radius ``factor`` inside it."""
    labels = _labels(class_sizes(samples, 2))
    angles = rng.uniform(0.0, 2 * math.pi, samples)
    radii = np.where(labels == 0, 1.0, factor)
    X = radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _noisy(rng, X, noise), labels


def moons(rng: np.random.Generator, samples: int, noise: float) -> tuple[Array, Array]:
    """Two interleaved half circles: (cos t, sin t) and (1 − cos t, ½ − sin t), t in [0, π]."""
    labels = _labels(class_sizes(samples, 2))
    t = rng.uniform(0.0, math.pi, samples)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    X = np.where((labels == 0)[:, None], upper, lower)
    return _noisy(rng, X, noise), labels


def spiral(
    rng: np.random.Generator, samples: int, noise: float, arms: int, turns: float
) -> tuple[Array, Array]:
    """``arms`` spiral arms (one class each) from the origin to radius 1, each turning
    ``turns`` times: r in [0, 1], angle = 2π·(arm/arms + turns·r)."""
    labels = _labels(class_sizes(samples, arms))
    r = rng.uniform(0.0, 1.0, samples)
    angles = 2 * math.pi * (labels / arms + turns * r)
    X = r[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _noisy(rng, X, noise), labels


def blobs(
    rng: np.random.Generator, samples: int, noise: float, classes: int, features: int, std: float
) -> tuple[Array, Array]:
    """``classes`` Gaussian clusters of standard deviation ``std`` around centres drawn
    uniformly from [−10, 10]^features (scikit-learn's make_blobs defaults)."""
    labels = _labels(class_sizes(samples, classes))
    centres = rng.uniform(-10.0, 10.0, (classes, features))
    X = centres[labels] + rng.normal(0.0, std, (samples, features))
    return _noisy(rng, X, noise), labels


def checkerboard(
    rng: np.random.Generator, samples: int, noise: float, tiles: int
) -> tuple[Array, Array]:
    """[−1, 1]² cut into ``tiles × tiles`` squares coloured alternately; a point's class is its
    square's colour, (column + row) mod 2."""
    labels = _labels(class_sizes(samples, 2))
    cells = np.array([(i, j) for i in range(tiles) for j in range(tiles)])
    colours = cells.sum(axis=1) % 2
    X = np.empty((samples, 2))
    for colour in (0, 1):
        rows = labels == colour
        picked = cells[colours == colour][rng.integers(0, (colours == colour).sum(), rows.sum())]
        X[rows] = (picked + rng.uniform(0.0, 1.0, (rows.sum(), 2))) * (2.0 / tiles) - 1.0
    return _noisy(rng, X, noise), labels


def sine(
    rng: np.random.Generator, samples: int, noise: float, frequency: float
) -> tuple[Array, Array]:
    """x uniform in [−π, π], target sin(frequency·x) (plus noise)."""
    x = rng.uniform(-math.pi, math.pi, (samples, 1))
    return x, _noisy(rng, np.sin(frequency * x), noise)


def linear(
    rng: np.random.Generator, samples: int, noise: float, features: int
) -> tuple[Array, Array]:
    """x uniform in [−1, 1]^features, target x·w + b with the known answer
    w = [1, −2, 3, −4, …] and b = ½ (plus noise)."""
    X = rng.uniform(-1.0, 1.0, (samples, features))
    y = X @ linear_weights(features)[:, None] + LINEAR_BIAS
    return X, _noisy(rng, y, noise)


PLAYGROUND_RADIUS = 6.0
"""TensorFlow Playground's regression sets draw their inputs uniformly from [−6, 6]²."""
_TOP_ROW = ((-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0))
GAUSSIANS: tuple[tuple[float, float, float], ...] = (
    *_TOP_ROW,
    *((x, -y, -sign) for x, y, sign in _TOP_ROW),
)
"""The centres and signs of TensorFlow Playground's mixture: two rows of three, alternating."""
GAUSSIAN_RADIUS = 2.0
"""The distance from a centre at which its bump falls to 0."""


def _playground_inputs(rng: np.random.Generator, samples: int) -> Array:
    return rng.uniform(-PLAYGROUND_RADIUS, PLAYGROUND_RADIUS, (samples, 2))


def plane(rng: np.random.Generator, samples: int, noise: float) -> tuple[Array, Array]:
    """TensorFlow Playground's plane: x in [−6, 6]², target (x₁ + x₂)/10 (plus noise)."""
    X = _playground_inputs(rng, samples)
    return X, _noisy(rng, X.sum(axis=1, keepdims=True) / 10.0, noise)


def gaussians(rng: np.random.Generator, samples: int, noise: float) -> tuple[Array, Array]:
    """TensorFlow Playground's mixture of Gaussians: x in [−6, 6]²; around each of six centres
    (±4 or 0, ±2.5) a bump of height ±1 falling linearly to 0 at distance 2; the target is the
    bump largest in absolute value (plus noise)."""
    X = _playground_inputs(rng, samples)
    centres = np.array([(x, y) for x, y, _ in GAUSSIANS])
    signs = np.array([sign for _, _, sign in GAUSSIANS])
    distances = np.linalg.norm(X[:, None, :] - centres[None, :, :], axis=2)
    bumps = signs * np.clip(1.0 - distances / GAUSSIAN_RADIUS, 0.0, 1.0)
    largest = np.take_along_axis(bumps, np.abs(bumps).argmax(axis=1)[:, None], axis=1)
    return X, _noisy(rng, largest, noise)


def notebook(rng: np.random.Generator, samples: int, noise: float) -> tuple[Array, Array]:
    """The notebook's one sample, x = [−1, 2, 1.5] with target [1]."""
    return np.array([NOTEBOOK_INPUTS]), np.array([NOTEBOOK_TARGETS])


DATASETS: dict[str, DataSet] = {
    "xor": DataSet(xor, "classification", "XOR of the signs of two inputs in [−1, 1]²."),
    "circles": DataSet(
        circles,
        "classification",
        "Two concentric circles: class 0 of radius 1, class 1 of radius factor.",
        {"factor": Param(0.5, 0.01, 0.99, "Radius of the inner circle (class 1).")},
        noise=0.05,
    ),
    "moons": DataSet(moons, "classification", "Two interleaved half moons.", noise=0.1),
    "spiral": DataSet(
        spiral,
        "classification",
        "Spiral arms from the origin, one class per arm.",
        {
            "arms": Param(3, 2, 10, "Number of arms, one class each."),
            "turns": Param(1.0, 0.1, 5.0, "Turns of each arm from radius 0 to 1."),
        },
        classes="arms",
    ),
    "blobs": DataSet(
        blobs,
        "classification",
        "Gaussian clusters, one class each, centres drawn uniformly from [−10, 10]^features.",
        {
            "classes": Param(3, 2, 10, "Number of clusters, one class each."),
            "features": Param(2, 1, 64, "Input dimensions."),
            "std": Param(1.0, 0.01, 10.0, "Standard deviation of each cluster."),
        },
        features="features",
        classes="classes",
    ),
    "checkerboard": DataSet(
        checkerboard,
        "classification",
        "[−1, 1]² as a board of tiles × tiles squares; the class is the square's colour.",
        {"tiles": Param(4, 2, 16, "Squares per side.")},
    ),
    "sine": DataSet(
        sine,
        "regression",
        "1-D regression: x in [−π, π], target sin(frequency·x).",
        {"frequency": Param(1.0, 0.1, 10.0, "Angular frequency of the sine.")},
        features=1,
        classes=None,
    ),
    "linear": DataSet(
        linear,
        "regression",
        "n-D regression with a known answer: target x·w + b, w = [1, −2, 3, −4, …], b = 0.5.",
        {"features": Param(3, 1, 64, "Input dimensions.")},
        features="features",
        classes=None,
    ),
    "plane": DataSet(
        plane,
        "regression",
        "TensorFlow Playground's plane: x in [−6, 6]², target (x₁ + x₂)/10.",
        classes=None,
    ),
    "gaussians": DataSet(
        gaussians,
        "regression",
        "TensorFlow Playground's mixture of Gaussians: x in [−6, 6]², six bumps of height ±1 "
        "around (±4 or 0, ±2.5), each 0 beyond distance 2.",
        classes=None,
    ),
    "notebook": DataSet(
        notebook,
        "regression",
        "The notebook's one sample: inputs [−1, 2, 1.5], target [1].",
        features=len(NOTEBOOK_INPUTS),
        classes=None,
        samples=1,
        max_samples=1,
        max_noise=0.0,
    ),
}
"""Every set by name, in the order ``GET /datasets`` lists them."""


def draw(
    name: str, rng: np.random.Generator, samples: int, noise: float, params: Mapping[str, Any]
) -> tuple[Array, Array]:
    """``samples`` rows of set ``name`` in an order shuffled by ``rng`` (so that classes mix in
    mini-batches and in a split): inputs and labels (classification) or target rows."""
    X, y = DATASETS[name].generate(rng, samples, noise, **params)
    order = rng.permutation(samples)
    return X[order], y[order]


def one_hot(labels: Array, classes: int) -> Array:
    """Labels as one-hot rows of ``classes`` columns (targets for softmax + cross_entropy)."""
    rows: Array = np.eye(classes)[labels.astype(np.intp)]
    return rows


def split(X: Array, T: Array, test: int) -> tuple[Array, Array, Array, Array]:
    """The first ``len(X) − test`` rows for training, the last ``test`` held out."""
    cut = len(X) - test
    return X[:cut], T[:cut], X[cut:], T[cut:]


FeatureName = Literal["x1", "x2", "x1_squared", "x2_squared", "x1_times_x2", "sin_x1", "sin_x2"]
FEATURE_NAMES: tuple[FeatureName, ...] = get_args(FeatureName)


@dataclass(frozen=True)
class Feature:
    """An input feature computed from a point's inputs ``(x₁, x₂)``: its formula in words, how
    many input columns it reads (1: x₁ alone, 2: x₂ too) and its computation over rows."""

    formula: str
    columns: int
    compute: Callable[[Array], Array]


FEATURES: dict[FeatureName, Feature] = {
    "x1": Feature("x₁", 1, lambda X: X[:, 0]),
    "x2": Feature("x₂", 2, lambda X: X[:, 1]),
    "x1_squared": Feature("x₁²", 1, lambda X: X[:, 0] ** 2),
    "x2_squared": Feature("x₂²", 2, lambda X: X[:, 1] ** 2),
    "x1_times_x2": Feature("x₁·x₂", 2, lambda X: X[:, 0] * X[:, 1]),
    "sin_x1": Feature("sin x₁", 1, lambda X: np.sin(X[:, 0])),
    "sin_x2": Feature("sin x₂", 2, lambda X: np.sin(X[:, 1])),
}
"""TensorFlow Playground's input features, in its order."""


def apply_features(X: Array, names: Sequence[FeatureName]) -> Array:
    """The features ``names`` of each row of ``X`` (inputs x₁ and x₂ in its first columns), one
    column per feature in the order given."""
    return np.stack([FEATURES[name].compute(X) for name in names], axis=1)


def grid(low: float, high: float, steps: int, columns: int) -> Array:
    """``steps`` evenly spaced values from ``low`` to ``high`` per input: as one column, or for
    two inputs every ``(x₁, x₂)`` pair, x₁ varying fastest (row ``i·steps + j`` is x₁ = value j,
    x₂ = value i)."""
    values = np.linspace(low, high, steps)
    if columns == 1:
        return values[:, None]
    x1, x2 = np.meshgrid(values, values)
    return np.stack([x1.ravel(), x2.ravel()], axis=1)
