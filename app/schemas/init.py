"""Request and response of /init."""

import itertools
from typing import Annotated, Any, Self

from pydantic import (
    BeforeValidator,
    Field,
    model_validator,
)
from pydantic_core import InitErrorDetails

from app.config import get_settings
from app.nn.activations import ActivationName
from app.nn.init import InitName
from app.schemas.base import (
    Count,
    ResponseModel,
    StrictModel,
    issue,
    over_limit,
    raise_if,
    response_size_issues,
)
from app.schemas.network import NetworkOut, misplaced_activations


def _few_layers(sizes: Any) -> Any:
    """Refuse sizes of more layers than the limit at once, before any size is validated."""
    limit = get_settings().max_layers
    if type(sizes) is list and len(sizes) - 1 > limit.value:
        raise_if([over_limit((), "the number of layers", len(sizes) - 1, limit)], "sizes")
    return sizes


class InitRequest(StrictModel):
    """The shape of a network and how to draw its first parameters."""

    sizes: Annotated[list[int], BeforeValidator(_few_layers)] = Field(
        min_length=2,
        description="Units per layer from input to output, e.g. [3, 2, 1] for the notebook's.",
    )
    activation: ActivationName = Field("relu", description="Activation of the hidden layers.")
    output_activation: ActivationName = Field(
        "identity", description="Activation of the last layer."
    )
    init: InitName = Field(
        "pytorch_default",
        description="pytorch_default (nn.Linear's U(±1/√fan_in) for weights and biases), "
        "he_uniform, he_normal, xavier_uniform or xavier_normal (biases zero).",
    )
    seed: Count = Field(
        0, ge=0, description="Seed of NumPy's default_rng: same seed, same network."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        settings = get_settings()
        issues: list[InitErrorDetails] = []
        for index, size in enumerate(self.sizes):
            if size < 1:
                message = "every size is a number of units, at least 1"
                issues.append(issue("greater_than_equal", ("sizes", index), message, size))
            elif size > settings.max_units.value:
                what = f"size {index}"
                issues.append(over_limit(("sizes", index), what, size, settings.max_units))
        if misplaced_activations(self.activations):
            message = (
                f"{self.activation} is only allowed on the last layer: use it as output_activation"
            )
            issues.append(issue("invalid_combination", ("activation",), message, self.activation))
        if not issues:
            issues = response_size_issues(self.parameters)
        raise_if(issues, "InitRequest")
        return self

    @property
    def parameters(self) -> int:
        """Weights and biases over all layers."""
        return sum(o * (i + 1) for i, o in itertools.pairwise(self.sizes))

    @property
    def activations(self) -> list[ActivationName]:
        """Each layer's activation: the hidden one, then the output one."""
        return [self.activation] * (len(self.sizes) - 2) + [self.output_activation]


class InitResponse(ResponseModel):
    """A freshly initialised network, ready to post to any endpoint."""

    network: NetworkOut
