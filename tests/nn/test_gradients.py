"""Analytic gradients against central finite differences and an independent per-sample reference."""

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

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
KINKED = frozenset(name for name, activation in ACTIVATIONS.items() if activation.kinked)
ACTIVATION_NAMES: list[ActivationName] = list(ACTIVATIONS)
LOSS_NAMES: list[LossName] = list(LOSSES)
# The last layer each classification loss goes with (the API enforces these pairs).
CLASSIFIERS: dict[LossName, ActivationName] = {
    name: loss.output_activation for name, loss in LOSSES.items() if loss.output_activation
}


# Reference activations for one sample (1-D vectors), written independently of app.nn:
# ``(forward(z), backward(z, da) = Jᵀ·da)``. sigmoid uses ½(1 + tanh(z/2)), which cannot overflow;
# softmax builds its full Jacobian diag(s) − s·sᵀ.
def _elementwise(
    f: Callable[[Array], Array], df: Callable[[Array], Array]
) -> tuple[Callable[[Array], Array], Callable[[Array, Array], Array]]:
    return f, lambda z, da: da * df(z)


def _ref_sigmoid(z: Array) -> Array:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _ref_softmax(z: Array) -> Array:
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def _ref_softmax_backward(z: Array, da: Array) -> Array:
    s = _ref_softmax(z)
    jacobian = np.diag(s) - np.outer(s, s)
    return jacobian.T @ da


REFERENCE: dict[
    ActivationName, tuple[Callable[[Array], Array], Callable[[Array, Array], Array]]
] = {
    "identity": _elementwise(lambda z: z, np.ones_like),
    "relu": _elementwise(lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64)),
    "leaky_relu": _elementwise(
        lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
        lambda z: np.where(z > 0, 1.0, LEAKY_RELU_SLOPE),
    ),
    "sigmoid": _elementwise(_ref_sigmoid, lambda z: 0.25 * (1.0 - np.tanh(0.5 * z) ** 2)),
    "tanh": _elementwise(np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "softmax": (_ref_softmax, _ref_softmax_backward),
}

# Reference loss gradients for one sample: regression losses with respect to the outputs ``a``,
# the cross-entropies with respect to the logits ``z`` (d/dz of max(z, 0) − z·t + log(1 + e^−|z|)
# is σ(z) − t; d/dz of Σ t·(logsumexp(z) − z) is softmax(z)·Σt − t).
REFERENCE_LOSS_GRADIENT: dict[LossName, Callable[[Array, Array], Array]] = {
    "half_squared_error": lambda a, t: a - t,
    "mean_squared_error": lambda a, t: 2.0 * (a - t) / a.size,
    "binary_cross_entropy": lambda z, t: (_ref_sigmoid(z) - t) / z.size,
    "cross_entropy": lambda z, t: _ref_softmax(z) * np.sum(t) - t,
}
FROM_LOGITS: frozenset[LossName] = frozenset(CLASSIFIERS)


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
def _targets(draw: st.DrawFn, loss: LossName, shape: tuple[int, int]) -> Array:
    """Targets valid for the loss: [-1, 1] (regression), [0, 1] (BCE), probability rows (CE)."""
    if loss == "binary_cross_entropy":
        return draw(hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0)))
    if loss != "cross_entropy":
        return draw(_values(shape))
    rows = np.zeros(shape)
    for row in rows:
        if draw(st.booleans()):
            row[draw(st.integers(0, shape[1] - 1))] = 1.0
        else:
            weights = draw(hnp.arrays(np.float64, shape[1], elements=st.floats(0.01, 1.0)))
            row[:] = weights / weights.sum()
    return rows


@st.composite
def cases(
    draw: st.DrawFn,
    activation: ActivationName | None = None,
    loss: LossName | None = None,
    samples: int | None = None,
    last: ActivationName | None = None,
    min_depth: int = 1,
    min_width: int = 1,
) -> Case:
    """1-4 layers of 1-5 units, 1-4 samples; activations, loss and targets drawn unless given.

    A classification loss gets its own last layer (sigmoid for BCE, softmax for CE) and valid
    targets, as the API requires; ``last`` overrides the last layer's activation.
    """
    depth = draw(st.integers(min_depth, 4))
    widths = draw(st.lists(st.integers(min_width, 5), min_size=depth + 1, max_size=depth + 1))
    n = samples if samples is not None else draw(st.integers(1, 4))
    names: list[ActivationName] = [
        activation if activation is not None else draw(st.sampled_from(ACTIVATION_NAMES))
        for _ in range(depth)
    ]
    loss_name = loss if loss is not None else draw(st.sampled_from(LOSS_NAMES))
    if last is not None:
        names[-1] = last
    elif loss_name in CLASSIFIERS:
        names[-1] = CLASSIFIERS[loss_name]
    shapes = [(units, inputs) for inputs, units in itertools.pairwise(widths)]
    weights = [draw(_values(shape)).tolist() for shape in shapes]
    biases = [draw(_values((units,))).tolist() for units, _ in shapes]
    x = draw(_values((n, widths[0])))
    t = draw(_targets(loss_name, (n, widths[-1])))
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
    """Backpropagation for one sample with 1-D vectors: ``[(dL/dW, dL/db)]`` per layer.

    For a loss from logits, backpropagation starts at ``dL/dz`` of the last layer, skipping that
    layer's activation; otherwise at ``dL/da``.
    """
    inputs: list[Array] = []
    zs: list[Array] = []
    a = x
    for (W, b), name in zip(params.layers, params.activations, strict=True):
        z = W @ a + b
        inputs.append(a)
        zs.append(z)
        a = REFERENCE[name][0](z)
    last = len(params.layers) - 1
    upstream = REFERENCE_LOSS_GRADIENT[loss](zs[last] if loss in FROM_LOGITS else a, t)
    grads: list[tuple[Array, Array]] = []
    for index in reversed(range(len(params.layers))):
        if loss in FROM_LOGITS and index == last:
            dz = upstream
        else:
            dz = REFERENCE[params.activations[index]][1](zs[index], upstream)
        grads.append((np.outer(dz, inputs[index]), dz))
        upstream = params.layers[index][0].T @ dz
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
    """Mixed activations per layer, any loss: analytic gradients equal central differences."""
    assume_away_from_kinks(case)
    np.testing.assert_allclose(
        analytic_gradient(case).flat, finite_difference_gradient(case), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("loss", ["half_squared_error", "mean_squared_error"])
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


@pytest.mark.parametrize("loss", list(CLASSIFIERS))
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@settings(max_examples=10, deadline=None, derandomize=True)
@given(data=st.data())
def test_gradients_match_finite_differences_per_hidden_activation(
    activation: ActivationName, loss: LossName, data: st.DataObject
) -> None:
    """1-3 hidden layers of one activation before a classifier's own last layer."""
    case = data.draw(cases(activation=activation, loss=loss, min_depth=2))
    assert case.params.activations[:-1] == (activation,) * (len(case.params.layers) - 1)
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
    """Every loss averages over samples, so the batch gradient is the mean per-sample gradient."""
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


def assert_matches_finite_differences(case: Case) -> None:
    """The analytic gradient of the case equals central differences of its loss."""
    assume_away_from_kinks(case)
    np.testing.assert_allclose(
        analytic_gradient(case).flat, finite_difference_gradient(case), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("loss", list(CLASSIFIERS))
@settings(max_examples=30, deadline=None, derandomize=True)
@given(data=st.data())
def test_classifier_networks_match_finite_differences(loss: LossName, data: st.DataObject) -> None:
    """Networks ending in sigmoid (BCE) or softmax (CE), batches of 2-4 samples, any hidden layers,
    targets in [0, 1] or probability rows."""
    samples = data.draw(st.integers(2, 4))
    case = data.draw(cases(loss=loss, samples=samples, min_width=2))
    assert case.params.activations[-1] == CLASSIFIERS[loss]
    assert_matches_finite_differences(case)


@pytest.mark.parametrize("loss", ["half_squared_error", "mean_squared_error"])
@settings(max_examples=25, deadline=None, derandomize=True)
@given(data=st.data())
def test_softmax_layers_with_regression_losses_match_finite_differences(
    loss: LossName, data: st.DataObject
) -> None:
    """softmax as a hidden and as the last layer under a squared error (its full Jacobian)."""
    samples = data.draw(st.integers(1, 4))
    case = data.draw(cases(loss=loss, samples=samples, last="softmax", min_depth=2, min_width=2))
    hidden = data.draw(st.integers(0, len(case.params.layers) - 2))
    activations = list(case.params.activations)
    activations[hidden] = "softmax"
    case = Case(replace(case.params, activations=tuple(activations)), case.x, case.t, loss)
    assert_matches_finite_differences(case)
    assert_layers_close(
        analytic_gradient(case), reference_batch_gradients(case.params, case.x, case.t, loss)
    )


@pytest.mark.parametrize("loss", list(CLASSIFIERS))
@pytest.mark.parametrize("other", ["identity", "relu"])
@settings(max_examples=20, deadline=None, derandomize=True)
@given(data=st.data())
def test_losses_from_logits_ignore_the_last_activation(
    loss: LossName, other: ActivationName, data: st.DataObject
) -> None:
    """The loss and every gradient depend on the last layer's ``z`` only, not its activation."""
    case = data.draw(cases(loss=loss))
    swapped = Case(
        replace(case.params, activations=(*case.params.activations[:-1], other)),
        case.x,
        case.t,
        loss,
    )
    _, value = evaluate(case.params, case.x, case.t, LOSSES[loss])
    _, swapped_value = evaluate(swapped.params, case.x, case.t, LOSSES[loss])
    assert swapped_value == value
    np.testing.assert_array_equal(analytic_gradient(swapped).flat, analytic_gradient(case).flat)


@pytest.mark.parametrize("loss", list(CLASSIFIERS))
@settings(max_examples=25, deadline=None, derandomize=True)
@given(data=st.data())
def test_loss_from_logits_is_the_textbook_loss_of_the_outputs(
    loss: LossName, data: st.DataObject
) -> None:
    """With its API pairing, the loss read from ``z`` equals the textbook loss of the outputs ``a``:
    −mean(t·log a + (1 − t)·log(1 − a)) for sigmoid, −mean over samples Σ t·log a for softmax."""
    case = data.draw(cases(loss=loss))
    fwd, value = evaluate(case.params, case.x, case.t, LOSSES[loss])
    assume(bool(np.all(np.abs(fwd.z[-1]) <= 10.0)))  # keeps log(1 − a) free of cancellation
    a, t = fwd.outputs, case.t
    if loss == "binary_cross_entropy":
        textbook = -np.mean(t * np.log(a) + (1.0 - t) * np.log(1.0 - a))
    else:
        textbook = -np.mean(np.sum(t * np.log(a), axis=1))
    assert value == pytest.approx(float(textbook), rel=1e-9, abs=1e-15)


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
    assert grads.shapes == params.shapes == ((3, 2), (1, 3))
    assert grads.activations == params.activations
    for gW, gb in grads.layers:
        assert np.shares_memory(gW, grads.flat)
        assert np.shares_memory(gb, grads.flat)
    out = params.zeros(params.shapes, params.activations)
    returned = compute_gradients(params, fwd, t, loss, out)
    assert returned is out
    np.testing.assert_array_equal(out.flat, grads.flat)
    assert_layers_close(grads, reference_batch_gradients(params, x, t, "half_squared_error"))


def test_parameters_from_layers_lay_out_weights_then_bias_per_layer() -> None:
    """The flat vector is W row by row, then b, layer after layer; ragged input is refused."""
    params = Parameters.from_layers(
        [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0]]], [[7.0, 8.0], [9.0]], ["relu", "identity"]
    )
    assert params.flat.tolist() == [1.0, 2.0, 3.0, 4.0, 7.0, 8.0, 5.0, 6.0, 9.0]
    assert params.shapes == ((2, 2), (1, 2))
    np.testing.assert_array_equal(params.layers[1][0], [[5.0, 6.0]])
    with pytest.raises(ValueError, match="ragged"):
        Parameters.from_layers([[[1.0, 2.0], [3.0]]], [[0.0, 0.0]], ["relu"])
    with pytest.raises(ValueError, match="bias"):
        Parameters.from_layers([[[1.0, 2.0]]], [[0.0, 0.0]], ["relu"])
