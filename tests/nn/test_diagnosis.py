"""Diagnoses from training health, on planted runs: vanishing (deep sigmoid), exploding (gain 3
per layer), dead ReLUs (from the start, and knocked out by a huge rate), saturated units,
divergence, learning rates far too high and too low; healthy runs yield none."""

import itertools
import math

import numpy as np
import pytest

from app.nn.activations import ActivationName
from app.nn.diagnosis import Change, Checkup, Diagnosis, Divergence, diagnose
from app.nn.losses import LOSSES, LossName
from app.nn.network import Parameters
from app.nn.optimizers import SGD, Adam, Optimizer
from app.nn.training import train
from app.nn.types import Array

XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_T = np.array([[0.0], [1.0], [1.0], [0.0]])
NOTEBOOK_X, NOTEBOOK_T = np.array([[-1.0, 2.0, 1.5]]), np.array([[1.0]])


def _network(layers: list[tuple[Array, Array, ActivationName]]) -> Parameters:
    return Parameters.from_layers(
        [np.asarray(w, dtype=float).tolist() for w, _, _ in layers],
        [np.asarray(b, dtype=float).tolist() for _, b, _ in layers],
        [name for _, _, name in layers],
    )


def _notebook() -> Parameters:
    return _network([
        ([[0.1, -0.2, 0.4], [-0.5, 0.3, 0.2]], [0.0, 0.05], "relu"),
        ([[0.3, -0.7]], [0.1], "identity"),
    ])  # fmt: skip


def _run(
    params: Parameters,
    x: Array,
    t: Array,
    optimizer: Optimizer,
    epochs: int,
    loss: LossName = "half_squared_error",
) -> list[Diagnosis]:
    """Train with health kept and diagnose the run from its first and last records."""
    run = train(
        params, x, t, LOSSES[loss], optimizer, epochs, keep=("layers", "gradients", "health")
    )
    checkups = [
        Checkup(record.epoch, record.loss, record.health)
        for record in run
        if record.health is not None
    ]
    result = run.result
    divergence = None
    if result.non_finite is not None and result.diverged_at_epoch is not None:
        divergence = Divergence(result.diverged_at_epoch, *result.non_finite)
    rate = optimizer.learning_rate if isinstance(optimizer, SGD | Adam) else 0.0
    return diagnose(checkups, params.activations, rate, divergence)


def _deep_sigmoid() -> Parameters:
    rng = np.random.default_rng(0)
    sizes = [2, 8, 8, 8, 8, 8, 1]
    return _network([
        (rng.normal(0, 1 / math.sqrt(n_in), (n_out, n_in)), np.zeros(n_out), "sigmoid")
        for n_in, n_out in itertools.pairwise(sizes)
    ])  # fmt: skip


def test_vanishing_gradients_of_a_deep_sigmoid_network() -> None:
    """Six sigmoid layers: the first layer's gradient is under 1e-2 of the last's; the change
    turns the five hidden layers to ReLU with He init."""
    (found,) = _run(_deep_sigmoid(), XOR, XOR_T, SGD(0.1), 5)
    assert found.id == "vanishing_gradients"
    assert found.layer == 1
    assert found.change == Change(activation="relu", layers=(1, 2, 3, 4, 5), init="he_normal")
    assert found.text.startswith("in epoch 5 the gradient of layer 1 is ")
    assert "of layer 6's: sigmoid derivatives are at most 0.25" in found.text
    assert "multiply over 6 layers; try ReLU with He init" in found.text


def test_vanishing_gradients_that_left_a_network_on_a_plateau() -> None:
    """400 epochs on: the deep sigmoid network outputs the mean, 0.5, every gradient is near 0
    and the first layer's is no longer 1e-2 of the last's; the first recorded epoch's ratio
    still tells why (no learning rate too low is said)."""
    (found,) = _run(_deep_sigmoid(), XOR, XOR_T, SGD(0.1), 400)
    assert found.id == "vanishing_gradients"
    assert found.text.startswith("in epoch 1 the gradient of layer 1 is ")


def test_exploding_gradients_of_a_deep_network_with_gain_3() -> None:
    """Seven identity layers of weights 3·I: the first layer's gradient is 3⁵·√2 ≈ 344 times the
    last's; the change is Xavier init."""
    layers = [(3.0 * np.eye(2), np.zeros(2), "identity") for _ in range(6)]
    params = _network([*layers, (np.ones((1, 2)), np.zeros(1), "identity")])  # type: ignore[list-item]
    (found,) = _run(params, XOR * 1e-9, XOR_T, SGD(1e-6), 1)
    assert found.id == "exploding_gradients"
    assert found.change == Change(init="xavier_normal")
    assert found.text.startswith("in epoch 1 the gradient of layer 1 is 344 times layer 7's")


def test_relus_dead_from_the_start() -> None:
    """Three of four ReLU units with a bias of −10 never turn on: 75% dead since the first epoch;
    the change is leaky ReLU for that layer."""
    params = _network([
        (np.ones((4, 2)), [-10.0, -10.0, -10.0, 0.5], "relu"),
        (np.ones((1, 4)), [0.0], "identity"),
    ])  # fmt: skip
    (found,) = _run(params, XOR, XOR_T, SGD(0.01), 3)
    assert found == Diagnosis(
        "dead_relus",
        1,
        "75% of layer 1's ReLUs are dead (z ≤ 0 on every sample): no gradient flows through "
        "them since epoch 1; try leaky ReLU, which passes a gradient where z < 0",
        Change(activation="leaky_relu", layers=(1,)),
    )


def test_relus_knocked_out_by_a_huge_rate() -> None:
    """At a learning rate of 5 the first update drives every hidden bias far below 0: none dead
    in epoch 1, all dead after; the change is a learning rate ten times lower (offered once,
    though the update ratios are far too high too)."""
    params = _network([
        ([[0.5, 0.4], [0.3, 0.6], [0.7, 0.2]], [0.1, 0.1, 0.1], "relu"),
        ([[1.0, 1.0, 1.0]], [0.0], "identity"),
    ])  # fmt: skip
    (dead,) = _run(params, XOR, XOR_T, SGD(5.0), 3)
    assert dead.id == "dead_relus"
    assert dead.change == Change(learning_rate=0.5)
    assert dead.text.startswith("100% of layer 1's ReLUs are dead")
    assert "they died during training (epoch 1: 0%); lower the learning rate to 0.5" in dead.text


def test_saturated_units_from_large_weights() -> None:
    """Weights of 20 push 3 of 4 samples × 3 units into σ's flat tails: 75% saturated since the
    start; the change is Xavier init."""
    hidden = 20.0 * np.array([[1.0, 1.0], [1.0, -1.5], [-2.0, 1.0]])
    params = _network([(hidden, np.zeros(3), "sigmoid"), (np.ones((1, 3)), [0.0], "identity")])
    (found,) = _run(params, XOR, XOR_T, SGD(0.01), 2)
    assert found.id == "saturated_units"
    assert found.layer == 1
    assert found.change == Change(init="xavier_normal")
    assert found.text.startswith(
        "75% of layer 1's sigmoid activations are saturated (σ outside [0.01, 0.99])"
    )


def test_units_saturated_by_a_high_rate() -> None:
    """Targets of 10 at a learning rate of 2: the updates drive every hidden sigmoid into its
    tails; the change is a learning rate ten times lower, and the gradient the saturation makes
    vanish in layer 1 is not diagnosed apart."""
    hidden = np.array([[0.5, -0.4], [0.3, 0.6], [-0.2, 0.4]])
    params = _network([(hidden, np.zeros(3), "sigmoid"), (np.ones((1, 3)), [0.0], "identity")])
    (found,) = _run(params, XOR, 10.0 * XOR_T, SGD(2.0), 20)
    assert found.id == "saturated_units"
    assert found.change == Change(learning_rate=0.2)
    assert found.text.startswith("100% of layer 1's sigmoid activations are saturated")
    assert found.text.endswith(
        "; they saturated during training (epoch 1: 0%): lower the learning rate to 0.2"
    )


def test_a_diverging_run() -> None:
    """Linear regression at a learning rate far over 2/λmax diverges; the diagnosis names the
    epoch and the stage, and alone: the change is a learning rate ten times lower."""
    params = _network([([[0.5, -0.5]], [0.0], "identity")])
    x = np.array([[10.0, 10.0], [10.0, -10.0], [-10.0, 5.0]])
    (found,) = _run(params, x, np.array([[1.0], [0.0], [2.0]]), SGD(0.05), 1000)
    assert found.id == "diverged"
    assert found.change == Change(learning_rate=0.005)
    assert found.text.startswith("the run diverged in epoch ")
    assert found.text.endswith(
        "was the first value not finite (float64 overflow or NaN); lower the learning rate to 0.005"
    )


def test_a_learning_rate_far_too_high() -> None:
    """The notebook's network at a learning rate of 1: its first update moves the first layer by
    more than its own size; the change is 0.1."""
    found = _run(_notebook(), NOTEBOOK_X, NOTEBOOK_T, SGD(1.0), 1)
    assert [d.id for d in found] == ["learning_rate_too_high"]
    assert found[0].change == Change(learning_rate=0.1)
    assert "far above the usual 1e-3: lower the learning rate to 0.1" in found[0].text


def test_a_learning_rate_far_too_low() -> None:
    """The notebook's network at a learning rate of 1e-8: update ratios near 1e-8 and a loss
    that does not move; the change is 1e-7."""
    found = _run(_notebook(), NOTEBOOK_X, NOTEBOOK_T, SGD(1e-8), 10)
    assert [d.id for d in found] == ["learning_rate_too_low"]
    assert found[0].change == Change(learning_rate=1e-7)
    assert "far below the usual 1e-3" in found[0].text


@pytest.mark.parametrize(
    "case", ["notebook", "xor tanh adam", "xor relu adam", "sigmoid classifier"]
)
def test_healthy_runs_yield_no_diagnosis(case: str) -> None:
    """Runs that learn: the notebook's, XOR with tanh or ReLU and Adam, a saturated sigmoid
    output of a confident classifier (an output layer is never diagnosed as saturated)."""
    rng = np.random.default_rng(1)
    if case == "notebook":
        found = _run(_notebook(), NOTEBOOK_X, NOTEBOOK_T, SGD(0.01), 20)
    elif case == "sigmoid classifier":
        params = _network([
            (rng.normal(0, 1, (4, 2)), np.zeros(4), "tanh"),
            (rng.normal(0, 0.5, (1, 4)), np.zeros(1), "sigmoid"),
        ])  # fmt: skip
        found = _run(params, XOR, XOR_T, Adam(0.05), 500, "binary_cross_entropy")
    else:
        name: ActivationName = "tanh" if "tanh" in case else "relu"
        params = _network([
            (rng.normal(0, 1, (6, 2)), np.full(6, 0.1), name),
            (rng.normal(0, 0.5, (1, 6)), np.zeros(1), "identity"),
        ])  # fmt: skip
        found = _run(params, XOR, XOR_T, Adam(0.01), 300)
    assert found == []
