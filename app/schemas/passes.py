"""Requests and responses of /forward, /loss and /backward."""

from typing import ClassVar, Self

from pydantic import (
    Field,
    model_validator,
)
from pydantic_core import InitErrorDetails

from app.config import get_settings
from app.nn.activations import ACTIVATIONS
from app.nn.losses import LOSSES, LossName
from app.nn.regularization import REGULARIZATIONS, RegularizationName
from app.schemas.base import (
    FiniteFloat,
    Loc,
    ResponseModel,
    SampleOrBatch,
    StrictModel,
    as_rows,
    bounded,
    is_batch,
    issue,
    over_limit,
    plural,
    raise_if,
    response_size_issues,
)
from app.schemas.network import LayerTensors, LayerValues, Network

PROBABILITY_SUM_TOLERANCE = 1e-9
REQUEST_SMALLER = (
    "send fewer samples or a smaller network (on /train: fewer epochs or a sparser trace)"
)


def _loss_names() -> str:
    """Every loss by name with what it needs and computes: ``a: …; b: …``."""
    return "; ".join(
        f"{name}: "
        + (f"last layer {loss.output_activation}, " if loss.output_activation else "")
        + loss.summary
        for name, loss in LOSSES.items()
    )


def _path(loc: Loc) -> str:
    """A field's dotted path, as the messages name it: ``validation.inputs``."""
    return ".".join(str(part) for part in loc)


def _sample_issues(
    loc: Loc, values: list[float] | list[list[float]], width: int, expected: str
) -> list[InitErrorDetails]:
    """Check that every sample of ``values`` has ``width`` numbers (``expected`` says why);
    ``loc`` is the field's path, named in the messages."""
    field = _path(loc)
    if is_batch(values):
        rows = as_rows(values)
        wrong = (i for i, row in enumerate(rows) if len(row) != width)
        return bounded(
            wrong,
            lambda i: issue(
                "shape_mismatch",
                (*loc, i),
                f"{field} row {i} has {plural(len(rows[i]), 'number')} but {expected}",
                len(rows[i]),
            ),
            loc,
        )
    if len(values) == width:
        return []
    hint = ""
    if loc[-1] == "inputs" and width == 1 and len(values) > 1:
        hint = f"; to send {len(values)} samples, send a list of rows such as [[1.0], [2.0]]"
    return [
        issue(
            "shape_mismatch",
            loc,
            f"{field} has {plural(len(values), 'number')} but {expected}{hint}",
            len(values),
        )
    ]


def input_issues(
    network: Network, inputs: list[float] | list[list[float]], at: Loc = ()
) -> list[InitErrorDetails]:
    """Every sample of ``inputs`` (at path ``at``) must have the network's input width."""
    width = network.input_size
    if not any(map(width.__ne__, map(len, as_rows(inputs)))):
        return []  # the usual case, checked in a C loop before any message is built
    expected = f"layer 0 expects {plural(width, 'input')}"
    return _sample_issues((*at, "inputs"), inputs, width, expected)


def target_issues(
    network: Network,
    loss: LossName,
    inputs: list[float] | list[list[float]],
    targets: list[float] | list[list[float]],
    at: Loc = (),
) -> list[InitErrorDetails]:
    """``targets`` (at path ``at``) must take the form of ``inputs``, one row per sample, with
    the last layer's width and, for a classification loss, values it reads as probabilities."""
    loc: Loc = (*at, "targets")
    named, inputs_named = _path(loc), _path((*at, "inputs"))
    wrong_activation = output_activation_issues(loss, network)
    issues = [] if wrong_activation else _probability_issues(loss, targets, loc)
    if is_batch(inputs) != is_batch(targets):
        form = "a batch (a list of rows)" if is_batch(inputs) else "one sample"
        message = f"{inputs_named} is {form}, so {named} must be {form} too"
        return [*issues, issue("shape_mismatch", loc, message)]
    if is_batch(targets) and len(targets) != len(inputs):
        message = (
            f"{named} has {plural(len(targets), 'row')} but {inputs_named} has "
            f"{len(inputs)}: one target row per sample"
        )
        issues.append(issue("shape_mismatch", loc, message, len(targets)))
    outputs, last = network.output_size, len(network.layers) - 1
    expected = f"the last layer (layer {last}) has {plural(outputs, 'output')}"
    return issues + _sample_issues(loc, targets, outputs, expected)


class PassRequest(StrictModel):
    """A network and the inputs to run through it: what every pass through the network reads."""

    network: Network = Field(description="The layers, from input to output.")
    inputs: SampleOrBatch = Field(
        description="One sample (a list of numbers) or a batch (a list of rows, one per sample)."
    )

    size_hint: ClassVar[str] = REQUEST_SMALLER
    """How to ask for a smaller answer, said when it is over BACKPROP_MAX_TRACE_VALUES."""

    @property
    def is_batch(self) -> bool:
        """Whether ``inputs`` is a batch of rows (else one sample); outputs mirror the form."""
        return is_batch(self.inputs)

    @property
    def samples(self) -> int:
        """How many samples ``inputs`` holds."""
        return len(self.inputs) if self.is_batch else 1

    def work(self) -> int:
        """The multiply-adds of one forward pass: samples × parameters."""
        return self.samples * self.network.parameters

    def response_values(self) -> int:
        """How many numbers the response carries: outputs plus every layer's z and a."""
        return self.samples * (self.network.output_size + 2 * self.network.units)

    def _issues(self) -> list[InitErrorDetails]:
        settings = get_settings()
        issues = input_issues(self.network, self.inputs)
        if self.samples > settings.max_samples.value:
            issues.append(
                over_limit(("inputs",), "the number of samples", self.samples, settings.max_samples)
            )
        return issues + response_size_issues(self.response_values(), self.size_hint)

    @model_validator(mode="after")
    def _check(self) -> Self:
        raise_if(self._issues(), type(self).__name__)
        return self


class ForwardRequest(PassRequest):
    """/forward's body: a network, the inputs, and whether to answer every layer's z and a."""

    layers: bool = Field(
        True,
        description="Answer every layer's z and a (default); false answers the outputs alone, "
        "which is all a decision map over a grid of inputs needs.",
    )

    def response_values(self) -> int:
        """The outputs, plus every layer's z and a when asked for."""
        if self.layers:
            return super().response_values()
        return self.samples * self.network.output_size


class Regularization(StrictModel):
    """A penalty on the weights, never the biases, added to the loss (TensorFlow Playground's
    definitions); the reported loss stays the data loss, the penalty is reported beside it and
    the gradients are those of their sum."""

    type: RegularizationName = Field(
        description="; ".join(f"{name}: {rule.summary}" for name, rule in REGULARIZATIONS.items())
        + ", summed over every layer's weights."
    )
    rate: FiniteFloat = Field(ge=0, description="The penalty's weight, ≥ 0 (0: none).")


class LossRequest(PassRequest):
    """A network, inputs, the targets they should map to, and the loss to measure."""

    targets: SampleOrBatch = Field(
        description="The wanted outputs, in the same form as inputs (one sample or a batch)."
    )
    loss: LossName = Field(
        "half_squared_error",
        description=f"{_loss_names()}. Over a batch the loss is the mean over samples; both "
        "cross-entropies are computed stably from z.",
    )
    regularization: Regularization | None = Field(
        None,
        description="A penalty on the weights added to the loss (default: none): the answer's "
        "penalty is reported beside the data loss, and gradients are of their sum.",
    )

    @property
    def metrics(self) -> int:
        """How many metrics (accuracy) each evaluation reports: 1 for classification losses."""
        return int(LOSSES[self.loss].accuracy is not None)

    def _issues(self) -> list[InitErrorDetails]:
        issues = super()._issues() + output_activation_issues(self.loss, self.network)
        return issues + target_issues(self.network, self.loss, self.inputs, self.targets)


def output_activation_issues(loss: LossName, network: Network) -> list[InitErrorDetails]:
    """A cross-entropy needs its activation (sigmoid or softmax) on the last layer."""
    needed = LOSSES[loss].output_activation
    last = len(network.layers) - 1
    actual = network.layers[last].activation
    if needed is None or actual == needed:
        return []
    message = (
        f"{loss} needs the last layer (layer {last}) to use the {needed} activation, "
        f"but it uses {actual}"
    )
    return [
        issue("invalid_combination", ("network", "layers", last, "activation"), message, actual)
    ]


def _probability_issues(
    loss: LossName, targets: list[float] | list[list[float]], at: Loc
) -> list[InitErrorDetails]:
    """A cross-entropy's targets (at path ``at``) are probabilities, rows summing to 1 for
    softmax."""
    needed = LOSSES[loss].output_activation
    if needed is None:
        return []
    rows = as_rows(targets)

    def problem(row: list[float]) -> str | None:
        if any(not 0.0 <= value <= 1.0 for value in row):
            return f"{loss} targets are probabilities, each between 0 and 1"
        # An activation for the last layer only makes each sample's outputs one distribution.
        one_distribution = ACTIVATIONS[needed].last_layer_only
        if one_distribution and abs(sum(row) - 1.0) > PROBABILITY_SUM_TOLERANCE:
            return (
                f"{loss} targets are one-hot or probability rows that sum to 1, "
                f"but this row sums to {sum(row)}"
            )
        return None

    def describe(index: int) -> InitErrorDetails:
        loc = (*at, index) if is_batch(targets) else at
        return issue("invalid_target", loc, problem(rows[index]) or "", rows[index])

    return bounded((i for i, row in enumerate(rows) if problem(row) is not None), describe, at)


class BackwardRequest(LossRequest):
    """Everything needed for one forward and backward pass."""

    def response_values(self) -> int:
        """Loss (and penalty), accuracy, outputs, every z and a, and every gradient."""
        penalty = int(self.regularization is not None)
        return super().response_values() + 1 + penalty + self.metrics + self.network.parameters


class ForwardResponse(ResponseModel):
    """The forward pass: the network's outputs and, unless the request said not to, every
    layer's z and a."""

    outputs: list[float] | list[list[float]]
    layers: list[LayerValues] | None = Field(
        None, description="Every layer's z and a; left out when the request sets layers false."
    )


ACCURACY = Field(
    None,
    description="Classification losses only: the share of samples classified right (the "
    "highest output is the target's class for cross_entropy; each output's side of 0.5 "
    "matches its 0/1 target for binary_cross_entropy). null for regression losses or when the "
    "targets are not hard labels (one-hot rows or 0/1 values).",
)


PENALTY = Field(
    None,
    description="With regularization only: rate·Σ|w| (l1) or rate·Σ½w² (l2) over every weight "
    "of the network; loss + penalty is what the gradients descend. Absent without it.",
)


class LossResponse(ResponseModel):
    """The loss of the network on the given targets and the outputs it was computed from."""

    loss: float
    penalty: float | None = PENALTY
    accuracy: float | None = ACCURACY
    outputs: list[float] | list[list[float]]


class BackwardResponse(ResponseModel):
    """Forward pass, loss and the gradient of the loss for every weight and bias."""

    loss: float
    penalty: float | None = PENALTY
    accuracy: float | None = ACCURACY
    outputs: list[float] | list[list[float]]
    layers: list[LayerValues]
    gradients: list[LayerTensors]
