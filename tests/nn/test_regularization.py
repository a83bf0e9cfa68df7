"""L1 and L2 regularization: the penalty on the weights (never the biases), its gradient, and
training with it equal to PyTorch's autograd on ``loss + penalty`` to 1e-9."""

import numpy as np
import pytest

from app.nn.activations import ACTIVATIONS
from app.nn.errors import NonFiniteError
from app.nn.gradcheck import finite_differences, gradcheck
from app.nn.losses import LOSSES, LossName
from app.nn.network import Parameters, evaluate
from app.nn.optimizers import SGD, Adam
from app.nn.regularization import REGULARIZATION_NAMES, Regularization, RegularizationName
from app.nn.training import train
from tests.nn.test_training import X, targets, xor_network

NETWORK = Parameters.from_layers(
    [[[0.5, -0.25, 0.0], [-2.0, 0.75, 1.5]], [[-0.5, 3.0]]],
    [[4.0, -1.0], [2.0]],
    ["relu", "identity"],
)
NETWORK_2 = Parameters.from_layers(
    [[[0.5, -0.3], [0.8, 0.2], [-0.6, 0.4]], [[0.7, -0.5, 0.3]]],
    [[0.1, -0.1, 0.05], [0.0]],
    ["tanh", "identity"],
)


def test_penalties_are_tf_playgrounds_on_weights_only() -> None:
    """L1: rate·Σ|w|; L2: rate·Σ½w², both over the weights alone (the biases 4, -1, 2 count not)."""
    assert Regularization("l1", 0.1).penalty(NETWORK) == pytest.approx(0.1 * 8.5, rel=1e-15)
    l2 = 0.5 * (0.25 + 0.0625 + 4.0 + 0.5625 + 2.25 + 0.25 + 9.0)
    assert Regularization("l2", 0.1).penalty(NETWORK) == pytest.approx(0.1 * l2, rel=1e-15)
    assert Regularization("l2", 0.0).penalty(NETWORK) == 0.0


@pytest.mark.parametrize("name", REGULARIZATION_NAMES)
def test_gradient_is_the_penalty_s_derivative_on_weights_only(name: RegularizationName) -> None:
    """The added gradient is rate·sign(w) (0 at w = 0, as autograd's) or rate·w; biases get 0."""
    grads = NETWORK.with_flat(np.zeros_like(NETWORK.flat))
    Regularization(name, 0.5).add_gradient(NETWORK, grads)
    for (W, _), (gW, gb) in zip(NETWORK.layers, grads.layers, strict=True):
        np.testing.assert_array_equal(gW, 0.5 * (np.sign(W) if name == "l1" else W))
        np.testing.assert_array_equal(gb, 0.0)
    assert grads.layers[0][0][0, 2] == 0.0


def test_penalty_that_overflows_is_not_finite() -> None:
    """Finite weights whose squares overflow: NonFiniteError naming the penalty."""
    huge = NETWORK.with_flat(np.full_like(NETWORK.flat, 1e200))
    with pytest.raises(NonFiniteError, match="penalty"):
        Regularization("l2", 1.0).penalty(huge)


def _torch_run(
    params: Parameters,
    loss: LossName,
    regularization: Regularization,
    optimizer: str,
    epochs: int,
    batch_size: int,
) -> tuple[list[float], list[float], np.ndarray]:
    """PyTorch's run: per epoch the data loss and penalty at its start (full batch), and the
    trained parameters; each update descends ``loss + penalty`` through autograd."""
    torch = pytest.importorskip("torch")
    layers = []
    last = len(params.layers) - 1
    for index, ((W, b), name) in enumerate(zip(params.layers, params.activations, strict=True)):
        linear = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(W))
            linear.bias.copy_(torch.tensor(b))
        layers.append(linear)
        if not (LOSSES[loss].from_logits and index == last):
            layers.append(eval(ACTIVATIONS[name].torch_module, {"nn": torch.nn}))
    model = torch.nn.Sequential(*layers)
    weights = [layer.weight for layer in layers if isinstance(layer, torch.nn.Linear)]
    opt = (
        torch.optim.SGD(model.parameters(), lr=0.1)
        if optimizer == "sgd"
        else torch.optim.Adam(model.parameters(), lr=0.05)
    )
    x, t = torch.tensor(X), torch.tensor(targets(loss, np.array([[0.0], [1.0], [1.0], [0.0]])))

    def data_loss(xb: object, tb: object) -> object:
        y = model(xb)
        if loss == "cross_entropy":
            return torch.nn.functional.cross_entropy(y, tb)
        if loss == "binary_cross_entropy":
            return torch.nn.functional.binary_cross_entropy_with_logits(y, tb)
        return 0.5 * ((y - tb) ** 2).sum(dim=1).mean()

    def penalty() -> object:
        if regularization.name == "l1":
            return regularization.rate * sum(w.abs().sum() for w in weights)
        return regularization.rate * sum(0.5 * (w**2).sum() for w in weights)

    losses, penalties = [], []
    for _ in range(epochs):
        with torch.no_grad():
            losses.append(float(data_loss(x, t)))
            penalties.append(float(penalty()))
        for start in range(0, len(X), batch_size):
            opt.zero_grad()
            total = data_loss(x[start : start + batch_size], t[start : start + batch_size])
            (total + penalty()).backward()
            opt.step()
    trained = []
    for layer in layers:
        if isinstance(layer, torch.nn.Linear):
            trained += [layer.weight.detach().numpy().ravel(), layer.bias.detach().numpy().ravel()]
    return losses, penalties, np.concatenate(trained)


@pytest.mark.parametrize("name", REGULARIZATION_NAMES)
@pytest.mark.parametrize("loss", ["half_squared_error", "cross_entropy", "binary_cross_entropy"])
@pytest.mark.parametrize(("optimizer", "batch_size"), [("sgd", 4), ("adam", 4), ("sgd", 3)])
def test_training_equals_pytorch_with_the_penalty_added_to_the_loss(
    name: RegularizationName, loss: LossName, optimizer: str, batch_size: int
) -> None:
    """30 epochs on XOR: the trained parameters to 1e-9; full batch, each epoch's data loss and
    penalty (at its start) too."""
    params = xor_network(loss, "relu")
    rule = Regularization(name, 0.03)
    epochs = 30
    expected_losses, expected_penalties, expected = _torch_run(
        params, loss, rule, optimizer, epochs, batch_size
    )
    t = targets(loss, np.array([[0.0], [1.0], [1.0], [0.0]]))
    engine = SGD(0.1) if optimizer == "sgd" else Adam(0.05)
    run = train(
        params, X, t, LOSSES[loss], engine, epochs, batch_size=batch_size, regularization=rule
    )
    records = list(run)
    np.testing.assert_allclose(run.result.network.flat, expected, rtol=0, atol=1e-9)
    penalties = [record.penalty for record in records]
    np.testing.assert_allclose(penalties, expected_penalties, rtol=0, atol=1e-9)
    if batch_size == len(X):
        losses = [record.loss for record in records]
        np.testing.assert_allclose(losses, expected_losses, rtol=0, atol=1e-9)


def test_without_regularization_records_have_no_penalty_and_training_is_unchanged() -> None:
    """No penalty, no change: the same bits as a run that never heard of regularization, and a
    rate of 0 trains to the same bits too."""
    t = np.array([[0.0], [1.0], [1.0], [0.0]])
    plain = train(xor_network(), X, t, LOSSES["half_squared_error"], SGD(0.1), 20)
    records = list(plain)
    assert all(record.penalty is None for record in records)
    zero = train(
        xor_network(), X, t, LOSSES["half_squared_error"], SGD(0.1), 20,
        regularization=Regularization("l2", 0.0),
    )  # fmt: skip
    assert [r.penalty for r in zero] == [0.0] * 20
    assert np.array_equal(zero.result.network.flat, plain.result.network.flat)


def test_regularization_shrinks_the_weights_and_keeps_the_biases_free() -> None:
    """A large L2 rate pulls the weights toward 0: after training their penalty is far below a
    plain run's; the data loss is what the records report, not loss + penalty."""
    t = np.array([[0.0], [1.0], [1.0], [0.0]])
    rule = Regularization("l2", 1.0)
    plain = train(xor_network(), X, t, LOSSES["half_squared_error"], SGD(0.1), 200)
    list(plain)
    shrunk = train(
        xor_network(), X, t, LOSSES["half_squared_error"], SGD(0.1), 200, regularization=rule
    )
    records = list(shrunk)
    assert rule.penalty(shrunk.result.network) < 0.2 * rule.penalty(plain.result.network)
    _, value = evaluate(xor_network(), X, t, LOSSES["half_squared_error"])
    assert records[0].loss == value
    assert records[0].penalty == rule.penalty(xor_network())


@pytest.mark.parametrize("name", REGULARIZATION_NAMES)
def test_finite_differences_of_loss_plus_penalty_move_by_its_gradient(
    name: RegularizationName,
) -> None:
    """The gradient check differentiates loss + penalty: its numeric gradients differ from the
    data loss's by the penalty's gradient (weights only), and the check passes."""
    rule = Regularization(name, 2.0)
    t = np.array([[0.0], [1.0], [1.0], [0.0]])
    loss = LOSSES["half_squared_error"]
    plain, _ = finite_differences(NETWORK_2, X, t, loss, 1e-6)
    penalized, _ = finite_differences(NETWORK_2, X, t, loss, 1e-6, regularization=rule)
    expected = NETWORK_2.with_flat(np.zeros_like(NETWORK_2.flat))
    rule.add_gradient(NETWORK_2, expected)
    np.testing.assert_allclose(penalized.flat - plain.flat, expected.flat, atol=1e-7)
    assert gradcheck(NETWORK_2, X, t, loss, 1e-6, regularization=rule).passed
