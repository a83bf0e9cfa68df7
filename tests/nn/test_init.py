"""Initialisation schemes against their closed-form bounds and variances."""

import math

import numpy as np
import pytest

from app.nn.init import InitName, initialize


def _layer(scheme: InitName, fan_in: int = 400, fan_out: int = 300, seed: int = 0) -> np.ndarray:
    params = initialize([fan_in, fan_out], ["identity"], scheme, seed)
    return params.layers[0][0]


@pytest.mark.parametrize(
    ("scheme", "bound"),
    [
        ("pytorch_default", 1 / math.sqrt(400)),
        ("he_uniform", math.sqrt(6 / 400)),
        ("xavier_uniform", math.sqrt(6 / 700)),
    ],
)
def test_uniform_schemes_fill_their_interval(scheme: InitName, bound: float) -> None:
    """Uniform draws stay inside ±bound, reach close to it, and have variance bound²/3."""
    W = _layer(scheme)
    assert np.abs(W).max() <= bound
    assert np.abs(W).max() > 0.99 * bound
    assert W.var() == pytest.approx(bound**2 / 3, rel=0.02)


@pytest.mark.parametrize(
    ("scheme", "std"), [("he_normal", math.sqrt(2 / 400)), ("xavier_normal", math.sqrt(2 / 700))]
)
def test_normal_schemes_have_their_standard_deviation(scheme: InitName, std: float) -> None:
    """120,000 normal draws: mean near 0, standard deviation within 1% of the closed form."""
    W = _layer(scheme)
    assert abs(W.mean()) < 4 * std / math.sqrt(W.size)
    assert W.std() == pytest.approx(std, rel=0.01)


def test_biases_follow_the_scheme() -> None:
    """nn.Linear's default draws biases from U(±1/√fan_in); the named schemes zero them."""
    default = initialize([400, 300], ["identity"], "pytorch_default", 0).layers[0][1]
    assert np.abs(default).max() <= 1 / math.sqrt(400)
    assert np.abs(default).max() > 0.9 / math.sqrt(400)
    for scheme in ("he_uniform", "he_normal", "xavier_uniform", "xavier_normal"):
        assert not initialize([4, 3], ["identity"], scheme, 0).flat[12:].any()


def test_same_seed_same_parameters_other_seed_others() -> None:
    """Determinism comes from the seed alone."""
    first = initialize([3, 5, 2], ["tanh", "identity"], "he_normal", 42).flat
    again = initialize([3, 5, 2], ["tanh", "identity"], "he_normal", 42).flat
    other = initialize([3, 5, 2], ["tanh", "identity"], "he_normal", 43).flat
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_shapes_and_draw_order() -> None:
    """Layer shapes follow sizes; draws go layer by layer, W then b, from default_rng(seed)."""
    params = initialize([3, 2, 1], ["relu", "identity"], "pytorch_default", 7)
    assert params.shapes == ((2, 3), (1, 2))
    rng = np.random.default_rng(7)
    expected = [
        rng.uniform(-1 / math.sqrt(3), 1 / math.sqrt(3), (2, 3)),
        rng.uniform(-1 / math.sqrt(3), 1 / math.sqrt(3), 2),
        rng.uniform(-1 / math.sqrt(2), 1 / math.sqrt(2), (1, 2)),
        rng.uniform(-1 / math.sqrt(2), 1 / math.sqrt(2), 1),
    ]
    assert np.array_equal(params.flat, np.concatenate([e.ravel() for e in expected]))
