"""Analytic gradients against central finite differences and an independent per-sample reference."""

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE, ActivationName
from app.nn.losses import LOSSES, LossName
from app.nn.network import Parameters, compute_gradients, evaluate, forward
from app.nn.types import Array

EPS = 1e-6
KINK_MARGIN = 1e-3
KINKED: frozenset[ActivationName] = frozenset({"relu", "leaky_relu"})
ACTIVATION_NAMES: list[ActivationName] = list(ACTIVATIONS)
LOSS_NAMES: list[LossName] = list(LOSSES)

# Reference activations and derivatives, written independently of app.nn.activations.
# The sigmoid uses the identity sigmoid(z) = ½(1 + tanh(z/2)), which cannot overflow.
REFERENCE: dict[ActivationName, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "identity": (lambda z: z, np.ones_like),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64)),
    "leaky_relu": (
        lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
        lambda z: np.where(z > 0, 1.0, LEAKY_RELU_SLOPE),
    ),
    "sigmoid": (
        lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),
        lambda z: 0.25 * (1.0 - np.tanh(0.5 * z) ** 2),
    ),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
}


@dataclass(frozen=True)
class Case:
    """A network with a batch of inputs and targets, and the loss to differentiate."""

    params: Parameters
    x: Array
    t: Array
    loss: LossName


def _values(shape: tuple[int, ...]) -> st.SearchStrategy[Array]:
    return hnp.arrays(np.float64, shape, elements=st.floats(-1.0, 1.0))


@st.composite
def cases(
    draw: st.DrawFn,
    activation: ActivationName | None = None,
    loss: LossName | None = None,
    samples: int | None = None,
) -> Case:
    """1-4 layers of 1-5 units, 1-4 samples; activations and loss drawn unless given."""
    depth = draw(st.integers(1, 4))
    widths = draw(st.lists(st.integers(1, 5), min_size=depth + 1, max_size=depth + 1))
    n = samples if samples is not None else draw(st.integers(1, 4))
    names: list[ActivationName] = [
        activation if activation is not None else draw(st.sampled_from(ACTIVATION_NAMES))
        for _ in range(depth)
    ]
    shapes = [(units, inputs) for inputs, units in itertools.pairwise(widths)]
    weights = [draw(_values(shape)).tolist() for shape in shapes]
    biases = [draw(_values((units,))).tolist() for units, _ in shapes]
    x = draw(_values((n, widths[0])))
    t = draw(_values((n, widths[-1])))
    loss_name = loss if loss is not None else draw(st.sampled_from(LOSS_NAMES))
    return Case(Parameters.from_layers(weights, biases, names), x, t, loss_name)


def assume_away_from_kinks(case: Case) -> None:
    """Reject draws where a relu/leaky_relu input is so close to 0 that differences straddle it."""
    fwd = forward(case.params, case.x)
    for z, name in zip(fwd.z, case.params.activations, strict=True):
        if name in KINKED:
            assume(bool(np.all(np.abs(z) >= KINK_MARGIN)))


def finite_difference_gradient(case: Case) -> Array:
    """Central differences of the batch loss with respect to every entry of ``params.flat``."""
    loss = LOSSES[case.loss]

    def loss_at(flat: Array) -> float:
        return evaluate(case.params.with_flat(flat), case.x, case.t, loss)[1]

    grad = np.empty_like(case.params.flat)
    for i in range(grad.size):
        plus = case.params.flat.copy()
        minus = case.params.flat.copy()
        plus[i] += EPS
        minus[i] -= EPS
        grad[i] = (loss_at(plus) - loss_at(minus)) / (2.0 * EPS)
    return grad


def analytic_gradient(case: Case) -> Parameters:
    """``compute_gradients`` at the case's forward pass."""
    loss = LOSSES[case.loss]
    fwd, _ = evaluate(case.params, case.x, case.t, loss)
    return compute_gradients(case.params, fwd, case.t, loss)


def reference_sample_gradients(
    params: Parameters, x: Array, t: Array, loss: LossName
) -> list[tuple[Array, Array]]:
    """Backpropagation for one sample with 1-D vectors: ``[(dL/dW, dL/db)]`` per layer."""
    inputs: list[Array] = []
    zs: list[Array] = []
    a = x
    for (W, b), name in zip(params.layers, params.activations, strict=True):
        z = W @ a + b
        inputs.append(a)
        zs.append(z)
        a = REFERENCE[name][0](z)
    da = a - t if loss == "half_squared_error" else 2.0 * (a - t) / a.size
    grads: list[tuple[Array, Array]] = []
    for index in reversed(range(len(params.layers))):
        dz = da * REFERENCE[params.activations[index]][1](zs[index])
        grads.append((np.outer(dz, inputs[index]), dz))
        da = params.layers[index][0].T @ dz
    return grads[::-1]


def reference_batch_gradients(
    params: Parameters, x: Array, t: Array, loss: LossName
) -> list[tuple[Array, Array]]:
    """The mean over samples of :func:`reference_sample_gradients`."""
    per_sample = [
        reference_sample_gradients(params, xi, ti, loss) for xi, ti in zip(x, t, strict=True)
    ]
    return [
        (
            np.mean([g[k][0] for g in per_sample], axis=0),
            np.mean([g[k][1] for g in per_sample], axis=0),
        )
        for k in range(len(params.layers))
    ]


def assert_layers_close(got: Parameters, expected: list[tuple[Array, Array]]) -> None:
    """Every layer's ``(gW, gb)`` matches the expected pair to near machine precision."""
    assert len(got.layers) == len(expected)
    for (gW, gb), (eW, eb) in zip(got.layers, expected, strict=True):
        np.testing.assert_allclose(gW, eW, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gb, eb, rtol=1e-9, atol=1e-12)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(cases())
def test_gradients_match_finite_differences(case: Case) -> None:
    """Mixed activations per layer, either loss: analytic gradients equal central differences."""
    assume_away_from_kinks(case)
    np.testing.assert_allclose(
        analytic_gradient(case).flat, finite_difference_gradient(case), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("loss", LOSS_NAMES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@settings(max_examples=15, deadline=None, derandomize=True)
@given(data=st.data())
def test_gradients_match_finite_differences_per_activation(
    activation: ActivationName, loss: LossName, data: st.DataObject
) -> None:
    """Every layer uses the same activation: each activation and loss is covered on its own."""
    case = data.draw(cases(activation=activation, loss=loss))
    assume_away_from_kinks(case)
    np.testing.assert_allclose(
        analytic_gradient(case).flat, finite_difference_gradient(case), rtol=1e-5, atol=1e-6
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(cases(samples=1))
def test_batch_of_one_matches_single_sample_reference(case: Case) -> None:
    """A batch of one sample gets exactly that sample's gradients (1-D reference backprop)."""
    expected = reference_sample_gradients(case.params, case.x[0], case.t[0], case.loss)
    assert_layers_close(analytic_gradient(case), expected)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(cases())
def test_batch_gradient_is_mean_of_per_sample_gradients(case: Case) -> None:
    """Both losses average over samples, so the batch gradient is the mean per-sample gradient."""
    loss = LOSSES[case.loss]
    n = len(case.x)
    singles = [Case(case.params, case.x[i : i + 1], case.t[i : i + 1], case.loss) for i in range(n)]
    per_sample = np.array([analytic_gradient(single).flat for single in singles])
    np.testing.assert_allclose(
        analytic_gradient(case).flat, per_sample.mean(axis=0), rtol=1e-9, atol=1e-12
    )
    per_sample_loss = [evaluate(s.params, s.x, s.t, loss)[1] for s in singles]
    _, batch_loss = evaluate(case.params, case.x, case.t, loss)
    assert batch_loss == pytest.approx(float(np.mean(per_sample_loss)), rel=1e-12, abs=1e-15)

    assert_layers_close(
        analytic_gradient(case), reference_batch_gradients(case.params, case.x, case.t, case.loss)
    )


def test_gradient_layout_and_out_buffer() -> None:
    """Gradients share the parameters' layout, and ``out`` is written in place and returned."""
    params = Parameters.from_layers(
        [[[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]], [[1.0, -2.0, 0.5]]],
        [[0.1, -0.2, 0.3], [0.05]],
        ["tanh", "identity"],
    )
    x = np.array([[1.0, 2.0], [-0.5, 0.5]])
    t = np.array([[0.3], [-0.1]])
    loss = LOSSES["half_squared_error"]
    fwd, _ = evaluate(params, x, t, loss)
    grads = compute_gradients(params, fwd, t, loss)
    assert grads.shapes == params.shapes == [(3, 2), (1, 3)]
    assert grads.activations == params.activations
    for gW, gb in grads.layers:
        assert np.shares_memory(gW, grads.flat)
        assert np.shares_memory(gb, grads.flat)
    out = params.zeros(params.shapes, params.activations)
    returned = compute_gradients(params, fwd, t, loss, out)
    assert returned is out
    np.testing.assert_array_equal(out.flat, grads.flat)
    assert_layers_close(grads, reference_batch_gradients(params, x, t, "half_squared_error"))
