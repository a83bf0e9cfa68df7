"""Losses: hand-computed values and gradients, finite differences and the name registry.

The regression losses read the network's outputs ``y``; the cross-entropies read the last layer's
logits ``z`` (``from_logits``), with targets in [0, 1] (binary) or probability rows (categorical).
Closed forms of the cross-entropies are computed here with the ``math`` module.
"""

import itertools
import math
from typing import get_args

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.nn.losses import LOSSES, LossName
from app.nn.types import Array

LOSS_NAMES: list[LossName] = list(LOSSES)
REGRESSION: list[LossName] = ["half_squared_error", "mean_squared_error"]
FROM_LOGITS: list[LossName] = ["binary_cross_entropy", "cross_entropy"]
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
def probability_rows(draw: st.DrawFn, shape: tuple[int, int]) -> Array:
    """Valid cross_entropy targets: each row one-hot or a probability vector summing to 1."""
    samples, classes = shape
    rows = np.zeros(shape)
    for i in range(samples):
        weights = draw(hnp.arrays(np.float64, classes, elements=st.floats(0.0, 1.0)))
        if draw(st.booleans()) or weights.sum() == 0.0:
            rows[i, draw(st.integers(0, classes - 1))] = 1.0
        else:
            rows[i] = weights / weights.sum()
    return rows


def targets(name: LossName, shape: tuple[int, int]) -> st.SearchStrategy[Array]:
    """Targets valid for the loss: reals in [-10, 10], values in [0, 1], or probability rows."""
    if name == "cross_entropy":
        return probability_rows(shape)
    bounds = (0.0, 1.0) if name == "binary_cross_entropy" else (-10.0, 10.0)
    return hnp.arrays(np.float64, shape, elements=st.floats(*bounds))


@st.composite
def pairs(
    draw: st.DrawFn, name: LossName = "half_squared_error", bound: float = 10.0
) -> tuple[Array, Array]:
    """``(u, t)``: 1-4 samples by 1-5 outputs, ``u`` in ±bound, targets valid for ``name``."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 5)))
    u = draw(hnp.arrays(np.float64, shape, elements=st.floats(-bound, bound)))
    return u, draw(targets(name, shape))


def finite_difference_gradient(name: LossName, u: Array, t: Array) -> Array:
    """Central differences of the loss ``value(u, t)`` with respect to each entry of ``u``."""
    loss = LOSSES[name]
    grad = np.empty_like(u)
    for index in np.ndindex(u.shape):
        plus = u.copy()
        minus = u.copy()
        plus[index] += EPS
        minus[index] -= EPS
        grad[index] = (loss.value(plus, t) - loss.value(minus, t)) / (2.0 * EPS)
    return grad


def math_sigmoid(z: float) -> float:
    """The logistic function with the ``math`` module."""
    return 1.0 / (1.0 + math.exp(-z))


def math_bce(z: list[list[float]], t: list[list[float]]) -> float:
    """Textbook binary cross-entropy of sigmoid(z), the mean over every element."""
    terms = [
        -(tj * math.log(math_sigmoid(zj)) + (1.0 - tj) * math.log(1.0 - math_sigmoid(zj)))
        for zi, ti in zip(z, t, strict=True)
        for zj, tj in zip(zi, ti, strict=True)
    ]
    return math.fsum(terms) / len(terms)


def math_ce(z: list[list[float]], t: list[list[float]]) -> float:
    """Textbook cross-entropy −Σ t·log softmax(z) per sample, the mean over samples."""
    total = []
    for zi, ti in zip(z, t, strict=True):
        norm = math.fsum(math.exp(v) for v in zi)
        total.append(
            -math.fsum(tc * math.log(math.exp(zc) / norm) for zc, tc in zip(zi, ti, strict=True))
        )
    return math.fsum(total) / len(total)


def test_loss_names_match_registry() -> None:
    """The ``LossName`` literal lists exactly the registered losses."""
    names = get_args(LossName)
    assert len(names) == len(set(names))
    assert set(names) == set(LOSSES)


def test_from_logits_flags() -> None:
    """Exactly the cross-entropies read the logits ``z``; every loss is classified here."""
    assert sorted(REGRESSION + FROM_LOGITS) == sorted(LOSSES)
    assert [name for name in LOSS_NAMES if LOSSES[name].from_logits] == FROM_LOGITS


@pytest.mark.parametrize(("y", "t", "half_value", "half_grad", "mse_value", "mse_grad"), HAND_CASES)
def test_hand_computed_values_and_gradients(
    y: list[list[float]],
    t: list[list[float]],
    half_value: float,
    half_grad: list[list[float]],
    mse_value: float,
    mse_grad: list[list[float]],
) -> None:
    """Both regression losses and their gradients on small examples worked out by hand."""
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


LN2, LN3 = math.log(2.0), math.log(3.0)


@pytest.mark.parametrize(
    ("z", "t", "value", "grad"),
    [
        pytest.param([[0.0]], [[1.0]], LN2, [[-0.5]], id="ln2"),
        pytest.param([[LN3]], [[1.0]], math.log(4 / 3), [[-0.25]], id="sigmoid-3/4"),
        pytest.param([[LN3]], [[0.0]], math.log(4.0), [[0.75]], id="wrong-side"),
        pytest.param(
            [[LN3, -LN3], [0.0, 2.0]],
            [[0.5, 0.0], [1.0, 0.25]],
            None,  # the math-module formula
            [[0.25 / 4, 0.25 / 4], [-0.5 / 4, (math_sigmoid(2.0) - 0.25) / 4]],
            id="batch-soft-targets",
        ),
    ],
)
def test_binary_cross_entropy_closed_forms(
    z: list[list[float]], t: list[list[float]], value: float | None, grad: list[list[float]]
) -> None:
    """BCE of sigmoid(z) and its gradient (σ(z) − t) / elements, on hand examples."""
    loss = LOSSES["binary_cross_entropy"]
    got = loss.value(np.array(z), np.array(t))
    assert isinstance(got, float)
    assert got == pytest.approx(math_bce(z, t), rel=1e-14)
    if value is not None:
        assert got == pytest.approx(value, rel=1e-14)
    np.testing.assert_allclose(loss.gradient(np.array(z), np.array(t)), grad, rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    ("z", "t", "value", "grad"),
    [
        pytest.param([[0.0, 0.0]], [[1.0, 0.0]], LN2, [[-0.5, 0.5]], id="ln2"),
        pytest.param(
            [[0.0, LN2, LN3]], [[0.0, 0.0, 1.0]], LN2, [[1 / 6, 2 / 6, -0.5]], id="softmax-1/2"
        ),
        pytest.param(
            [[0.0, LN2, LN3]], [[1.0, 0.0, 0.0]], math.log(6.0), [[-5 / 6, 2 / 6, 3 / 6]], id="ln6"
        ),
        pytest.param(
            [[0.0, LN3], [1.0, -1.0]],
            [[0.5, 0.5], [0.0, 1.0]],
            None,  # the math-module formula
            None,
            id="batch-probability-targets",
        ),
    ],
)
def test_cross_entropy_closed_forms(
    z: list[list[float]],
    t: list[list[float]],
    value: float | None,
    grad: list[list[float]] | None,
) -> None:
    """CE of softmax(z) and its gradient (softmax(z)·Σt − t) / samples, on hand examples."""
    loss = LOSSES["cross_entropy"]
    got = loss.value(np.array(z), np.array(t))
    assert isinstance(got, float)
    assert got == pytest.approx(math_ce(z, t), rel=1e-14)
    if value is not None:
        assert got == pytest.approx(value, rel=1e-14)
    if grad is None:
        # softmax([0, ln 3]) = [1/4, 3/4]; softmax([1, −1]) = [e, 1/e] / (e + 1/e).
        p = math.exp(1.0) / (math.exp(1.0) + math.exp(-1.0))
        grad = [[(0.25 - 0.5) / 2, (0.75 - 0.5) / 2], [p / 2, (1.0 - p - 1.0) / 2]]
    np.testing.assert_allclose(loss.gradient(np.array(z), np.array(t)), grad, rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", LOSS_NAMES)
@settings(max_examples=40, deadline=None, derandomize=True)
@given(data=st.data())
def test_gradient_matches_finite_differences(name: LossName, data: st.DataObject) -> None:
    """``gradient(u, t)`` equals the central difference of ``value`` in every entry of ``u``."""
    u, t = data.draw(pairs(name))
    np.testing.assert_allclose(
        LOSSES[name].gradient(u, t), finite_difference_gradient(name, u, t), rtol=1e-6, atol=1e-6
    )


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    u=hnp.arrays(np.float64, (3, 4), elements=st.floats(-10.0, 10.0)),
    t=hnp.arrays(np.float64, (3, 4), elements=st.floats(0.0, 2.0)),
)
def test_cross_entropy_gradient_is_exact_for_unnormalised_targets(u: Array, t: Array) -> None:
    """Rows of ``t`` need not sum to 1: the gradient keeps the ``softmax(z)·Σt`` factor."""
    np.testing.assert_allclose(
        LOSSES["cross_entropy"].gradient(u, t),
        finite_difference_gradient("cross_entropy", u, t),
        rtol=1e-6,
        atol=1e-6,
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(pair=pairs())
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


@pytest.mark.parametrize("name", FROM_LOGITS)
@settings(max_examples=40, deadline=None, derandomize=True)
@given(data=st.data())
def test_cross_entropies_average_over_samples(name: LossName, data: st.DataObject) -> None:
    """With valid targets the loss is ≥ 0, the mean of the per-sample losses, and so is its
    gradient (each sample's gradient scaled by 1 / samples)."""
    z, t = data.draw(pairs(name))
    samples = len(z)
    loss = LOSSES[name]
    per_sample = [loss.value(z[i : i + 1], t[i : i + 1]) for i in range(samples)]
    assert loss.value(z, t) == pytest.approx(math.fsum(per_sample) / samples, rel=1e-12, abs=1e-300)
    assert loss.value(z, t) >= 0.0
    per_sample_grad = np.vstack([loss.gradient(z[i : i + 1], t[i : i + 1]) for i in range(samples)])
    np.testing.assert_allclose(loss.gradient(z, t), per_sample_grad / samples, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", FROM_LOGITS)
@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_cross_entropies_match_textbook_formulas(name: LossName, data: st.DataObject) -> None:
    """At moderate logits BCE = −mean(t·log σ(z) + (1 − t)·log(1 − σ(z))) and
    CE = −mean over samples of Σ t·log softmax(z), to 1e-12 relative."""
    z, t = data.draw(pairs(name, bound=5.0))
    if name == "binary_cross_entropy":
        s = 1.0 / (1.0 + np.exp(-z))
        textbook = -np.mean(t * np.log(s) + (1.0 - t) * np.log(1.0 - s))
    else:
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        textbook = -np.mean(np.sum(t * np.log(p), axis=1))
    assert LOSSES[name].value(z, t) == pytest.approx(float(textbook), rel=1e-12, abs=0)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    d=hnp.arrays(np.float64, (3, 1), elements=st.floats(-30.0, 30.0)),
    p=hnp.arrays(np.float64, (3, 1), elements=st.floats(0.0, 1.0)),
)
def test_two_class_cross_entropy_is_binary_cross_entropy_of_the_logit_gap(
    d: Array, p: Array
) -> None:
    """CE(z = [0, d], t = [1 − p, p]) = BCE(z = d, t = p), and the gradients correspond.

    The absolute tolerances allow for rounding of O(1) intermediates (e.g. softmax − 1).
    """
    ce, bce = LOSSES["cross_entropy"], LOSSES["binary_cross_entropy"]
    z2, t2 = np.hstack([np.zeros_like(d), d]), np.hstack([1.0 - p, p])
    assert ce.value(z2, t2) == pytest.approx(bce.value(d, p), rel=1e-12, abs=1e-15)
    g = ce.gradient(z2, t2)
    np.testing.assert_allclose(g[:, 1:], bce.gradient(d, p), rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(g[:, :1], -g[:, 1:], rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize(
    ("name", "z", "t", "value", "grad"),
    [
        ("binary_cross_entropy", [[1000.0]], [[0.0]], 1000.0, [[1.0]]),
        ("binary_cross_entropy", [[-1000.0]], [[0.0]], 0.0, [[0.0]]),
        ("binary_cross_entropy", [[1000.0]], [[1.0]], 0.0, [[0.0]]),
        ("binary_cross_entropy", [[-1000.0]], [[1.0]], 1000.0, [[-1.0]]),
        ("binary_cross_entropy", [[1000.0, -1000.0]], [[0.25, 0.25]], 500.0, [[0.375, -0.125]]),
        ("cross_entropy", [[1000.0, -1000.0]], [[0.0, 1.0]], 2000.0, [[1.0, -1.0]]),
        ("cross_entropy", [[1000.0, -1000.0]], [[1.0, 0.0]], 0.0, [[0.0, 0.0]]),
        ("cross_entropy", [[-1000.0, 1000.0, 0.0]], [[0.5, 0.0, 0.5]], 1500.0, [[-0.5, 1.0, -0.5]]),
    ],
)
def test_cross_entropies_at_huge_logits(
    name: LossName,
    z: list[list[float]],
    t: list[list[float]],
    value: float,
    grad: list[list[float]],
) -> None:
    """|z| = 1000 gives finite values on the right asymptotes, without overflow warnings
    (filterwarnings=error): BCE → max(z, 0) − z·t, CE → Σ t·(max z − z)."""
    loss = LOSSES[name]
    za, ta = np.array(z), np.array(t)
    got = loss.value(za, ta)
    assert math.isfinite(got)
    assert got == pytest.approx(value, rel=1e-15, abs=0)
    gradient = loss.gradient(za, ta)
    assert np.isfinite(gradient).all()
    np.testing.assert_allclose(gradient, grad, rtol=1e-15, atol=0)


GAP_ONE = 1.0 + math.log1p(math.exp(-1.0))  # −log softmax([m, m − 1])₁ for any m


@pytest.mark.parametrize(
    ("z", "t", "expected"),
    [
        ([[1e5, 1e5]], [[1.0, 0.0]], LN2),
        ([[1e15, 1e15]], [[1.0, 0.0]], LN2),
        ([[1e17, 1e17]], [[0.0, 1.0]], LN2),
        ([[-1e17, -1e17]], [[1.0, 0.0]], LN2),
        ([[1e5, 1e5 - 1.0]], [[0.0, 1.0]], GAP_ONE),
        ([[1e15, 1e15 - 1.0]], [[0.0, 1.0]], GAP_ONE),
    ],
)
def test_cross_entropy_keeps_precision_at_large_logits(
    z: list[list[float]], t: list[list[float]], expected: float
) -> None:
    """Only logit differences matter, however large the logits (a ``logsumexp(z) − z`` form
    cancels: it gives 0.75 for [1e15, 1e15] and 0 for [1e17, 1e17] instead of ln 2)."""
    value = LOSSES["cross_entropy"].value(np.array(z), np.array(t))
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", REGRESSION)
def test_zero_at_target_and_inputs_untouched(name: LossName) -> None:
    """y = t gives zero loss and zero gradient; neither argument is modified."""
    original = np.array([[0.25, -3.0], [1.5, 2.0], [0.0, -0.5]])
    y, t = original.copy(), original.copy()
    loss = LOSSES[name]
    assert loss.value(y, t) == 0.0
    np.testing.assert_array_equal(loss.gradient(y, t), np.zeros_like(y))
    np.testing.assert_array_equal(y, original)
    np.testing.assert_array_equal(t, original)


def _entropy(p: float) -> float:
    return -p * math.log(p) if p > 0.0 else 0.0


@pytest.mark.parametrize("name", FROM_LOGITS)
def test_minimum_where_prediction_matches_target(name: LossName) -> None:
    """At σ(z) = t (BCE) or softmax(z) = t (CE) the gradient is zero and the loss is the targets'
    entropy, not 0; moving z away raises the loss. Neither argument is modified."""
    if name == "binary_cross_entropy":
        t = np.array([[0.25, 0.5], [0.9, 0.125]])
        z = np.log(t / (1.0 - t))  # the logit, so that σ(z) = t
        entropy = math.fsum(_entropy(p) + _entropy(1.0 - p) for p in t.flat) / t.size
    else:
        t = np.array([[0.25, 0.25, 0.5], [0.1, 0.6, 0.3]])
        z = np.log(t) + np.array([[0.0], [7.0]])  # any constant per row
        entropy = math.fsum(_entropy(p) for p in t.flat) / len(t)
    z_before, t_before = z.copy(), t.copy()
    loss = LOSSES[name]
    minimum = loss.value(z, t)
    assert minimum == pytest.approx(entropy, rel=1e-14)
    np.testing.assert_allclose(loss.gradient(z, t), 0.0, rtol=0, atol=1e-16)
    rng = np.random.default_rng(2)
    for _ in range(20):
        assert loss.value(z + rng.normal(scale=0.1, size=z.shape), t) > minimum
    np.testing.assert_array_equal(z, z_before)
    np.testing.assert_array_equal(t, t_before)


@pytest.mark.parametrize("name", FROM_LOGITS)
def test_hard_targets_approach_zero_loss(name: LossName) -> None:
    """With 0/1 targets the infimum 0 is reached only as the logits separate without bound."""
    t = np.array([[1.0, 0.0], [0.0, 1.0]])
    signs = 2.0 * t - 1.0
    values = [LOSSES[name].value(scale * signs, t) for scale in (0.5, 2.0, 8.0, 800.0)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert values[-2] > 0.0
    assert values[-1] == 0.0
