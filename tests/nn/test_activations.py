"""Activation functions: closed forms, derivatives, numerical edge cases and the name registry.

Every activation but ``softmax`` is elementwise; ``softmax`` works on each row of a
``(samples, units)`` array and has its own tests at the end of this module.
"""

import math
from typing import get_args

import numpy as np
import pytest

from app.nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE, ActivationName
from app.nn.types import Array
from tests.helpers import activate

ACTIVATION_NAMES: list[ActivationName] = list(ACTIVATIONS)
ELEMENTWISE: list[ActivationName] = ["identity", "relu", "leaky_relu", "sigmoid", "tanh"]
ROW_WISE: list[ActivationName] = ["softmax"]
# Points away from the relu/leaky_relu kink at 0, so central differences are valid everywhere.
SMOOTH_POINTS = np.array([-3.0, -1.7, -0.6, -0.05, 0.05, 0.4, 1.3, 2.9])
H = 1e-6


def _apply(name: ActivationName, z: list[float]) -> Array:
    return activate(ACTIVATIONS[name], np.array(z, dtype=np.float64))


def _derivative(name: ActivationName, z: Array) -> Array:
    """``backward`` with ``da = 1``: the activation's derivative at each ``z``."""
    activation = ACTIVATIONS[name]
    return activation.backward(z, activate(activation, z), np.ones_like(z))


def test_activation_names_match_registry() -> None:
    """The ``ActivationName`` literal lists exactly the registered activations."""
    names = get_args(ActivationName)
    assert len(names) == len(set(names))
    assert set(names) == set(ACTIVATIONS)


def test_every_activation_is_classified() -> None:
    """Each activation is either elementwise or row-wise, so none escapes its kind's tests."""
    assert sorted(ELEMENTWISE + ROW_WISE) == sorted(ACTIVATIONS)
    assert not set(ELEMENTWISE) & set(ROW_WISE)


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
    a = activate(ACTIVATIONS["sigmoid"], z)
    assert np.isfinite(a).all()
    assert ((a >= 0.0) & (a <= 1.0)).all()
    np.testing.assert_array_equal(a, [0.0, 1.0])
    dz = ACTIVATIONS["sigmoid"].backward(z, a, np.ones_like(z))
    np.testing.assert_array_equal(dz, [0.0, 0.0])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_finite_differences(name: ActivationName) -> None:
    """``backward(z, a, 1)`` equals the central difference of ``forward`` at smooth points."""

    def forward(z: Array) -> Array:
        return activate(ACTIVATIONS[name], z)

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


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_backward_applies_chain_rule(name: ActivationName) -> None:
    """``backward(z, a, da) = da · a'(z)`` elementwise, for an arbitrary upstream ``da``."""
    activation = ACTIVATIONS[name]
    z = SMOOTH_POINTS.reshape(2, 4)
    da = np.array([[0.5, -2.0, 3.0, 0.0], [-1.5, 4.0, 0.25, -0.75]])
    dz = activation.backward(z, activate(activation, z), da)
    assert dz.shape == z.shape
    np.testing.assert_allclose(dz, da * _derivative(name, z), rtol=1e-15, atol=0)


def test_kink_convention_at_zero() -> None:
    """At z = 0 the derivative is the left one: relu'(0) = 0 and leaky_relu'(0) = 0.01."""
    zero = np.zeros(3)
    np.testing.assert_array_equal(_derivative("relu", zero), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(_derivative("leaky_relu", zero), [0.01, 0.01, 0.01])


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_forward_preserves_shape_and_input(name: ActivationName) -> None:
    """Activations keep a 2-D batch's shape and dtype and leave their input untouched."""
    z = SMOOTH_POINTS.reshape(4, 2)
    before = z.copy()
    a = activate(ACTIVATIONS[name], z)
    assert a.shape == z.shape
    assert a.dtype == np.float64
    np.testing.assert_array_equal(z, before)


# softmax: row-wise, so it takes (samples, units) arrays.


def _softmax(z: list[list[float]] | Array) -> Array:
    return activate(ACTIVATIONS["softmax"], np.array(z, dtype=np.float64))


def _softmax_backward(z: Array, da: Array) -> Array:
    softmax = ACTIVATIONS["softmax"]
    return softmax.backward(z, activate(softmax, z), da)


def test_softmax_closed_forms() -> None:
    """softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6; equal logits share evenly; one unit gives 1."""
    got = _softmax([[0.0, math.log(2.0), math.log(3.0)], [5.0, 5.0, 5.0]])
    np.testing.assert_allclose(got, [[1 / 6, 2 / 6, 3 / 6], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)
    np.testing.assert_array_equal(_softmax([[7.5], [-3.0]]), [[1.0], [1.0]])


def test_softmax_rows_are_independent_probabilities() -> None:
    """Each row is a probability vector computed from that row alone."""
    z = np.array([[0.3, -1.2, 2.5, 0.0], [10.0, 9.0, -4.0, 1.0], [-0.5, -0.5, -0.5, 30.0]])
    a = _softmax(z)
    assert ((a > 0.0) & (a <= 1.0)).all()
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=0, atol=4e-16)
    for i in range(len(z)):
        np.testing.assert_array_equal(_softmax(z[i : i + 1]), a[i : i + 1])


def test_softmax_is_invariant_to_a_constant_per_row() -> None:
    """Adding ``c_i`` to row ``i`` changes nothing (bit for bit when the sums are exact)."""
    z = np.array([[0.25, -1.5, 2.0], [3.0, 3.5, -0.75]])
    shifts = np.array([[100.0], [-64.0]])
    np.testing.assert_array_equal(_softmax(z + shifts), _softmax(z))
    rng = np.random.default_rng(3)
    z = rng.normal(size=(5, 4))
    shifts = rng.uniform(-50.0, 50.0, size=(5, 1))
    np.testing.assert_allclose(_softmax(z + shifts), _softmax(z), rtol=1e-12, atol=0)


@pytest.mark.parametrize("magnitude", [1e3, 1e5, 1e300])
def test_softmax_extremes_are_finite_without_warnings(magnitude: float) -> None:
    """Huge logits saturate to exact 0/1 (filterwarnings=error fails on any overflow warning)."""
    z = np.array([[magnitude, -magnitude, 0.0], [0.0, -magnitude, -magnitude]])
    a = _softmax(z)
    np.testing.assert_array_equal(a, [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    dz = _softmax_backward(z, np.array([[1.0, -2.0, 3.0], [0.5, 0.5, -1.0]]))
    assert np.isfinite(dz).all()
    np.testing.assert_array_equal(dz, np.zeros_like(z))


def test_softmax_backward_matches_finite_differences() -> None:
    """``backward(z, a, da)`` is the gradient of ``Σ da · softmax(z)`` over the whole batch.

    Central differences perturb one entry of ``z`` at a time, so they also check that one row's
    logits do not reach another row's outputs.
    """
    rng = np.random.default_rng(11)
    z = rng.normal(scale=2.0, size=(3, 4))
    da = rng.normal(size=(3, 4))
    numeric = np.empty_like(z)
    for index in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[index] += H
        minus[index] -= H
        numeric[index] = np.sum(da * (_softmax(plus) - _softmax(minus))) / (2.0 * H)
    np.testing.assert_allclose(_softmax_backward(z, da), numeric, rtol=1e-7, atol=1e-9)


def test_softmax_backward_is_the_row_jacobian_product() -> None:
    """Per row, ``dz = J·da`` with the Jacobian ``J = diag(a) − a·aᵀ`` (symmetric)."""
    rng = np.random.default_rng(5)
    z = rng.normal(size=(4, 3))
    da = rng.normal(size=(4, 3))
    a = _softmax(z)
    expected = np.array(
        [(np.diag(ai) - np.outer(ai, ai)) @ dai for ai, dai in zip(a, da, strict=True)]
    )
    np.testing.assert_allclose(_softmax_backward(z, da), expected, rtol=1e-12, atol=1e-15)


def test_softmax_backward_of_a_constant_upstream_is_zero() -> None:
    """Rows always sum to 1, so an upstream gradient constant along a row has no effect."""
    z = np.array([[0.3, -1.2, 2.5], [4.0, 0.0, -1.0]])
    da = np.array([[2.0, 2.0, 2.0], [-0.5, -0.5, -0.5]])
    np.testing.assert_allclose(_softmax_backward(z, da), 0.0, rtol=0, atol=1e-15)
