"""Checking a hand derivation: the order of the steps, verdicts, and what each claim is measured by.

The planted mistakes and their hints are tested through the API
(tests/api/routes/test_diagnostics.py); here the engine's own contract: order, tolerance,
transposed claims, lazy failures.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.nn.activations import ActivationName
from app.nn.check import Key, check, error, order
from app.nn.errors import NonFiniteError
from app.nn.losses import LOSSES
from app.nn.network import Parameters, compute_gradients, evaluate
from app.nn.types import Array
from tests.notebook_values import NOTEBOOK, T, X

LR = 0.01


def _notebook_by_hand() -> dict[Key, Array]:
    """Every value of the notebook's first epoch, in its own arithmetic (1-D NumPy, np.outer)."""
    W1, B1 = np.array([[0.1, -0.2, 0.4], [-0.5, 0.3, 0.2]]), np.array([0.0, 0.05])
    W2, B2 = np.array([[0.3, -0.7]]), np.array([0.1])
    x, y_true = X[0], T[0]
    Z = W1 @ x + B1
    H = np.maximum(0, Z)
    y = W2 @ H + B2
    B2_grad = y - y_true
    W2_grad = np.outer(B2_grad, H)
    B1_grad = B2_grad * W2.flatten() * (Z > 0)
    W1_grad = np.outer(B1_grad, x)
    return {
        ("layers", 0, "z"): Z[None],
        ("layers", 0, "a"): H[None],
        ("layers", 1, "z"): y[None],
        ("layers", 1, "a"): y[None],
        ("outputs",): y[None],
        ("loss",): np.array(0.5 * float(((y - y_true) ** 2).sum())),
        ("gradients", 0, "weights"): W1_grad,
        ("gradients", 0, "bias"): B1_grad,
        ("gradients", 1, "weights"): W2_grad,
        ("gradients", 1, "bias"): B2_grad,
        ("network", "layers", 0, "weights"): W1 - LR * W1_grad,
        ("network", "layers", 0, "bias"): B1 - LR * B1_grad,
        ("network", "layers", 1, "weights"): W2 - LR * W2_grad,
        ("network", "layers", 1, "bias"): B2 - LR * B2_grad,
    }


def test_order_follows_the_computation() -> None:
    """forward → loss → output delta → backward (last layer first, δ before W) → update."""
    assert list(order(2)) == [
        ("forward", ("layers", 0, "z")),
        ("forward", ("layers", 0, "a")),
        ("forward", ("layers", 1, "z")),
        ("forward", ("layers", 1, "a")),
        ("forward", ("outputs",)),
        ("loss", ("loss",)),
        ("output_delta", ("gradients", 1, "bias")),
        ("backward", ("gradients", 1, "weights")),
        ("backward", ("gradients", 0, "bias")),
        ("backward", ("gradients", 0, "weights")),
        ("update", ("network", "layers", 0, "weights")),
        ("update", ("network", "layers", 0, "bias")),
        ("update", ("network", "layers", 1, "weights")),
        ("update", ("network", "layers", 1, "bias")),
    ]


def test_notebook_by_hand_is_all_right_in_order() -> None:
    """The notebook's own arithmetic, claimed in any order, checks out in the computation's."""
    claims = _notebook_by_hand()
    shuffled = dict(reversed(list(claims.items())))
    checks = check(NOTEBOOK, X, T, "half_squared_error", LR, shuffled, 1e-12)
    assert [c.key for c in checks] == [key for _, key in order(2)]
    assert all(c.right and c.hint is None for c in checks)
    assert max(c.error or 0.0 for c in checks) < 1e-15


def test_error_is_relative_above_one_and_absolute_below() -> None:
    """|c − t| / max(1, |t|), and no overflow between opposite huge numbers."""
    assert error(np.array([1.5, 0.2]), np.array([1.0, 0.1])) == pytest.approx(0.5)
    assert error(np.array([150.0]), np.array([100.0])) == pytest.approx(0.5)
    assert error(np.array([-1e308]), np.array([1e308])) == pytest.approx(2.0)


def test_tolerance_decides_the_verdict() -> None:
    """A loss off by 1e-7 is right at tolerance 1e-6 and wrong at 1e-8."""
    claims = {("loss",): np.array(1.7766125 + 1e-7)}
    assert check(NOTEBOOK, X, T, "half_squared_error", LR, claims, 1e-6)[0].right
    wrong = check(NOTEBOOK, X, T, "half_squared_error", LR, claims, 1e-8)[0]
    assert not wrong.right
    assert wrong.error == pytest.approx(1e-7 / 1.7766125, rel=1e-6)


def test_mistakes_giving_the_same_value_are_all_named() -> None:
    """Two samples: twice the loss is a dropped ½ or a sum over the samples."""
    x, t = np.vstack([X, X]), np.vstack([T, T])
    claims = {("loss",): np.array(2 * 1.7766125)}
    (item,) = check(NOTEBOOK, x, t, "half_squared_error", LR, claims, 1e-6)
    assert item.hint == (
        "the ½ is missing: the loss is ½·Σ(y − t)² per sample — or summed over the samples: "
        "a batch's loss is the mean of the samples' losses"
    )


def test_transposed_claim_is_wrong_with_no_error_value() -> None:
    """A (3, 2) claim for the (2, 3) ∂L/∂W0: wrong, error null, the hint says transposed."""
    W1_grad = _notebook_by_hand()[("gradients", 0, "weights")]
    (item,) = check(
        NOTEBOOK, X, T, "half_squared_error", LR, {("gradients", 0, "weights"): W1_grad.T}, 1e-6
    )
    assert (item.right, item.error) == (False, None)
    assert item.hint is not None
    assert item.hint.startswith("transposed: ∂L/∂W = δ·a_prevᵀ")
    (item,) = check(
        NOTEBOOK, X, T, "half_squared_error", LR, {("gradients", 0, "weights"): -W1_grad.T}, 1e-6
    )
    assert item.hint is not None
    assert "transposed back it is wrong too" in item.hint
    assert item.wrong_entry == (0, 0)


def test_the_first_wrong_entry_is_measured_as_the_error_is() -> None:
    """Within tolerance at [0, 0] by the scaled measure, over it at [1, 1] and [1, 2]: the first
    wrong entry is [1, 1], in row-major order; a right claim has none."""
    W1_grad = _notebook_by_hand()[("gradients", 0, "weights")]
    claimed = W1_grad + np.array([[1e-7, 0.0, 0.0], [0.0, 1e-3, 1e-3]])
    key: Key = ("gradients", 0, "weights")
    (item,) = check(NOTEBOOK, X, T, "half_squared_error", LR, {key: claimed}, 1e-6)
    assert item.wrong_entry == (1, 1)
    (item,) = check(NOTEBOOK, X, T, "half_squared_error", LR, {key: W1_grad}, 1e-6)
    assert item.wrong_entry is None


# y = 1e300 · tanh(1e-300) is fine, but ∂L/∂W0 = 1e300 · 1e10 overflows.
OVERFLOWING = Parameters.from_layers([[[1e-310]], [[1e300]]], [[0.0], [0.0]], ["tanh", "identity"])


def test_values_are_computed_only_when_claimed() -> None:
    """A network whose gradients overflow: its forward pass and loss check out, its gradients
    cannot be checked..."""
    x, t = np.array([[1e10]]), np.array([[0.0]])
    claims = {("layers", 0, "z"): np.array([[1e-300]]), ("loss",): np.array(0.5)}
    checks = check(OVERFLOWING, x, t, "half_squared_error", LR, claims, 1e-6)
    assert [c.right for c in checks] == [True, True]
    claims = {("gradients", 0, "bias"): np.array([0.0])}
    with pytest.raises(NonFiniteError, match="layer 0: the gradient is not finite"):
        check(OVERFLOWING, x, t, "half_squared_error", LR, claims, 1e-6)


def test_an_overflowing_update_raises() -> None:
    """...but an update to infinity cannot be checked."""
    claims = {("network", "layers", 1, "bias"): np.array([0.0])}
    with pytest.raises(NonFiniteError, match="an updated parameter is not finite"):
        check(NOTEBOOK, X, T, "half_squared_error", 1e308, claims, 1e-6)


HIDDEN: list[ActivationName] = ["identity", "relu", "leaky_relu", "sigmoid", "tanh"]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(data=st.data())
def test_one_planted_error_is_the_first_and_only_wrong(data: st.DataObject) -> None:
    """Random networks: the correct values all pass; one entry moved by 0.5 is the one wrong."""
    widths = data.draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    shapes = [(units, inputs) for inputs, units in itertools.pairwise(widths)]
    params = Parameters.from_layers(
        [data.draw(hnp.arrays(np.float64, s, elements=st.floats(-1, 1))) for s in shapes],
        [data.draw(hnp.arrays(np.float64, s[0], elements=st.floats(-1, 1))) for s in shapes],
        [data.draw(st.sampled_from(HIDDEN)) for _ in shapes],
    )
    samples = data.draw(st.integers(1, 3))
    x = data.draw(hnp.arrays(np.float64, (samples, widths[0]), elements=st.floats(-1, 1)))
    t = data.draw(hnp.arrays(np.float64, (samples, widths[-1]), elements=st.floats(-1, 1)))
    loss = LOSSES["half_squared_error"]
    fwd, value = evaluate(params, x, t, loss)
    grads = compute_gradients(params, fwd, t, loss)
    updated = params.with_flat(params.flat - LR * grads.flat)
    claims: dict[Key, Array] = {("outputs",): fwd.outputs, ("loss",): np.array(value)}
    for index, ((gW, gb), (W, b)) in enumerate(zip(grads.layers, updated.layers, strict=True)):
        claims |= {
            ("layers", index, "z"): fwd.z[index],
            ("layers", index, "a"): fwd.a[index],
            ("gradients", index, "weights"): gW,
            ("gradients", index, "bias"): gb,
            ("network", "layers", index, "weights"): W,
            ("network", "layers", index, "bias"): b,
        }
    assert all(c.right for c in check(params, x, t, "half_squared_error", LR, claims, 1e-12))
    planted = data.draw(st.sampled_from(sorted(claims, key=str)))
    claims[planted] = claims[planted] + 0.5
    checks = check(params, x, t, "half_squared_error", LR, claims, 1e-6)
    assert [c.key for c in checks if not c.right] == [planted]
