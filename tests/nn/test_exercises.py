"""The exercise generator: determinism, variety, and every variant worth doing by hand, checked
with the engine's own passes left aside where they can be (NumPy written out here)."""

import dataclasses

import numpy as np
import pytest

from app.nn.check import check, order, rounded_step
from app.nn.exercises import (
    FIGURES,
    MIN_LOSS,
    SATURATED,
    TEMPLATES,
    Exercise,
    NoVariantError,
    Template,
    dead_units,
    draw,
    problems,
    seed_of,
    train_step,
)
from app.nn.network import Parameters
from app.nn.optimizers import SGD, OptimizerState

SEEDS = range(40)


def _given(exercise: Exercise) -> np.ndarray:
    buffer = exercise.momentum_buffer
    extra = [buffer.flat] if buffer is not None else []
    return np.concatenate([exercise.params.flat, exercise.x.ravel(), exercise.t.ravel(), *extra])


def _hidden_z(exercise: Exercise) -> list[np.ndarray]:
    """Each layer's z, computed here with NumPy's matmul and the activations written out."""
    a, zs = exercise.x, []
    for (W, b), name in zip(exercise.params.layers, exercise.params.activations, strict=True):
        z = a @ W.T + b
        zs.append(z)
        a = {
            "relu": lambda z: np.maximum(z, 0.0),
            "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
            "tanh": np.tanh,
            "identity": lambda z: z,
            "softmax": lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
        }[name](z)
    return zs


def test_same_seed_same_numbers_and_a_thousand_seeds_differ() -> None:
    """A seed gives one exercise, always; 1,000 seeds give at least 990 different ones."""
    template = TEMPLATES["notebook"].template
    first = draw(template, 12345)
    again = draw(template, 12345)
    assert _given(first).tobytes() == _given(again).tobytes()
    assert first.step.updated.flat.tobytes() == again.step.updated.flat.tobytes()
    distinct = {_given(draw(template, seed)).tobytes() for seed in range(1000)}
    assert len(distinct) >= 990


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_variant_is_worth_doing(name: str) -> None:
    """No dead hidden ReLU, no saturated sigmoid or tanh, no zero gradient, a loss that is not
    tiny, given numbers with the template's decimals and none of the weights 0."""
    template = TEMPLATES[name].template
    for seed in SEEDS:
        exercise = draw(template, seed)
        assert list(problems(exercise)) == []
        given = _given(exercise)
        assert np.array_equal(np.round(given, template.decimals), given)
        assert np.all(np.abs(exercise.x) > 0)
        assert all(np.all(W != 0) for W, _ in exercise.params.layers)
        zs = _hidden_z(exercise)
        for z, activation in zip(zs, exercise.params.activations, strict=True):
            if activation in ("sigmoid", "tanh"):
                assert np.all(np.abs(z) <= SATURATED)
            if activation == "relu" and z is not zs[-1]:
                assert np.all(np.any(z > 0, axis=0)), "a hidden ReLU dead on every sample"
        for z, engine_z in zip(zs, exercise.step.fwd.z, strict=True):
            np.testing.assert_allclose(engine_z, z, rtol=1e-12, atol=1e-12)
        assert np.all(exercise.step.gradients.flat != 0)
        assert exercise.step.loss >= MIN_LOSS
        if template.loss == "cross_entropy":
            assert np.all(exercise.t.sum(axis=1) == 1)
        if template.loss == "binary_cross_entropy":
            assert set(np.unique(exercise.t)) <= {0.0, 1.0}


def test_a_dead_relu_when_the_template_asks_for_one() -> None:
    """dead_relu: one hidden unit is dead on every sample; its gradients alone are 0."""
    template = Template((2, 3, 1), "relu", "identity", "half_squared_error", 0.1, dead_relu=True)
    for seed in range(10):
        exercise = draw(template, seed)
        dead = dead_units(exercise)
        assert dead
        grads = exercise.step.gradients.layers
        for layer, unit in dead:
            assert np.all(grads[layer][0][unit] == 0)
        alive = [u for u in range(3) if (0, u) not in dead]
        assert np.all(grads[0][0][alive] != 0)


def test_a_template_never_worth_doing_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """When no draw is worth doing, the engine says so rather than hand out a bad one."""
    monkeypatch.setattr("app.nn.exercises.MAX_DRAWS", 0)
    with pytest.raises(NoVariantError, match="worth doing"):
        draw(TEMPLATES["notebook"].template, 1)


def test_a_student_and_course_hash_to_a_stable_seed() -> None:
    """SHA-256 of the pair: fixed across runs and machines, other course, other seed, and the
    boundary between course and name cannot be shifted to collide."""
    assert seed_of("Ada Lovelace", "ML 101") == seed_of("Ada Lovelace", "ML 101")
    assert seed_of("Ada Lovelace", "ML 101") == 7775301971403912
    assert seed_of("Ada Lovelace", "ML 102") != seed_of("Ada Lovelace", "ML 101")
    assert seed_of("b", "a") != seed_of("", "ab")
    assert 0 <= seed_of("x" * 200, "y" * 200) < 2**53


def _four_figures(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` to 4 significant figures, and one unit of the 4th (NumPy written out here)."""
    exponent = np.floor(np.log10(np.where(values == 0, 1.0, np.abs(values))))
    unit = 10.0 ** (exponent - (FIGURES - 1))
    return np.round(values / unit) * unit, unit


def test_four_figures_must_survive_rounding_carried_forward() -> None:
    """A Mazur variant whose gradients alone are asked for: each gradient written to 4 figures is
    right, but a student who rounds every z, a and δ on the way to 4 figures ends out of
    precision (layer 1's weights gradient: a⁽¹⁾ and δ⁽²⁾ rounded multiply their errors), so the
    variant is redrawn."""
    template = Template(
        (2, 2, 2), "sigmoid", "sigmoid", "half_squared_error", 0.5, decimals=2,
        compute=("gradients",),
    )  # fmt: skip
    params = Parameters.from_layers(
        [[[0.7, 0.28], [0.02, -0.46]], [[0.3, 0.83], [0.01, 0.21]]],
        [[-0.33, 0.32], [0.06, 0.44]],
        template.activations,
    )
    x, t = np.array([[-0.89, 1.27]]), np.array([[0.21, 0.72]])
    exercise = Exercise(template, 0, params, x, t, None, train_step(template, params, x, t, None))
    keys = list(exercise.to_compute())
    sgd = SGD(template.learning_rate)
    # The old rule: each value rounded from the exact one is right.
    exact = {key: _four_figures(exercise.value(key)) for key in keys}
    claims = {key: value for key, (value, _) in exact.items()}
    units = {key: unit for key, (_, unit) in exact.items()}
    judged = check(params, x, t, template.loss, sgd, claims, units=units)
    assert [item.verdict for item in judged] == ["correct"] * 4
    # Rounding carried forward: what the student computes from their own rounded values.
    rounded = rounded_step(params, x, t, template.loss, sgd, lambda v: _four_figures(v)[0])
    assert list(rounded) == [key for _, key in order(2)]
    claims = {key: rounded[key] for key in keys}
    units = {key: _four_figures(value)[1] for key, value in claims.items()}
    judged = check(params, x, t, template.loss, sgd, claims, units=units)
    verdicts = {item.key: item.verdict for item in judged}
    assert verdicts[("gradients", 1, "weights")] == "wrong"
    assert list(problems(exercise)) == [f"{FIGURES} significant figures are not enough for a value"]


def test_rounding_nothing_carries_the_exact_step_forward() -> None:
    """rounded_step with no rounding is the step itself, every value (the velocity too)."""
    template = TEMPLATES["momentum"].template
    exercise = draw(template, 3)
    buffer = exercise.momentum_buffer
    assert buffer is not None
    state = OptimizerState(1, {"momentum_buffer": buffer.flat})
    sgd = SGD(template.learning_rate, template.momentum)
    args = (exercise.params, exercise.x, exercise.t, template.loss, sgd)
    values = rounded_step(*args, np.asarray, state)
    for key in exercise.to_compute():
        np.testing.assert_allclose(values[key], exercise.value(key), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_variant_survives_four_figures_carried_forward(name: str) -> None:
    """The student who rounds every value on the way to 4 figures loses no mark, with every
    template's values to compute, or one part of them alone."""
    ready = TEMPLATES[name].template
    for part in (ready.compute, ("update",)):
        template = dataclasses.replace(ready, compute=part)
        for seed in range(10):
            exercise = draw(template, seed)
            buffer = exercise.momentum_buffer
            state = None if buffer is None else OptimizerState(1, {"momentum_buffer": buffer.flat})
            sgd = SGD(template.learning_rate, template.momentum)
            args = (exercise.params, exercise.x, exercise.t, template.loss, sgd)
            rounded = rounded_step(*args, lambda v: _four_figures(v)[0], state)
            claims = {key: rounded[key] for key in exercise.to_compute()}
            units = {key: _four_figures(value)[1] for key, value in claims.items()}
            judged = check(*args, claims, units=units, state=state)
            assert all(item.verdict != "wrong" for item in judged), (name, part, seed)
