"""Arithmetic honesty of the text worked solution: on random networks (every activation, loss and
optimizer), each step's right-hand side, evaluated from the rounded operands it shows, gives the
result it shows, to the precision shown."""

import itertools
import math
import re
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.nn.activations import ActivationName
from app.nn.explain import explain
from app.nn.losses import LossName
from app.nn.network import Parameters
from app.nn.optimizers import SGD, Adam, Optimizer
from app.nn.regularization import Regularization
from app.render.explain import text

ACTIVATIONS: list[ActivationName] = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
LOSS_ACTIVATION: dict[LossName, list[ActivationName]] = {
    "half_squared_error": ACTIVATIONS,
    "mean_squared_error": ACTIVATIONS,
    "binary_cross_entropy": ["sigmoid"],
    "cross_entropy": ["softmax"],
}
OPTIMIZERS: list[Optimizer] = [
    SGD(0.1),
    SGD(0.05, momentum=0.9, weight_decay=0.01),
    SGD(0.05, momentum=0.9, nesterov=True),
    SGD(0.05, momentum=0.5, dampening=0.3),
    Adam(0.01),
    Adam(0.01, weight_decay=0.1, amsgrad=True),
    Adam(0.01, weight_decay=0.1, decoupled=True),
]
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e-?\d+)?")
FUNCTIONS = {
    "exp": math.exp,
    "log": math.log,
    "tanh": math.tanh,
    "sqrt": math.sqrt,
    "max": max,
    "abs": abs,
}
RULES = [None, Regularization("l1", 0.1), Regularization("l2", 0.05), Regularization("l2", 3.0)]
values = st.floats(-2.0, 2.0, allow_nan=False).map(lambda v: round(v, 3))


def python(expression: str) -> str:
    """A text right-hand side as a Python expression."""
    for unicode, ascii_ in (("−", "-"), ("·", "*"), ("²", "**2"), ("^", "**"), ("√", "sqrt")):
        expression = expression.replace(unicode, ascii_)
    return re.sub(r"\|([^|]*)\|", r"abs(\1)", expression)


def check_line(line: str, digits: int) -> None:
    """``line``'s numbers (``digits`` significant), put into its formula, give its result at the
    precision shown: within the first-order effect of rounding every number shown, doubled."""
    parts = line.split("   (")[0].split(" = ")
    if len(parts) < 4:
        return  # an operand alone, or a name for an earlier result: nothing to compute
    substituted, shown = python(parts[-2]), float(python(parts[-1]))
    numbers = [float(n) for n in NUMBER.findall(substituted)]
    slots = iter(range(len(numbers)))
    code = compile(NUMBER.sub(lambda _: f"v[{next(slots)}]", substituted), line, "eval")

    def evaluate(v: list[float]) -> float:
        result: float = eval(code, {"__builtins__": {}}, {**FUNCTIONS, "v": v})
        return result

    rounding = 5 * 10.0**-digits
    bound = rounding * abs(shown)
    for k, n in enumerate(numbers):
        if n:
            h = 1e-6 * n
            up, down = numbers.copy(), numbers.copy()
            up[k], down[k] = n + h, n - h
            bound += abs((evaluate(up) - evaluate(down)) / (2 * h)) * n * rounding
    assert abs(evaluate(numbers) - shown) <= 2 * bound, line


@st.composite
def problems(draw: st.DrawFn) -> dict[str, Any]:
    """A random small network, batch, loss and optimizer (with a state after a first step)."""
    loss: LossName = draw(st.sampled_from(list(LOSS_ACTIVATION)))
    widths = draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    depth = len(widths) - 1
    names = [draw(st.sampled_from(ACTIVATIONS)) for _ in range(depth - 1)]
    names.append(draw(st.sampled_from(LOSS_ACTIVATION[loss])))
    weights = [
        [[draw(values) for _ in range(n_in)] for _ in range(n_out)]
        for n_in, n_out in itertools.pairwise(widths)
    ]
    biases = [[draw(values) for _ in range(n_out)] for n_out in widths[1:]]
    samples, outputs = draw(st.integers(1, 3)), widths[-1]
    x = np.array([[draw(values) for _ in range(widths[0])] for _ in range(samples)])
    if loss == "binary_cross_entropy":
        t = np.array([[draw(st.sampled_from([0.0, 1.0])) for _ in range(outputs)]] * samples)
    elif loss == "cross_entropy":
        t = np.eye(outputs)[[draw(st.integers(0, outputs - 1)) for _ in range(samples)]]
    else:
        t = np.array([[draw(values) for _ in range(outputs)] for _ in range(samples)])
    params = Parameters.from_layers(weights, biases, names)
    optimizer = draw(st.sampled_from(OPTIMIZERS))
    state = optimizer.init(params.flat.size)
    if draw(st.booleans()):
        g = np.array([draw(values) for _ in range(params.flat.size)])
        optimizer.step(state, params.flat.copy(), g, np.empty_like(params.flat))
    return {
        "params": params,
        "x": x,
        "t": t,
        "loss": loss,
        "optimizer": optimizer,
        "state": state,
        "sample": draw(st.integers(0, samples - 1)),
        "regularization": draw(st.sampled_from(RULES)),
    }


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.sampled_from([4, 6, 8]))
def test_every_written_out_step_computes_its_shown_result(
    problem: dict[str, Any], digits: int
) -> None:
    steps = list(explain(**problem, max_terms=100))
    assert len({step.id for step in steps}) == len(steps)
    for step in steps:
        check_line(text.line(step, digits), digits)


def test_the_checker_catches_a_wrong_line() -> None:
    check_line("z1[0] = W1[0,0]·x[0] + b1[0] = 0.1·(−1) + 0 = −0.1", 6)
    try:
        check_line("z1[0] = W1[0,0]·x[0] + b1[0] = 0.1·(−1) + 0 = 0.1", 6)
    except AssertionError:
        return
    raise AssertionError("a wrong result went unnoticed")


def test_a_784_128_10_explanation_is_honest_and_elided() -> None:
    rng = np.random.default_rng(12)
    params = Parameters.from_layers(
        [rng.normal(size=(128, 784)) * 0.05, rng.normal(size=(10, 128)) * 0.1],
        [rng.normal(size=128) * 0.1, np.zeros(10)],
        ["relu", "softmax"],
    )
    x, t = rng.uniform(size=(1, 784)), np.eye(10)[:1]
    steps = list(explain(params, x, t, "cross_entropy", Adam(0.001), None, 0, max_terms=1000))
    lines = text.render(steps, 6).splitlines()
    assert sum(line.startswith("… ") for line in lines) == 9
    for line in lines:
        check_line(line, 6)
