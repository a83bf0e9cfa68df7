"""The prepared forward pass against the one-shot one: the same bits, run after run."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.nn.activations import ACTIVATIONS, ActivationName
from app.nn.errors import NonFiniteError
from app.nn.network import Parameters, PreparedForward, forward

HIDDEN: list[ActivationName] = [
    name for name, activation in ACTIVATIONS.items() if not activation.last_layer_only
]


@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[tuple[int, int]], list[ActivationName], int]:
    """Layer shapes, activations (any on the last layer) and a number of samples."""
    widths = draw(st.lists(st.integers(1, 6), min_size=2, max_size=5))
    shapes = [(units, inputs) for inputs, units in itertools.pairwise(widths)]
    activations = [draw(st.sampled_from(HIDDEN)) for _ in shapes[:-1]]
    activations.append(draw(st.sampled_from(list(ACTIVATIONS))))
    return shapes, activations, draw(st.integers(1, 5))


@settings(max_examples=60, deadline=None)
@given(layouts(), st.data())
def test_every_run_is_the_one_shot_forward_pass_bit_for_bit(
    layout: tuple[list[tuple[int, int]], list[ActivationName], int], data: st.DataObject
) -> None:
    """Three runs on other parameters and inputs each: nothing of a run carries into the next,
    and a single sample (a flat list) is taken as one row."""
    shapes, activations, samples = layout
    prepared = PreparedForward(shapes, activations, samples)
    size = sum(units * inputs + units for units, inputs in shapes)
    for _ in range(3):
        flat = data.draw(hnp.arrays(np.float64, size, elements=st.floats(-3.0, 3.0)))
        x = data.draw(hnp.arrays(np.float64, (samples, shapes[0][1]), elements=st.floats(-3, 3)))
        params = Parameters(flat, tuple(shapes), tuple(activations))
        sent = x[0].tolist() if samples == 1 else x.tolist()
        expected = forward(params, x)
        got = prepared.run(params, sent)
        assert got.x.tobytes() == expected.x.tobytes()
        for mine, theirs in zip(got.z + got.a, expected.z + expected.a, strict=True):
            assert mine.tobytes() == theirs.tobytes()
        # The same numbers as a request's list (whole ones as JSON ints) give the same bits.
        listed = [int(v) if v.is_integer() else v for v in flat.tolist()]
        got = prepared.run_on(listed, sent)
        for mine, theirs in zip(got.z + got.a, expected.z + expected.a, strict=True):
            assert mine.tobytes() == theirs.tobytes()


def test_a_pass_that_overflows_raises_as_the_one_shot_one_and_the_next_run_is_right() -> None:
    shapes: tuple[tuple[int, int], ...] = ((2, 1), (1, 2))
    activations: tuple[ActivationName, ...] = ("relu", "identity")
    prepared = PreparedForward(shapes, activations, 1)
    huge = Parameters(np.array([1e300, 1e300, 0.0, 0.0, 1e300, 1e300, 0.0]), shapes, activations)
    with pytest.raises(NonFiniteError) as one_shot:
        forward(huge, np.array([[1e300]]))
    with pytest.raises(NonFiniteError) as replayed:
        prepared.run(huge, [1e300])
    assert (replayed.value.quantity, replayed.value.layer) == ("forward", 0)
    assert (one_shot.value.quantity, one_shot.value.layer) == ("forward", 0)
    small = huge.with_flat(np.array([1.0, -1.0, 0.5, 0.0, 2.0, 3.0, 0.25]))
    expected = forward(small, np.array([[2.0]])).outputs
    assert prepared.run(small, [2.0]).outputs.tobytes() == expected.tobytes()
