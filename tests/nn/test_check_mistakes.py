"""Each usual mistake of a hand derivation named by its id: planted by hand here, in NumPy written
out independently of the engine, for every activation and loss where it can occur.

The network is 3-3-3 (square weights, so a transpose keeps the shape) on three samples (so that
twice a value is not also the sum over the batch); each planted value is claimed alone.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from app.nn.activations import LEAKY_RELU_SLOPE, ActivationName
from app.nn.check import Check, Key, check
from app.nn.losses import LossName
from app.nn.network import Parameters
from app.nn.types import Array

LR = 0.1
W0 = np.array([[0.5, -0.4, 0.3], [-0.6, 0.2, 0.7], [0.1, 0.8, -0.5]])
B0 = np.array([0.1, -0.2, 0.05])
W1 = np.array([[0.3, -0.7, 0.4], [0.6, 0.2, -0.3], [-0.5, 0.4, 0.9]])
B1 = np.array([0.2, -0.1, 0.0])
X = np.array([[1.0, 0.5, -1.5], [-0.5, 1.0, 0.8], [0.3, -1.2, 0.6]])
T = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def _sigmoid(z: Array) -> Array:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


F: dict[str, Callable[[Array], Array]] = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": _softmax,
}
PRIME: dict[str, Callable[[Array], Array]] = {
    "identity": np.ones_like,
    "relu": lambda z: (z > 0).astype(float),
    "leaky_relu": lambda z: np.where(z > 0, 1.0, LEAKY_RELU_SLOPE),
    "sigmoid": lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
}
ELEMENTWISE = ["identity", "relu", "leaky_relu", "sigmoid", "tanh"]
NONLINEAR = ELEMENTWISE[1:]
# The last layer's activation and the loss: every loss, each with an activation it takes.
HEADS: list[tuple[ActivationName, LossName]] = [
    ("identity", "half_squared_error"),
    ("tanh", "half_squared_error"),
    ("sigmoid", "mean_squared_error"),
    ("relu", "mean_squared_error"),
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "cross_entropy"),
]
LOGITS = {"binary_cross_entropy", "cross_entropy"}


@dataclass
class Step:
    """One SGD step by hand, and the means to redo its backward pass with a mistake."""

    hidden: str
    head: str
    loss: str
    x: Array = field(default_factory=X.copy)

    def __post_init__(self) -> None:
        n = len(self.x)
        self.t = T[:n]
        self.z0 = self.x @ W0.T + B0
        self.a0 = F[self.hidden](self.z0)
        self.z1 = self.a0 @ W1.T + B1
        self.a1 = F[self.head](self.z1)
        y, t, units = self.a1, self.t, T.shape[1]
        if self.loss == "half_squared_error":
            self.value = float(np.sum(0.5 * (y - t) ** 2)) / n
            self.dy = (y - t) / n
        elif self.loss == "mean_squared_error":
            self.value = float(np.mean((y - t) ** 2))
            self.dy = 2 * (y - t) / (n * units)
        elif self.loss == "binary_cross_entropy":
            self.value = float(-np.mean(t * np.log(y) + (1 - t) * np.log(1 - y)))
            self.dy = (y - t) / (n * units)
        else:
            self.value = float(-np.sum(t * np.log(y))) / n
            self.dy = (y - t) / n
        self.d1 = self.dy if self.loss in LOGITS else self.dy * PRIME[self.head](self.z1)
        self.d0 = self.backprop(self.d1)

    def backprop(self, d1: Array, w1: Array = W1, prime: Array | None = None) -> Array:
        """δ of layer 0 from δ of layer 1 through ``w1``, times f' (or ``prime``)."""
        return (d1 @ w1) * (PRIME[self.hidden](self.z0) if prime is None else prime)

    def grads(self, d1: Array, d0: Array) -> dict[Key, Array]:
        return {
            ("gradients", 1, "weights"): d1.T @ self.a0,
            ("gradients", 1, "bias"): d1.sum(axis=0),
            ("gradients", 0, "weights"): d0.T @ self.x,
            ("gradients", 0, "bias"): d0.sum(axis=0),
        }

    def correct(self) -> dict[Key, Array]:
        grads = self.grads(self.d1, self.d0)
        return {
            ("layers", 0, "z"): self.z0,
            ("layers", 0, "a"): self.a0,
            ("layers", 1, "z"): self.z1,
            ("layers", 1, "a"): self.a1,
            ("outputs",): self.a1,
            ("loss",): np.array(self.value),
            **grads,
            ("network", "layers", 0, "weights"): W0 - LR * grads[("gradients", 0, "weights")],
            ("network", "layers", 0, "bias"): B0 - LR * grads[("gradients", 0, "bias")],
            ("network", "layers", 1, "weights"): W1 - LR * grads[("gradients", 1, "weights")],
            ("network", "layers", 1, "bias"): B1 - LR * grads[("gradients", 1, "bias")],
        }

    def judge(self, key: Key, value: Array) -> Check:
        params = Parameters.from_layers(
            [W0, W1],
            [B0, B1],
            [self.hidden, self.head],  # type: ignore[list-item]
        )
        (item,) = check(params, self.x, self.t, self.loss, LR, {key: value})  # type: ignore[arg-type]
        return item


def n(value: float) -> str:
    """A number as the texts write it: four significant figures, a true minus sign."""
    return f"{value:.4g}".replace("-", "−")


def _ids(item: Check) -> set[str]:
    return {mistake.id for mistake in item.mistakes}


def _planted(step: Step) -> list[tuple[str, Key, Array]]:
    """Every mistake that can occur in this step, made alone, with the claim it gives."""
    hidden, head, loss, n = step.hidden, step.head, step.loss, len(step.x)
    correct = step.correct()
    grads = {key: value for key, value in correct.items() if key[0] == "gradients"}
    planted: list[tuple[str, Key, Array]] = [
        ("missing_bias", ("layers", 0, "z"), step.x @ W0.T),
        ("missing_bias", ("layers", 0, "a"), F[hidden](step.x @ W0.T)),
        ("transposed", ("layers", 0, "z"), step.x @ W0 + B0),
        ("transposed", ("gradients", 0, "weights"), correct[("gradients", 0, "weights")].T),
        ("wrong_layer_input", ("gradients", 1, "weights"), step.d1.T @ step.a1),
    ]
    if hidden != "identity":
        planted.append(("activation_not_applied", ("layers", 0, "a"), step.z0))
        other = "tanh" if hidden == "sigmoid" else "sigmoid"
        planted.append(("wrong_activation", ("layers", 0, "a"), F[other](step.z0)))
        d0 = step.backprop(step.d1, prime=np.ones_like(step.z0))
        planted.append(("missing_derivative", ("gradients", 0, "bias"), d0.sum(axis=0)))
    if head not in ("identity", "softmax") and loss not in LOGITS:
        d1 = step.dy
        planted.append(("missing_derivative", ("gradients", 1, "bias"), d1.sum(axis=0)))
    if hidden in ("sigmoid", "tanh"):
        at_a = step.backprop(step.d1, prime=PRIME[hidden](step.a0))
        planted.append(("derivative_at_a", ("gradients", 0, "bias"), at_a.sum(axis=0)))
        z = step.z0
        shortcut = z * (1 - z) if hidden == "sigmoid" else 1 - z**2
        on_z = step.backprop(step.d1, prime=shortcut)
        planted.append(("derivative_shortcut_on_z", ("gradients", 0, "weights"), on_z.T @ step.x))
    if head in ("sigmoid", "tanh") and loss not in LOGITS:
        at_a = step.dy * PRIME[head](step.a1)
        planted.append(("derivative_at_a", ("gradients", 1, "bias"), at_a.sum(axis=0)))
        # made at the last layer, back-propagated correctly to the first
        below = step.backprop(at_a)
        planted.append(("derivative_at_a", ("gradients", 0, "bias"), below.sum(axis=0)))
    stepped = W1 - LR * grads[("gradients", 1, "weights")]
    after = step.backprop(step.d1, w1=stepped)
    planted.append(("updated_weights_in_backprop", ("gradients", 0, "bias"), after.sum(axis=0)))
    planted.append(("updated_weights_in_backprop", ("gradients", 0, "weights"), after.T @ step.x))
    if loss == "half_squared_error":
        planted.append(("missing_half", ("loss",), np.array(2 * step.value)))
        planted.append(
            ("missing_half", ("gradients", 1, "bias"), 2 * grads["gradients", 1, "bias"])
        )
    if loss == "mean_squared_error":
        planted.append(("extra_half", ("loss",), np.array(step.value / 2)))
        planted.append(
            ("extra_half", ("gradients", 0, "weights"), grads["gradients", 0, "weights"] / 2)
        )
    planted.append(("sum_not_mean", ("loss",), np.array(n * step.value)))
    for key, value in grads.items():
        planted.append(("sign_flipped", key, -value))
        planted.append(("sum_not_mean", key, n * value))
        planted.append(("mean_not_sum", key, value / n))
    for index, (w, b) in enumerate([(W0, B0), (W1, B1)]):
        gw, gb = grads["gradients", index, "weights"], grads["gradients", index, "bias"]
        planted += [
            ("update_sign", ("network", "layers", index, "weights"), w + LR * gw),
            ("update_sign", ("network", "layers", index, "bias"), b + LR * gb),
            ("learning_rate_missing", ("network", "layers", index, "weights"), w - gw),
            ("bias_not_updated", ("network", "layers", index, "bias"), b.copy()),
            ("weights_not_updated", ("network", "layers", index, "weights"), w.copy()),
        ]
    return planted


STEPS = [Step(hidden, head, loss) for hidden, (head, loss) in itertools.product(NONLINEAR, HEADS)]
STEPS.append(Step("identity", "identity", "half_squared_error"))
CASES = [
    pytest.param(
        step, mistake, key, value, id=f"{step.hidden}-{step.head}-{step.loss}-{mistake}-{key}"
    )
    for step in STEPS
    for mistake, key, value in _planted(step)
]


def test_every_required_id_is_planted_somewhere() -> None:
    planted = {case.values[1] for case in CASES}
    assert planted >= {
        "missing_bias",
        "activation_not_applied",
        "wrong_activation",
        "derivative_at_a",
        "derivative_shortcut_on_z",
        "missing_derivative",
        "missing_half",
        "extra_half",
        "sign_flipped",
        "sum_not_mean",
        "mean_not_sum",
        "transposed",
        "wrong_layer_input",
        "updated_weights_in_backprop",
        "update_sign",
        "learning_rate_missing",
        "bias_not_updated",
    }


@pytest.mark.parametrize(("step", "mistake", "key", "value"), CASES)
def test_a_planted_mistake_is_named_by_its_id(
    step: Step, mistake: str, key: Key, value: Array
) -> None:
    item = step.judge(key, value)
    assert item.verdict == "wrong"
    assert _ids(item) == {mistake}, [m.text for m in item.mistakes]
    assert item.hint == item.mistakes[0].text


@pytest.mark.parametrize("step", STEPS, ids=lambda s: f"{s.hidden}-{s.head}-{s.loss}")
def test_no_id_on_a_correct_value(step: Step) -> None:
    for key, value in step.correct().items():
        item = step.judge(key, value)
        assert (item.verdict, item.mistakes, item.hint) == ("correct", (), None), key


def test_coinciding_mistakes_list_every_id() -> None:
    """Two samples: twice the loss, or twice a gradient, is a missing ½ and a sum over the
    samples; both ids are listed, and the hint joins both texts."""
    two = Step("sigmoid", "identity", "half_squared_error", x=X[:2])
    item = two.judge(("loss",), np.array(2 * two.value))
    assert [m.id for m in item.mistakes] == ["missing_half", "sum_not_mean"]
    assert item.hint == " — or ".join(m.text for m in item.mistakes)
    gradient = two.correct()[("gradients", 1, "weights")]
    item = two.judge(("gradients", 1, "weights"), 2 * gradient)
    assert [m.id for m in item.mistakes] == ["missing_half", "sum_not_mean"]


def test_a_mistakes_text_has_the_numbers() -> None:
    """σ' at a: the text names a, z and both derivatives at the unit the mistake changes most."""
    step = Step("sigmoid", "identity", "half_squared_error", x=X[:1])
    at_a = step.backprop(step.d1, prime=PRIME["sigmoid"](step.a0))
    item = step.judge(("gradients", 0, "bias"), at_a.sum(axis=0))
    (mistake,) = item.mistakes
    unit = int(np.argmax(np.abs(at_a - step.d0)))
    a, z = step.a0[0, unit], step.z0[0, unit]
    assert mistake.text == (
        f"you used σ'(a) = σ'({n(a)}) = {n(PRIME['sigmoid'](a))} in layer 1's δ (unit {unit + 1}); "
        f"σ' is taken at z: σ'({n(z)}) = a·(1 − a) = {n(a * (1 - a))}"
    )


def test_texts_name_layers_units_and_symbols_from_1() -> None:
    """W not transposed in the first layer's δ, on a batch: the text counts as the worked
    solution does, layer 1's δ (sample s + 1, unit u + 1) with δ⁽¹⁾ = (W⁽²⁾ᵀ·δ⁽²⁾); so does the
    formula of a gradient no usual mistake gives."""
    step = Step("tanh", "identity", "half_squared_error")
    untransposed = (step.d1 @ W1.T) * PRIME["tanh"](step.z0)
    item = step.judge(("gradients", 0, "bias"), untransposed.sum(axis=0))
    (mistake,) = item.mistakes
    sample, unit = np.unravel_index(np.argmax(np.abs(untransposed - step.d0)), step.d0.shape)
    assert mistake.text == (
        "layer 2's W is not transposed: δ⁽¹⁾ = (W⁽²⁾ᵀ·δ⁽²⁾) ⊙ f'(z⁽¹⁾), in layer 1's δ "
        f"(sample {sample + 1}, unit {unit + 1}) {n(step.d0[sample, unit])}, not "
        f"{n(untransposed[sample, unit])}"
    )
    formula = step.judge(("gradients", 0, "bias"), np.zeros(3)).hint
    assert formula == (
        "δ⁽¹⁾ = (W⁽²⁾ᵀ·δ⁽²⁾) ⊙ tanh'(z⁽¹⁾); the bias gradient is δ summed over samples"
    )


def test_a_mistake_made_on_the_students_own_values_is_named() -> None:
    """Outputs slipped, then the loss from them without its ½; a bias gradient slipped, then the
    update from it with the wrong sign: each named, with the student's numbers."""
    step = Step("tanh", "identity", "half_squared_error")
    params = Parameters.from_layers([W0, W1], [B0, B1], ["tanh", "identity"])
    slipped = step.a1 + 0.1
    own = float(np.sum(0.5 * (slipped - step.t) ** 2)) / len(step.x)
    gradient = step.correct()[("gradients", 1, "bias")] + 0.2
    claims: dict[Key, Array] = {
        ("outputs",): slipped,
        ("loss",): np.array(2 * own),
        ("gradients", 1, "bias"): gradient,
        ("network", "layers", 1, "bias"): B1 + LR * gradient,
    }
    checks = check(params, step.x, step.t, "half_squared_error", LR, claims)
    assert [(c.verdict, [m.id for m in c.mistakes]) for c in checks] == [
        ("wrong", []),
        ("wrong", ["missing_half"]),
        ("wrong", []),
        ("wrong", ["update_sign"]),
    ]
    assert checks[1].mistakes[0].text.endswith(f"{n(own)}, not Σ(y − t)² = {n(2 * own)}")
