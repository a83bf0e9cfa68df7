"""Networks as JSON: layers, their shape checks, and per-layer values and tensors."""

from collections.abc import Sequence
from typing import Annotated, Self, TypeVar

import numpy as np
from pydantic import (
    Field,
    model_validator,
)
from pydantic_core import InitErrorDetails

from app.config import Limit, get_settings
from app.nn.activations import ACTIVATIONS, ActivationName
from app.nn.types import Array
from app.schemas.base import (
    Loc,
    Matrix,
    ResponseModel,
    StrictModel,
    Vector,
    at_most,
    bounded,
    issue,
    over_limit,
    plural,
    raise_if,
)

T = TypeVar("T")

LAST_LAYER_ONLY: frozenset[ActivationName] = frozenset(
    name for name, activation in ACTIVATIONS.items() if activation.last_layer_only
)
"""Activations allowed on the last layer only (the engine's table says which)."""


def _activation_names() -> str:
    """Every activation by name with its setting and rule: ``a, b (slope …), or c (last layer
    only)``."""
    names = []
    for name, activation in ACTIVATIONS.items():
        notes = [activation.aside] if activation.aside else []
        notes += ["last layer only"] if activation.last_layer_only else []
        names.append(f"{name} ({', '.join(notes)})" if notes else name)
    return f"{', '.join(names[:-1])}, or {names[-1]}"


def max_layers() -> Limit:
    """The limit on the number of layers."""
    return get_settings().max_layers


PerLayer = Annotated[list[T], at_most(max_layers, "the number of layers")]
"""A list with one entry per layer: refused at once when longer than the layer limit."""


def misplaced_activations(activations: Sequence[ActivationName]) -> list[int]:
    """The layers, before the last, whose activation is allowed on the last layer only."""
    return [index for index, name in enumerate(activations[:-1]) if name in LAST_LAYER_ONLY]


class Layer(StrictModel):
    """A dense layer: ``z = W·x + b``, ``a = activation(z)``."""

    weights: Matrix = Field(
        min_length=1,
        description="W, shape (units, inputs): one row per unit, one column per input.",
    )
    bias: Vector = Field(description="b, one number per unit.")
    activation: ActivationName = Field(description=f"{_activation_names()}.")


class Network(StrictModel):
    """A dense network: its layers in order from input to output."""

    layers: PerLayer[Layer] = Field(min_length=1, description="Layers from input to output.")

    @model_validator(mode="after")
    def _check_shapes(self) -> Self:
        issues: list[InitErrorDetails] = []
        misplaced = set(misplaced_activations([layer.activation for layer in self.layers]))
        for index, layer in enumerate(self.layers):
            issues += _layer_issues(index, layer, self.layers[index - 1] if index else None)
            if index in misplaced:
                message = (
                    f"{layer.activation} is only allowed on the last layer, but layer {index} of "
                    f"{len(self.layers)} uses it"
                )
                loc: Loc = ("layers", index, "activation")
                issues.append(issue("invalid_combination", loc, message, layer.activation))
        raise_if(issues, "Network")
        return self

    def to_numpy(self) -> list[tuple[Array, Array]]:
        """Each layer's ``(weights, bias)`` as float64 arrays, from input to output."""
        return layer_arrays(self.layers)

    @property
    def input_size(self) -> int:
        """How many numbers one sample holds."""
        return len(self.layers[0].weights[0])

    @property
    def output_size(self) -> int:
        """How many numbers the last layer outputs per sample."""
        return len(self.layers[-1].weights)

    @property
    def units(self) -> int:
        """Units over all layers (each has one ``z`` and one ``a`` per sample)."""
        return sum(len(layer.weights) for layer in self.layers)

    @property
    def parameters(self) -> int:
        """Weights and biases over all layers."""
        return sum(len(layer.weights) * (len(layer.weights[0]) + 1) for layer in self.layers)


def _layer_issues(index: int, layer: Layer, previous: Layer | None) -> list[InitErrorDetails]:
    """Shape and width problems of one layer, given the layer before it."""
    max_units = get_settings().max_units
    units, inputs = len(layer.weights), len(layer.weights[0])
    if (  # the usual case, checked in C loops before any message is built
        0 < inputs <= max_units.value
        and units <= max_units.value
        and len(layer.bias) == units
        and (previous is None or inputs == len(previous.weights))
        and not any(map(inputs.__ne__, map(len, layer.weights)))
    ):
        return []
    loc: Loc = ("layers", index)
    ragged = (row for row, values in enumerate(layer.weights) if len(values) != inputs)
    issues = bounded(
        ragged,
        lambda row: issue(
            "shape_mismatch",
            (*loc, "weights", row),
            f"layer {index}: every row of weights must have the same length: row {row} has "
            f"{plural(len(layer.weights[row]), 'number')} but row 0 has {inputs}",
            len(layer.weights[row]),
        ),
        (*loc, "weights"),
    )
    if inputs == 0:
        issues.append(
            issue("shape_mismatch", (*loc, "weights", 0), f"layer {index}: weights rows are empty")
        )
    if len(layer.bias) != units:
        issues.append(
            issue(
                "shape_mismatch",
                (*loc, "bias"),
                f"layer {index} has {plural(units, 'unit')} (one per row of weights), so bias "
                f"needs {plural(units, 'number')} but it has {len(layer.bias)}",
                len(layer.bias),
            )
        )
    if previous is not None and inputs != len(previous.weights):
        expected = len(previous.weights)
        issues.append(
            issue(
                "shape_mismatch",
                (*loc, "weights"),
                f"layer {index} expects {plural(expected, 'input')} (layer {index - 1} has "
                f"{plural(expected, 'unit')}) but its weights have {plural(inputs, 'column')}",
                inputs,
            )
        )
    for what, size in (("units", units), ("inputs", inputs)):
        if size > max_units.value:
            issues.append(
                over_limit((*loc, "weights"), f"layer {index}'s number of {what}", size, max_units)
            )
    return issues


class LayerValues(ResponseModel):
    """One layer's pre-activation ``z`` and activation ``a``, in the form of ``inputs``."""

    z: list[float] | list[list[float]]
    a: list[float] | list[list[float]]


class NetworkOut(ResponseModel):
    """A network in the request format, ready to post back to any endpoint."""

    layers: list[Layer]

    def to_numpy(self) -> list[tuple[Array, Array]]:
        """Each layer's ``(weights, bias)`` as float64 arrays, from input to output."""
        return layer_arrays(self.layers)


def layer_arrays(layers: Sequence[Layer]) -> list[tuple[Array, Array]]:
    """The layers' ``(weights, bias)`` pairs as float64 arrays, as JAX's stax holds parameters."""
    return [(np.array(layer.weights), np.array(layer.bias)) for layer in layers]


class LayerTensors(StrictModel):
    """Arrays shaped like one layer's weights and bias (a gradient, an optimizer buffer)."""

    weights: Matrix = Field(description="Shaped like the layer's weights, (units, inputs).")
    bias: Vector = Field(description="Shaped like the layer's bias, one number per unit.")
