"""The data set generators: determinism, shapes, balance, noise, and each set's geometry checked
against its definition (radii, signs, angles, tiles, the known answer)."""

import math
from typing import Any

import numpy as np
import pytest

from app.nn.datasets import (
    DATASETS,
    LINEAR_BIAS,
    class_sizes,
    draw,
    linear_weights,
    one_hot,
    split,
)
from tests.notebook_values import T as NOTEBOOK_T
from tests.notebook_values import X as NOTEBOOK_X

Array = np.ndarray[Any, np.dtype[Any]]
CLASSIFICATION = [name for name, d in DATASETS.items() if d.task == "classification"]


def _draw(name: str, samples: int = 60, noise: float = 0.0, seed: int = 0, **params: Any) -> Any:
    defaults = {key: param.default for key, param in DATASETS[name].params.items()}
    return draw(name, np.random.default_rng(seed), samples, noise, defaults | params)


def _defaults(name: str) -> tuple[Array, Array]:
    d = DATASETS[name]
    return _draw(name, d.samples, d.noise)


@pytest.mark.parametrize("name", list(DATASETS))
def test_same_seed_same_data_other_seed_other_data(name: str) -> None:
    """One seed gives the same arrays, bit for bit; another seed other ones (bar the notebook)."""
    d = DATASETS[name]
    first = _draw(name, d.samples, d.noise, seed=3)
    again = _draw(name, d.samples, d.noise, seed=3)
    other = _draw(name, d.samples, d.noise, seed=4)
    for a, b in zip(first, again, strict=True):
        assert a.tobytes() == b.tobytes()
    assert (first[0].tobytes() != other[0].tobytes()) == (name != "notebook")


@pytest.mark.parametrize("name", list(DATASETS))
def test_shapes_follow_the_registry(name: str) -> None:
    """X has the set's samples and features; y is one label per sample or one target row."""
    d = DATASETS[name]
    defaults = {key: param.default for key, param in d.params.items()}
    X, y = _defaults(name)
    assert X.shape == (d.samples, d.feature_count(defaults))
    assert X.dtype == np.float64
    if d.task == "classification":
        assert y.shape == (d.samples,)
        assert set(y.tolist()) == set(range(d.class_count(defaults) or 0))
    else:
        assert y.shape == (d.samples, 1)
    assert np.isfinite(X).all()


def test_class_sizes_split_evenly_the_first_classes_one_larger() -> None:
    assert class_sizes(10, 3) == [4, 3, 3]
    assert class_sizes(11, 3) == [4, 4, 3]
    assert class_sizes(9, 3) == [3, 3, 3]
    assert class_sizes(2, 2) == [1, 1]


@pytest.mark.parametrize("name", CLASSIFICATION)
@pytest.mark.parametrize("samples", [7, 60, 101])
def test_classes_are_balanced(name: str, samples: int) -> None:
    """Every class has samples // k samples, the first samples % k one more."""
    _, labels = _draw(name, samples)
    classes = int(labels.max()) + 1
    counts = np.bincount(labels).tolist()
    assert counts == class_sizes(samples, classes)


def test_rows_come_shuffled() -> None:
    """Classes are mixed, not in blocks: a mini-batch or a split sees every class."""
    _, labels = _draw("spiral", 90)
    assert len(set(labels[:15].tolist())) == 3
    assert (np.diff(labels) != 0).sum() > 20


def test_circles_lie_on_their_radii() -> None:
    """Without noise class 0 lies on the unit circle and class 1 on the circle of radius factor."""
    X, labels = _draw("circles", 200, factor=0.3)
    radii = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radii[labels == 0], 1.0, rtol=1e-15)
    np.testing.assert_allclose(radii[labels == 1], 0.3, rtol=1e-15)


def test_moons_lie_on_their_half_circles() -> None:
    """Class 0 on the upper unit half circle; class 1 on it too once mapped by (1 − x, ½ − y)."""
    X, labels = _draw("moons", 200)
    upper, lower = X[labels == 0], X[labels == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, rtol=1e-15)
    assert (upper[:, 1] >= 0).all()
    np.testing.assert_allclose(np.hypot(1 - lower[:, 0], 0.5 - lower[:, 1]), 1.0, rtol=1e-15)
    assert (lower[:, 1] <= 0.5).all()


def test_xor_class_is_the_xor_of_the_signs() -> None:
    X, labels = _draw("xor", 200)
    assert (np.abs(X) <= 1).all()
    np.testing.assert_array_equal(labels, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))


@pytest.mark.parametrize(("arms", "turns"), [(2, 1.0), (3, 1.5), (5, 0.5)])
def test_spiral_points_sit_on_their_arm(arms: int, turns: float) -> None:
    """A point at radius r of arm a has angle 2π·(a/arms + turns·r) (mod 2π)."""
    X, labels = _draw("spiral", 150, arms=arms, turns=turns)
    r = np.hypot(X[:, 0], X[:, 1])
    expected = 2 * math.pi * (labels / arms + turns * r)
    gap = np.angle(np.exp(1j * (np.arctan2(X[:, 1], X[:, 0]) - expected)))
    np.testing.assert_allclose(gap, 0.0, atol=1e-9)
    assert (r <= 1).all()


def test_checkerboard_class_is_the_squares_colour() -> None:
    X, labels = _draw("checkerboard", 400, tiles=5)
    assert (np.abs(X) <= 1).all()
    cells = np.floor((X + 1) * 5 / 2).astype(int)
    np.testing.assert_array_equal(labels, cells.sum(axis=1) % 2)


def test_blobs_are_tight_clusters_around_distinct_centres() -> None:
    """With a small std every class sits within a few std of its mean, far from the others."""
    X, labels = _draw("blobs", 300, classes=4, features=3, std=0.01)
    assert X.shape == (300, 3)
    means = np.array([X[labels == c].mean(axis=0) for c in range(4)])
    for c in range(4):
        assert np.abs(X[labels == c] - means[c]).max() < 0.06
    gaps = [np.linalg.norm(means[a] - means[b]) for a in range(4) for b in range(a)]
    assert min(gaps) > 0.5


def test_sine_targets_are_the_sine() -> None:
    x, y = _draw("sine", 100, frequency=2.0)
    assert (np.abs(x) <= math.pi).all()
    np.testing.assert_array_equal(y, np.sin(2.0 * x))


def test_linear_targets_are_the_known_answer() -> None:
    """targets = X·w + b with the documented w = [1, −2, 3, −4] and b = 0.5."""
    X, y = _draw("linear", 50, features=4)
    np.testing.assert_array_equal(linear_weights(4), [1.0, -2.0, 3.0, -4.0])
    assert LINEAR_BIAS == 0.5
    np.testing.assert_allclose(y[:, 0], X @ [1.0, -2.0, 3.0, -4.0] + 0.5, rtol=1e-15, atol=1e-15)
    w, *_ = np.linalg.lstsq(np.hstack([X, np.ones((50, 1))]), y[:, 0], rcond=None)
    np.testing.assert_allclose(w, [1.0, -2.0, 3.0, -4.0, 0.5], atol=1e-12)


def test_notebook_is_its_one_sample() -> None:
    X, y = _defaults("notebook")
    np.testing.assert_array_equal(X, NOTEBOOK_X)
    np.testing.assert_array_equal(y, NOTEBOOK_T)


@pytest.mark.parametrize("name", ["circles", "moons", "xor", "spiral", "checkerboard", "blobs"])
def test_noise_is_gaussian_of_the_given_std_on_the_inputs(name: str) -> None:
    """Same seed: the noisy inputs are the clean ones plus noise of standard deviation σ; the
    labels do not change."""
    clean, labels = _draw(name, 4000, noise=0.0)
    noisy, noisy_labels = _draw(name, 4000, noise=0.2)
    np.testing.assert_array_equal(labels, noisy_labels)
    offsets = noisy - clean
    assert offsets.std() == pytest.approx(0.2, rel=0.05)
    assert abs(offsets.mean()) < 0.02


@pytest.mark.parametrize("name", ["sine", "linear"])
def test_regression_noise_is_on_the_targets(name: str) -> None:
    X, y = _draw(name, 4000, noise=0.0)
    noisy_X, noisy_y = _draw(name, 4000, noise=0.3)
    np.testing.assert_array_equal(X, noisy_X)
    assert (noisy_y - y).std() == pytest.approx(0.3, rel=0.05)


def test_one_hot_and_split() -> None:
    labels = np.array([2, 0, 1])
    np.testing.assert_array_equal(one_hot(labels, 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    X, T = np.arange(10.0).reshape(5, 2), np.arange(5.0)[:, None]
    train_X, train_T, test_X, test_T = split(X, T, 2)
    np.testing.assert_array_equal(np.vstack([train_X, test_X]), X)
    np.testing.assert_array_equal(np.vstack([train_T, test_T]), T)
    assert (len(train_X), len(test_X)) == (3, 2)
