"""The gradient check: it passes on random networks, fails on wrong gradients, reports kinks."""

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.nn.activations import ACTIVATIONS, ActivationName
from app.nn.errors import NonFiniteError
from app.nn.gradcheck import (
    Kink,
    Tolerance,
    compare,
    finite_differences,
    gradcheck,
    tolerance,
)
from app.nn.losses import LOSSES, LossName
from app.nn.network import Parameters, compute_gradients, evaluate, forward
from app.nn.types import Array
from tests.notebook_values import NOTEBOOK, T, X

LAST: dict[LossName, ActivationName] = {
    name: loss.output_activation for name, loss in LOSSES.items() if loss.output_activation
}
HIDDEN: list[ActivationName] = [
    name for name, activation in ACTIVATIONS.items() if not activation.last_layer_only
]
HALF = LOSSES["half_squared_error"]


def _values(shape: tuple[int, ...], bound: float = 1.0) -> st.SearchStrategy[Array]:
    return hnp.arrays(np.float64, shape, elements=st.floats(-bound, bound))


@st.composite
def problems(draw: st.DrawFn) -> tuple[Parameters, Array, Array, LossName]:
    """1-3 layers of 1-4 units with any hidden activations, 1-3 samples, any loss."""
    loss: LossName = draw(st.sampled_from(list(LOSSES)))
    widths = draw(st.lists(st.integers(2, 4), min_size=2, max_size=4))
    shapes = [(units, inputs) for inputs, units in itertools.pairwise(widths)]
    names = [draw(st.sampled_from(HIDDEN)) for _ in shapes]
    names[-1] = LAST.get(loss, names[-1])
    params = Parameters.from_layers(
        [draw(_values(shape, 2.0)) for shape in shapes],
        [draw(_values((shape[0],))) for shape in shapes],
        names,
    )
    samples = draw(st.integers(1, 3))
    x = draw(_values((samples, widths[0]), 2.0))
    t = draw(hnp.arrays(np.float64, (samples, widths[-1]), elements=st.floats(0.0, 1.0)))
    if loss == "cross_entropy":
        classes = st.integers(0, widths[-1] - 1)
        t = np.eye(widths[-1])[draw(st.lists(classes, min_size=samples, max_size=samples))]
    return params, x, t, loss


def _away_from_kinks(params: Parameters, x: Array) -> bool:
    fwd = forward(params, x)
    return all(
        bool(np.all(np.abs(z) > 1e-3))
        for z, name in zip(fwd.z, params.activations, strict=True)
        if name in ("relu", "leaky_relu")
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(problems())
def test_passes_on_random_networks(problem: tuple[Parameters, Array, Array, LossName]) -> None:
    """Mixed activations and every loss: the analytic gradients pass, with no kink reported."""
    params, x, t, loss = problem
    assume(_away_from_kinks(params, x))
    result = gradcheck(params, x, t, LOSSES[loss], 1e-6)
    assert result.passed, result.errors
    assert result.kinks == []
    assert result.tolerance == Tolerance(1e-7, 1e-5)
    assert len(result.errors) == len(params.layers)


@pytest.mark.parametrize("epsilon", [1e-10, 1e-8, 1e-4, 1e-3, 1e-2])
@settings(max_examples=10, deadline=None, derandomize=True)
@given(problem=problems())
def test_passes_at_other_epsilons(
    epsilon: float, problem: tuple[Parameters, Array, Array, LossName]
) -> None:
    """The widened tolerance keeps round-off (small ε) and truncation (large ε) from failing
    wherever no kink was crossed (a step of 1e-2 crosses some)."""
    params, x, t, loss = problem
    result = gradcheck(params, x, t, LOSSES[loss], epsilon)
    assume(not result.kinks)
    assert result.passed, result.errors


def test_tolerance_widens_away_from_the_default_epsilon() -> None:
    """1e-7/1e-5 at ε = 1e-6; ×(1e-6/ε) below it; at least 100·ε² above it."""
    assert tolerance(1e-6) == Tolerance(1e-7, 1e-5)
    assert tolerance(1e-8) == Tolerance(pytest.approx(1e-5), pytest.approx(1e-3))
    assert tolerance(1e-4) == Tolerance(pytest.approx(1e-6), 1e-5)
    assert tolerance(1e-2) == Tolerance(pytest.approx(1e-2), pytest.approx(1e-2))


def test_notebook_differences_match_hand_gradients() -> None:
    """The notebook's central differences are its printed gradients, to about 1e-9."""
    numeric, crossed = finite_differences(NOTEBOOK, X, T, HALF, 1e-6)
    (gW0, gb0), (gW1, gb1) = numeric.layers
    np.testing.assert_allclose(
        gW0, [[0.5655, -1.131, -0.84825], [-1.3195, 2.639, 1.97925]], atol=1e-8
    )
    np.testing.assert_allclose(gb0, [-0.5655, 1.3195], atol=1e-8)
    np.testing.assert_allclose(gW1, [[-0.1885, -2.73325]], atol=1e-8)
    np.testing.assert_allclose(gb1, [-1.885], atol=1e-8)
    assert not any(mask.any() for mask in crossed)


def _relu_derivative_dropped(params: Parameters, x: Array, t: Array) -> Parameters:
    """A buggy backward pass: the hidden ReLU's derivative taken as 1 everywhere."""
    fwd, _ = evaluate(params, x, t, HALF)
    buggy = replace(params, activations=("identity", *params.activations[1:]))
    return compute_gradients(buggy, fwd, t, HALF)


def test_fails_on_a_deliberately_wrong_gradient() -> None:
    """relu'(z) = 1 where z < 0: layer 0's gradients fail, layer 1's (above the bug) pass."""
    x = np.array([[1.0, 0.0, 0.0]])  # z of layer 0 = [0.1, −0.45]: unit 1 is off
    numeric, _ = finite_differences(NOTEBOOK, x, T, HALF, 1e-6)
    errors = compare(_relu_derivative_dropped(NOTEBOOK, x, T), numeric, tolerance(1e-6))
    (weights0, bias0), (weights1, bias1) = errors
    assert (weights0.failed, bias0.failed) == (1, 1)  # unit 1's row: only x[0] ≠ 0
    assert bias0.max_rel_error == pytest.approx(1.0)
    assert (weights1.failed, bias1.failed) == (0, 0)


@pytest.mark.parametrize("scale", [2.0, -1.0, 1.0 + 1e-4])
def test_fails_on_a_scaled_gradient(scale: float) -> None:
    """A factor 2 (a dropped ½), a flipped sign, even a 1e-4 relative error: every entry fails."""
    fwd, _ = evaluate(NOTEBOOK, X, T, HALF)
    analytic = compute_gradients(NOTEBOOK, fwd, T, HALF)
    numeric, _ = finite_differences(NOTEBOOK, X, T, HALF, 1e-6)
    wrong = NOTEBOOK.with_flat(scale * analytic.flat)
    errors = compare(wrong, numeric, tolerance(1e-6))
    assert [(w.failed, b.failed) for w, b in errors] == [(6, 2), (2, 1)]


def test_one_wrong_entry_is_counted_in_its_tensor() -> None:
    """One entry of layer 1's weights off by 1e-5 (5e-5 relative): only it fails."""
    fwd, _ = evaluate(NOTEBOOK, X, T, HALF)
    analytic = compute_gradients(NOTEBOOK, fwd, T, HALF)
    analytic.layers[1][0][0, 0] += 1e-5
    numeric, _ = finite_differences(NOTEBOOK, X, T, HALF, 1e-6)
    errors = compare(analytic, numeric, tolerance(1e-6))
    assert [(w.failed, b.failed) for w, b in errors] == [(0, 0), (1, 0)]
    assert errors[1][0].max_abs_error == pytest.approx(1e-5, rel=1e-3)


def test_a_kink_is_reported_where_differences_straddle_it() -> None:
    """z = 0 exactly for unit 1 of layer 0: one warning, and the difference there is off."""
    x = np.array([[0.1, 0.0, 0.0], [-1.0, 2.0, 1.5]])  # −0.5·0.1 + 0.05 = 0 in float64
    t = np.array([[1.0], [1.0]])
    assert forward(NOTEBOOK, x).z[0][0, 1] == 0.0
    result = gradcheck(NOTEBOOK, x, t, HALF, 1e-6)
    assert result.kinks == [Kink(layer=0, sample=0, unit=1, z=0.0)]
    assert not result.passed
    assert result.errors[0][0].failed == 1  # W0[1, 0], the only weight x moves


def test_no_kink_far_from_zero() -> None:
    """The notebook's z are 0.1 and 1.45: no warning at ε = 1e-6."""
    assert gradcheck(NOTEBOOK, X, T, HALF, 1e-6).kinks == []


def test_large_parameters_use_the_step_actually_taken() -> None:
    """At w = 3e5 an ε of 1e-6 is ~17 float64 spacings: dividing by the real step stays exact."""
    params = Parameters.from_layers([[[3e5 + 0.1]]], [[0.3]], ["identity"])
    x, t = np.array([[1e-5]]), np.array([[2.0]])
    assert gradcheck(params, x, t, HALF, 1e-6).passed


def test_a_step_lost_to_rounding_raises() -> None:
    """w ± ε rounding to w itself leaves no difference to take (the API rejects such an ε)."""
    params = Parameters.from_layers([[[1e150]]], [[0.0]], ["identity"])
    with pytest.raises(NonFiniteError, match="layer 0: the gradient is not finite"):
        gradcheck(params, np.array([[1e3]]), np.array([[0.0]]), HALF, 1e-6)
