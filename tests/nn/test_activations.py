"""Activation functions: closed forms, derivatives, numerical edge cases and the name registry."""

import math
from typing import get_args

import numpy as np
import pytest

from app.nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE, ActivationName
from app.nn.types import Array

ACTIVATION_NAMES: list[ActivationName] = list(ACTIVATIONS)
# Points away from the relu/leaky_relu kink at 0, so central differences are valid everywhere.
SMOOTH_POINTS = np.array([-3.0, -1.7, -0.6, -0.05, 0.05, 0.4, 1.3, 2.9])
H = 1e-6


def _apply(name: ActivationName, z: list[float]) -> Array:
    return ACTIVATIONS[name].forward(np.array(z, dtype=np.float64))


def _derivative(name: ActivationName, z: Array) -> Array:
    """``backward`` with ``da = 1``: the activation's derivative at each ``z``."""
    activation = ACTIVATIONS[name]
    return activation.backward(z, activation.forward(z), np.ones_like(z))


def test_activation_names_match_registry() -> None:
    """The ``ActivationName`` literal lists exactly the registered activations."""
    names = get_args(ActivationName)
    assert len(names) == len(set(names))
    assert set(names) == set(ACTIVATIONS)


def test_leaky_relu_slope() -> None:
    """The documented slope of leaky_relu is 0.01."""
    assert LEAKY_RELU_SLOPE == 0.01


@pytest.mark.parametrize(
    ("name", "z", "expected"),
    [
        ("identity", [-2.5, 0.0, 3.0], [-2.5, 0.0, 3.0]),
        ("relu", [-2.0, -0.5, 0.0, 0.5, 3.0], [0.0, 0.0, 0.0, 0.5, 3.0]),
        ("leaky_relu", [-2.0, -0.5, 0.0, 0.5, 3.0], [-0.02, -0.005, 0.0, 0.5, 3.0]),
        ("sigmoid", [0.0], [0.5]),
        ("sigmoid", [math.log(3.0), -math.log(3.0)], [0.75, 0.25]),
        ("tanh", [0.0, math.log(2.0), -math.log(2.0)], [0.0, 0.6, -0.6]),
    ],
)
def test_closed_forms(name: ActivationName, z: list[float], expected: list[float]) -> None:
    """Hand-computed values: e.g. sigmoid(ln 3) = 3/4 and tanh(ln 2) = (4 − 1)/(4 + 1) = 0.6."""
    np.testing.assert_allclose(_apply(name, z), expected, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("z", [-40.0, -30.0, -5.0, -0.3, 0.0, 0.3, 5.0, 30.0, 700.0, -700.0])
def test_sigmoid_and_tanh_match_math_module(z: float) -> None:
    """sigmoid and tanh agree with ``math``-based references to near machine precision."""
    sigmoid_ref = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
    assert _apply("sigmoid", [z])[0] == pytest.approx(sigmoid_ref, rel=1e-14, abs=0)
    assert _apply("tanh", [z])[0] == pytest.approx(math.tanh(z), rel=1e-14, abs=0)


def test_sigmoid_deep_negative_tail_is_accurate() -> None:
    """sigmoid(-30) ≈ 9.4e-14 keeps full relative precision (no 1 − (1 − ε) cancellation)."""
    expected = 1.0 / (1.0 + math.exp(30.0))
    got = float(_apply("sigmoid", [-30.0])[0])
    assert abs(got - expected) <= 1e-12 * expected


@pytest.mark.parametrize("magnitude", [1e3, 1e5, 1e308])
def test_sigmoid_extremes_are_finite_without_warnings(magnitude: float) -> None:
    """Huge |z| saturates to exactly 0 or 1; filterwarnings=error fails on any overflow warning."""
    z = np.array([-magnitude, magnitude])
    a = ACTIVATIONS["sigmoid"].forward(z)
    assert np.isfinite(a).all()
    assert ((a >= 0.0) & (a <= 1.0)).all()
    np.testing.assert_array_equal(a, [0.0, 1.0])
    dz = ACTIVATIONS["sigmoid"].backward(z, a, np.ones_like(z))
    np.testing.assert_array_equal(dz, [0.0, 0.0])


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_derivative_matches_finite_differences(name: ActivationName) -> None:
    """``backward(z, a, 1)`` equals the central difference of ``forward`` at smooth points."""
    forward = ACTIVATIONS[name].forward
    numeric = (forward(SMOOTH_POINTS + H) - forward(SMOOTH_POINTS - H)) / (2.0 * H)
    np.testing.assert_allclose(_derivative(name, SMOOTH_POINTS), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("identity", [1.0] * 8),
        ("relu", [0.0] * 4 + [1.0] * 4),
        ("leaky_relu", [0.01] * 4 + [1.0] * 4),
    ],
)
def test_piecewise_linear_derivatives(name: ActivationName, expected: list[float]) -> None:
    """Piecewise-linear activations have exact slopes on each side of 0."""
    np.testing.assert_array_equal(_derivative(name, SMOOTH_POINTS), expected)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_backward_applies_chain_rule(name: ActivationName) -> None:
    """``backward(z, a, da) = da · a'(z)`` elementwise, for an arbitrary upstream ``da``."""
    activation = ACTIVATIONS[name]
    z = SMOOTH_POINTS.reshape(2, 4)
    da = np.array([[0.5, -2.0, 3.0, 0.0], [-1.5, 4.0, 0.25, -0.75]])
    dz = activation.backward(z, activation.forward(z), da)
    assert dz.shape == z.shape
    np.testing.assert_allclose(dz, da * _derivative(name, z), rtol=1e-15, atol=0)


def test_kink_convention_at_zero() -> None:
    """At z = 0 the derivative is the left one: relu'(0) = 0 and leaky_relu'(0) = 0.01."""
    zero = np.zeros(3)
    np.testing.assert_array_equal(_derivative("relu", zero), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(_derivative("leaky_relu", zero), [0.01, 0.01, 0.01])


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_forward_preserves_shape_and_input(name: ActivationName) -> None:
    """Activations are elementwise on 2-D batches and leave their input untouched."""
    z = SMOOTH_POINTS.reshape(4, 2)
    before = z.copy()
    a = ACTIVATIONS[name].forward(z)
    assert a.shape == z.shape
    assert a.dtype == np.float64
    np.testing.assert_array_equal(z, before)
