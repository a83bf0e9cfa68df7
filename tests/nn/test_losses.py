"""Losses: hand-computed values and gradients, finite differences and the name registry."""

from typing import get_args

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.nn.losses import LOSSES, LossName
from app.nn.types import Array

LOSS_NAMES: list[LossName] = list(LOSSES)
EPS = 1e-6

# (y, t, half_squared_error, its gradient, mean_squared_error, its gradient), by hand:
# half-SE = mean over samples of ½·Σ_outputs (y − t)²; MSE = mean over all elements of (y − t)².
HAND_CASES = [
    pytest.param(
        [[1.0, 2.0], [3.0, 4.0]],
        [[0.0, 0.0], [0.0, 0.0]],
        7.5,  # mean(½(1 + 4), ½(9 + 16)) = mean(2.5, 12.5)
        [[0.5, 1.0], [1.5, 2.0]],  # (y − t) / 2 samples
        7.5,  # (1 + 4 + 9 + 16) / 4
        [[0.5, 1.0], [1.5, 2.0]],  # 2 (y − t) / 4 elements
        id="two-outputs-coincide",
    ),
    pytest.param(
        [[1.0, 2.0, 3.0]],
        [[0.0, 0.0, 0.0]],
        7.0,  # ½(1 + 4 + 9)
        [[1.0, 2.0, 3.0]],  # (y − t) / 1 sample
        14.0 / 3.0,  # 14 / 3 elements
        [[2.0 / 3.0, 4.0 / 3.0, 2.0]],  # 2 (y − t) / 3
        id="single-sample-three-outputs",
    ),
    pytest.param(
        [[1.0], [3.0]],
        [[0.0], [1.0]],
        1.25,  # mean(½·1, ½·4)
        [[0.5], [1.0]],  # (y − t) / 2
        2.5,  # (1 + 4) / 2
        [[1.0], [2.0]],  # 2 (y − t) / 2
        id="one-output",
    ),
    pytest.param(
        [[1.0, -1.0, 2.0], [0.0, 3.0, 1.0]],
        [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]],
        2.75,  # d = [[1, −1, 2], [−1, 2, 0]]: mean(½·6, ½·5)
        [[0.5, -0.5, 1.0], [-0.5, 1.0, 0.0]],  # d / 2
        11.0 / 6.0,  # (6 + 5) / 6
        [[1.0 / 3.0, -1.0 / 3.0, 2.0 / 3.0], [-1.0 / 3.0, 2.0 / 3.0, 0.0]],  # 2d / 6
        id="two-samples-three-outputs",
    ),
]


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[Array, Array]:
    """``(y, t)`` of the same shape: 1-4 samples by 1-5 outputs, entries in [-10, 10]."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 5)))
    values = hnp.arrays(np.float64, shape, elements=st.floats(-10.0, 10.0))
    return draw(values), draw(values)


def finite_difference_gradient(name: LossName, y: Array, t: Array) -> Array:
    """Central differences of ``value(y, t)`` with respect to each entry of ``y``."""
    value = LOSSES[name].value
    grad = np.empty_like(y)
    for index in np.ndindex(y.shape):
        plus = y.copy()
        minus = y.copy()
        plus[index] += EPS
        minus[index] -= EPS
        grad[index] = (value(plus, t) - value(minus, t)) / (2.0 * EPS)
    return grad


def test_loss_names_match_registry() -> None:
    """The ``LossName`` literal lists exactly the registered losses."""
    names = get_args(LossName)
    assert len(names) == len(set(names))
    assert set(names) == set(LOSSES)


@pytest.mark.parametrize(("y", "t", "half_value", "half_grad", "mse_value", "mse_grad"), HAND_CASES)
def test_hand_computed_values_and_gradients(
    y: list[list[float]],
    t: list[list[float]],
    half_value: float,
    half_grad: list[list[float]],
    mse_value: float,
    mse_grad: list[list[float]],
) -> None:
    """Both losses and their gradients on small examples worked out by hand."""
    ya, ta = np.array(y), np.array(t)
    expectations: list[tuple[LossName, float, list[list[float]]]] = [
        ("half_squared_error", half_value, half_grad),
        ("mean_squared_error", mse_value, mse_grad),
    ]
    for name, value, grad in expectations:
        loss = LOSSES[name]
        got = loss.value(ya, ta)
        assert isinstance(got, float)
        assert got == pytest.approx(value, rel=1e-15)
        np.testing.assert_allclose(loss.gradient(ya, ta), grad, rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", LOSS_NAMES)
@settings(max_examples=40, deadline=None, derandomize=True)
@given(pair=_pairs())
def test_gradient_matches_finite_differences(name: LossName, pair: tuple[Array, Array]) -> None:
    """``gradient(y, t)`` equals the central difference of ``value`` in every entry of ``y``."""
    y, t = pair
    np.testing.assert_allclose(
        LOSSES[name].gradient(y, t), finite_difference_gradient(name, y, t), rtol=1e-6, atol=1e-6
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(pair=_pairs())
def test_losses_relate_and_average_over_samples(pair: tuple[Array, Array]) -> None:
    """half-SE = MSE · outputs / 2, and each batch loss is the mean of its per-sample losses."""
    y, t = pair
    samples, outputs = y.shape
    half, mse = LOSSES["half_squared_error"], LOSSES["mean_squared_error"]
    assert half.value(y, t) == pytest.approx(mse.value(y, t) * outputs / 2, rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(
        half.gradient(y, t), mse.gradient(y, t) * outputs / 2, rtol=1e-12, atol=1e-300
    )
    for loss in (half, mse):
        per_sample = [loss.value(y[i : i + 1], t[i : i + 1]) for i in range(samples)]
        assert loss.value(y, t) == pytest.approx(float(np.mean(per_sample)), rel=1e-12, abs=1e-300)
        assert loss.value(y, t) >= 0.0


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_zero_at_target_and_inputs_untouched(name: LossName) -> None:
    """y = t gives zero loss and zero gradient; neither argument is modified."""
    original = np.array([[0.25, -3.0], [1.5, 2.0], [0.0, -0.5]])
    y, t = original.copy(), original.copy()
    loss = LOSSES[name]
    assert loss.value(y, t) == 0.0
    np.testing.assert_array_equal(loss.gradient(y, t), np.zeros_like(y))
    np.testing.assert_array_equal(y, original)
    np.testing.assert_array_equal(t, original)
