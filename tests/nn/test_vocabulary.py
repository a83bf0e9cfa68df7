"""The engine's vocabulary tables: each activation's, loss's and optimizer's record says what its
computation does (kink, last layer only, the activation a loss needs, PyTorch's module and class),
checked against the computation itself and against PyTorch."""

from typing import get_args

import numpy as np
import pytest

from app.nn.activations import ACTIVATIONS, LEAKY_RELU_SLOPE, ActivationName
from app.nn.losses import LOSSES, LossName
from app.nn.optimizers import OPTIMIZERS, SGD, Adam, OptimizerName
from app.nn.types import Array
from tests.helpers import activate

H = 1e-7
ROWS = np.array([[-2.5, -0.3, 0.0, 0.7, 3.1], [1.0, 1.0, -4.0, 0.2, 0.05]])


def _forward(name: ActivationName, z: Array) -> Array:
    return activate(ACTIVATIONS[name], z)


def test_every_table_lists_its_names_in_order() -> None:
    """Each table is keyed by its Literal's names, in the Literal's order."""
    assert list(ACTIVATIONS) == list(get_args(ActivationName))
    assert list(LOSSES) == list(get_args(LossName))
    assert list(OPTIMIZERS) == list(get_args(OptimizerName))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_derivative_through_the_table_matches_finite_differences(name: ActivationName) -> None:
    """Each record's backward pass is the derivative of its forward pass (a vector-Jacobian
    product per row, so softmax too), away from the kink at 0."""
    z = ROWS + 0.01  # no entry at 0
    da = np.random.default_rng(0).normal(size=z.shape)
    analytic = ACTIVATIONS[name].backward(z, _forward(name, z), da)
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[index] = H
        up, down = _forward(name, z + step), _forward(name, z - step)
        numeric[index] = np.sum(da * (up - down)) / (2 * H)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_kinked_is_a_slope_that_jumps_at_zero(name: ActivationName) -> None:
    """``kinked`` holds exactly for the activations whose one-sided slopes at 0 differ."""
    z = np.array([[-H, 0.0, H, 0.5]])
    a = _forward(name, z)
    left, right = (a[0, 1] - a[0, 0]) / H, (a[0, 2] - a[0, 1]) / H
    assert ACTIVATIONS[name].kinked == (abs(left - right) > 1e-3)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_last_layer_only_is_one_distribution_per_sample(name: ActivationName) -> None:
    """An activation is for the last layer only exactly when each row of its output sums to 1."""
    sums = _forward(name, ROWS).sum(axis=1)
    assert ACTIVATIONS[name].last_layer_only == bool(np.allclose(sums, 1.0))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_torch_module_computes_the_activation(name: ActivationName) -> None:
    """The PyTorch export's module for each activation gives the engine's numbers."""
    torch = pytest.importorskip("torch")
    module = eval(ACTIVATIONS[name].torch_module, {"nn": torch.nn})
    expected = _forward(name, ROWS)
    np.testing.assert_allclose(module(torch.tensor(ROWS)).numpy(), expected, rtol=1e-15)


def test_leaky_relu_is_written_with_its_one_slope() -> None:
    """leaky_relu's words and module carry the engine's slope, the slope its passes use."""
    record = ACTIVATIONS["leaky_relu"]
    assert str(LEAKY_RELU_SLOPE) in record.formula
    assert record.torch_module == f"nn.LeakyReLU({LEAKY_RELU_SLOPE})"
    z = np.array([[-2.0]])
    assert record.backward(z, _forward("leaky_relu", z), np.ones_like(z))[0, 0] == LEAKY_RELU_SLOPE


@pytest.mark.parametrize("name", list(LOSSES))
def test_a_losss_output_activation_is_what_it_computes_from(name: LossName) -> None:
    """A loss with an output activation is computed from z and has an accuracy; its value from z
    is the textbook loss of that activation's outputs."""
    loss = LOSSES[name]
    assert loss.from_logits == (loss.output_activation is not None)
    assert (loss.accuracy is not None) == loss.from_logits
    if loss.output_activation is None:
        return
    z = ROWS[:, :3]
    t = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])
    y = _forward(loss.output_activation, z)
    per_entry = -(t * np.log(y))
    if name == "binary_cross_entropy":
        per_entry -= (1 - t) * np.log(1 - y)
        expected = per_entry.mean()
    else:
        expected = per_entry.sum(axis=1).mean()
    assert loss.value(z, t) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_has_its_words(name: LossName) -> None:
    """Every loss names its formula, δ and difference for the hints, and a summary."""
    loss = LOSSES[name]
    assert all((loss.summary, loss.formula, loss.output_delta, loss.difference))
    assert bool(loss.logits_note) == loss.from_logits


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_defaults_are_torch_optims(name: OptimizerName) -> None:
    """Each option's class is torch.optim's, and its defaults are that class's (but SGD's
    learning rate: the notebook's 0.01, where torch.optim.SGD's is 0.001)."""
    torch = pytest.importorskip("torch")
    option = OPTIMIZERS[name]
    defaults = getattr(torch.optim, option.torch_class)([torch.zeros(1)]).defaults
    if name == "sgd":
        assert option.defaults.learning_rate == 0.01
    else:
        assert defaults["lr"] == option.defaults.learning_rate
    assert defaults["weight_decay"] == option.defaults.weight_decay
    if isinstance(option.defaults, Adam):
        assert defaults["betas"] == (option.defaults.beta1, option.defaults.beta2)
        assert defaults["eps"] == option.defaults.eps
        assert defaults["amsgrad"] == option.defaults.amsgrad
        assert option.defaults.decoupled == (option.torch_class == "AdamW")
    else:
        assert isinstance(option.defaults, SGD)
        assert defaults["momentum"] == option.defaults.momentum
        assert defaults["dampening"] == option.defaults.dampening
        assert defaults["nesterov"] == option.defaults.nesterov
