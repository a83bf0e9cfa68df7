"""Requests and responses of /gradcheck and /check: is the gradient, or a hand derivation, right?"""

import math
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field
from pydantic_core import InitErrorDetails

from app.config import EVALUATION_OVERHEAD_WORK, get_settings
from app.nn.activations import ActivationName
from app.nn.check import DEFAULT_TOLERANCE, MIN_SIGNIFICANT, MistakeId
from app.nn.explain_steps import Stage
from app.nn.gradcheck import DEFAULT_EPSILON, KINKED
from app.nn.optimizers import SGD
from app.schemas.base import (
    FiniteFloat,
    Loc,
    ResponseModel,
    SampleOrBatch,
    StrictModel,
    as_rows,
    is_batch,
    issue,
    over_limit,
    plural,
)
from app.schemas.network import PerLayer
from app.schemas.passes import LossRequest
from app.schemas.training import OptimizerState, SGDOptimizer, state_issues

Values = float | list[float] | list[list[float]]


class GradcheckRequest(LossRequest):
    """A network, data and loss whose gradients to check by finite differences."""

    epsilon: FiniteFloat = Field(
        DEFAULT_EPSILON,
        ge=1e-10,
        le=1e-2,
        description="The step ε of the central differences (L(w + ε) − L(w − ε)) / 2ε, in "
        "[1e-10, 1e-2].",
    )

    def response_values(self) -> int:
        """The tolerance, three numbers per tensor, and at most one warning per kinked unit."""
        layers = self.network.layers
        kinked = sum(len(layer.weights) for layer in layers if layer.activation in KINKED)
        return 2 + 6 * len(layers) + 4 * self.samples * kinked

    def work(self) -> int:
        """Two forward passes per parameter, each ``samples × parameters`` plus a fixed cost."""
        net = self.network
        per_pass = self.samples * net.parameters + EVALUATION_OVERHEAD_WORK * len(net.layers)
        return 2 * net.parameters * per_pass

    def _issues(self) -> list[InitErrorDetails]:
        issues = super()._issues()
        limit = get_settings().max_work
        if self.work() > limit.value:
            what = (
                "the work (2 × parameters × (samples × parameters + "
                f"{EVALUATION_OVERHEAD_WORK:,} × layers))"
            )
            hint = "check a smaller network or fewer samples"
            issues.append(over_limit((), what, self.work(), limit, hint))
        largest = max(
            abs(value)
            for layer in self.network.layers
            for value in (*layer.bias, *(w for row in layer.weights for w in row))
        )
        if largest + self.epsilon == largest - self.epsilon:
            message = (
                f"epsilon {self.epsilon:g} is below float64's resolution at the parameter "
                f"{largest:g} (w + ε and w − ε are the same number): use at least "
                f"{math.ulp(largest):.1g}, better far more"
            )
            issues.append(issue("invalid_combination", ("epsilon",), message, self.epsilon))
        return issues


class Tolerance(ResponseModel):
    """An entry passes when its absolute or its relative error is within these."""

    absolute: float = Field(description="1e-7 at the default epsilon.")
    relative: float = Field(description="1e-5 at the default epsilon.")


class TensorErrors(ResponseModel):
    """How far one tensor's analytic gradient is from its finite differences."""

    max_abs_error: float = Field(description="The largest |analytic − numeric| over its entries.")
    max_rel_error: float = Field(
        description="The largest |analytic − numeric| / max(|analytic|, |numeric|) (0 when both "
        "are 0)."
    )
    failed: int = Field(description="Entries over both the absolute and the relative tolerance.")


class LayerErrors(ResponseModel):
    """The errors of one layer's weights and bias gradients."""

    weights: TensorErrors
    bias: TensorErrors


class KinkWarning(ResponseModel):
    """A relu or leaky_relu input that a step of ±epsilon pushed across the kink at 0."""

    layer: int
    sample: int = Field(description="The sample's index (0 for a single sample).")
    unit: int
    z: float = Field(description="The unit's z, unperturbed.")
    message: str


class GradcheckResponse(ResponseModel):
    """Analytic gradients against central finite differences, per layer and tensor."""

    passed: bool = Field(description="Every entry of every tensor is within the tolerance.")
    tolerance: Tolerance = Field(
        description="The tolerance used: 1e-7 absolute and 1e-5 relative at epsilon 1e-6; for a "
        "smaller epsilon both grow as 1e-6/epsilon (round-off), and both are at least "
        "100·epsilon² (truncation)."
    )
    errors: list[LayerErrors] = Field(description="One entry per layer, like network.layers.")
    warnings: list[KinkWarning] = Field(
        description="Units whose z changed sign in a perturbed pass: there finite differences "
        "straddle the kink and may disagree with the (one-sided) analytic derivative."
    )


class ClaimedLayer(StrictModel):
    """One layer's z and a as computed by hand (either may be left out)."""

    z: SampleOrBatch | None = Field(None, description="In the form of inputs.")
    a: SampleOrBatch | None = Field(None, description="In the form of inputs.")


class ClaimedTensors(StrictModel):
    """Arrays shaped like one layer's weights and bias (either may be left out)."""

    weights: SampleOrBatch | None = Field(None, description="Shape (units, inputs).")
    bias: SampleOrBatch | None = Field(None, description="One number per unit.")


class ClaimedUpdatedLayer(ClaimedTensors):
    """One layer after the SGD step; its activation may be given too, as /train returns it."""

    activation: ActivationName | None = Field(
        None, description="Not checked but must be the network's: a step keeps each activation."
    )


class ClaimedNetwork(StrictModel):
    """The network after one SGD step, as computed by hand (or as /train returns it)."""

    layers: PerLayer[ClaimedUpdatedLayer] = Field(
        description="Layers from the first; {} to skip one."
    )


class ClaimedState(StrictModel):
    """The optimizer's state after the step, as computed by hand (as /train returns it)."""

    momentum_buffer: PerLayer[ClaimedTensors] | None = Field(
        None,
        description="The new velocity v ← momentum·v + ∂L/∂w per layer (∂L/∂w itself at the "
        "first step), from the first layer; {} to skip one. Only with momentum.",
    )


class Claimed(StrictModel):
    """What was computed by hand: any subset, in the shapes /backward and /train return."""

    layers: PerLayer[ClaimedLayer] | None = Field(
        None, description="Each layer's z and a, from the first layer; {} to skip one."
    )
    outputs: SampleOrBatch | None = Field(None, description="The last layer's a.")
    loss: FiniteFloat | None = Field(None, description="The loss, one number.")
    gradients: PerLayer[ClaimedTensors] | None = Field(
        None, description="∂L/∂W and ∂L/∂b per layer, from the first layer; {} to skip one."
    )
    network: ClaimedNetwork | None = Field(
        None,
        description="The parameters after one SGD step w − learning_rate·∂L/∂w (with momentum "
        "w − learning_rate·v).",
    )
    optimizer_state: ClaimedState | None = Field(
        None, description="The new velocity of a step with momentum."
    )

    @property
    def velocity(self) -> list[ClaimedTensors] | None:
        return self.optimizer_state.momentum_buffer if self.optimizer_state else None

    def claims(self) -> Iterator[tuple[Loc, Any]]:
        """Every claimed value with its path inside ``claimed``."""
        groups: list[tuple[Loc, list[Any] | None]] = [
            (("layers",), self.layers),
            (("gradients",), self.gradients),
            (("network", "layers"), self.network.layers if self.network else None),
            (("optimizer_state", "momentum_buffer"), self.velocity),
        ]
        for name in ("outputs", "loss"):
            if getattr(self, name) is not None:
                yield (name,), getattr(self, name)
        for loc, items in groups:
            for index, item in enumerate(items or []):
                # An activation is not computed: it is validated against the network instead.
                for part, value in item:
                    if value is not None and part != "activation":
                        yield (*loc, index, part), value


class CheckRequest(LossRequest):
    """A network, data and loss, and the values of one SGD step computed by hand."""

    learning_rate: FiniteFloat = Field(
        SGD.learning_rate, ge=0, description="η of the update w − η·∂L/∂w."
    )
    optimizer: SGDOptimizer | None = Field(
        None,
        description="The step as /train takes it, in place of learning_rate: sgd with momentum "
        "(dampening, nesterov, weight_decay as /train applies them). With momentum the update "
        "is w − learning_rate·v, v the new velocity, and claimed.optimizer_state may hold v.",
    )
    optimizer_state: OptimizerState | None = Field(
        None,
        description="The optimizer_state before the step, as /train returns it (its "
        "momentum_buffer is the earlier velocity); left out, the step is the first.",
    )
    tolerance: FiniteFloat | None = Field(
        None,
        gt=0,
        description="A fixed precision: a claimed number c is right when |c − correct| ≤ "
        "tolerance·max(1, |correct|). Left out, each number is judged at the precision it is "
        "written with: within one unit of its last decimal place (so rounded and truncated "
        "values are right), never looser than one unit in the min_significant-th significant "
        f"figure of the correct value, never tighter than {DEFAULT_TOLERANCE:g}·max(1, "
        "|correct|).",
    )
    min_significant: int = Field(
        MIN_SIGNIFICANT,
        ge=1,
        le=15,
        description="The significant figures of the correct value a claimed number must get "
        "right when no tolerance is given (a bare 0 or 1 is no free pass), in [1, 15].",
    )
    claimed: Claimed = Field(description="The values computed by hand; any subset.")

    def response_values(self) -> int:
        """Each claimed number three times (claimed, correct, its tolerance) and an error per
        check."""
        return sum(3 * _size(value) + 1 for _, value in self.claimed.claims())

    def shape_problem(self, loc: Loc, value: Any) -> str | None:
        """What is wrong with the shape of the claimed value at ``loc``, naming the shape
        expected; None when it has that shape or its transpose (the check calls a transposed
        value wrong and says so)."""
        if loc == ("loss",):
            return None
        return _shape_problem(value, *self.expected_shape(loc))

    def expected_shape(self, loc: Loc) -> tuple[tuple[int, ...], str, str]:
        """The shape of the claimed value at ``loc``, why (its layer counted from 1, as every
        /check text counts), and the form it takes, in words."""
        layers = self.network.layers
        if loc[0] in ("layers", "outputs"):
            index = int(loc[1]) if loc[0] == "layers" else len(layers) - 1
            units = len(layers[index].weights)
            what = f"layer {index + 1}'s {plural(units, 'unit')}"
            if self.is_batch:
                why = f"{plural(self.samples, 'sample')} × {what}"
                return (self.samples, units), why, "inputs is a batch, so one row per sample"
            return (units,), f"one sample: {what}", "inputs is one sample, so one list of numbers"
        index = int(loc[-2])
        units, inputs = len(layers[index].weights), len(layers[index].weights[0])
        if loc[-1] == "weights":
            why = (
                f"layer {index + 1}'s weights: {plural(units, 'unit')} × {plural(inputs, 'input')}"
            )
            form = f"one row per unit, {plural(units, 'row')} of {plural(inputs, 'number')}"
            return (units, inputs), why, form
        why = f"layer {index + 1}'s bias: {plural(units, 'unit')}"
        return (units,), why, "one list of numbers, one per unit"

    def _issues(self) -> list[InitErrorDetails]:
        issues: list[InitErrorDetails] = []
        layers = len(self.network.layers)
        claimed = self.claimed
        lists: dict[Loc, list[Any] | None] = {
            ("claimed", "layers"): claimed.layers,
            ("claimed", "gradients"): claimed.gradients,
            ("claimed", "network", "layers"): claimed.network.layers if claimed.network else None,
            ("claimed", "optimizer_state", "momentum_buffer"): claimed.velocity,
        }
        for where, items in lists.items():
            if items is not None and len(items) > layers:
                message = (
                    f"the network has {plural(layers, 'layer')} but this list has "
                    f"{len(items)} entries"
                )
                issues.append(issue("shape_mismatch", where, message, len(items)))
        if issues:
            return super()._issues() + issues
        issues += self._activation_issues() + self._optimizer_issues()
        if "tolerance" in self.model_fields_set and "min_significant" in self.model_fields_set:
            message = (
                "give tolerance or min_significant, not both: min_significant applies to the "
                "precision as written, which a tolerance replaces"
            )
            issues.append(issue("invalid_combination", ("min_significant",), message))
        if next(claimed.claims(), None) is None:
            message = "claimed holds nothing to check: give any of layers, outputs, loss, gradients"
            issues.append(issue("missing", ("claimed",), message + " or network"))
        return super()._issues() + issues

    def _optimizer_issues(self) -> list[InitErrorDetails]:
        """The step's optimizer in one place, its state and the velocity claimed fitting it."""
        optimizer, issues = self.optimizer, []
        if optimizer is not None and "learning_rate" in self.model_fields_set:
            message = "give learning_rate or optimizer, not both: the optimizer has its own"
            issues.append(issue("invalid_combination", ("learning_rate",), message))
        if self.optimizer_state is not None:
            if optimizer is None:
                message = "optimizer_state needs the optimizer it belongs to"
                issues.append(issue("missing", ("optimizer",), message))
            else:
                issues += state_issues(self.optimizer_state, optimizer, self.network)
        if self.claimed.velocity is not None and (optimizer is None or not optimizer.momentum):
            message = "a velocity is claimed but the step has no momentum: give optimizer.momentum"
            loc = ("claimed", "optimizer_state", "momentum_buffer")
            issues.append(issue("invalid_combination", loc, message))
        return issues

    def _activation_issues(self) -> list[InitErrorDetails]:
        """A claimed layer's activation that is not the network's: one SGD step keeps it."""
        claimed = self.claimed.network.layers if self.claimed.network else []
        issues = []
        for index, (mine, given) in enumerate(zip(claimed, self.network.layers, strict=False)):
            if mine.activation is not None and mine.activation != given.activation:
                message = (
                    f"claimed layer {index} has activation {mine.activation} but the network's "
                    f"layer {index} has {given.activation}: an SGD step changes only weights and "
                    "bias"
                )
                loc = ("claimed", "network", "layers", index, "activation")
                issues.append(issue("invalid_combination", loc, message, mine.activation))
        return issues


def _size(value: Any) -> int:
    if isinstance(value, list):
        return sum(_size(item) for item in value)
    return 1


def _shape_problem(
    value: list[float] | list[list[float]], expected: tuple[int, ...], why: str, form: str
) -> str | None:
    """What is wrong with the shape of one claimed array, or None when it is ``expected`` or,
    for a matrix, its transpose."""
    if is_batch(value):
        rows = as_rows(value)
        width = len(rows[0])
        for index, row in enumerate(rows):
            if len(row) != width:
                return (
                    f"expected shape {expected} ({why}): row {index + 1} has "
                    f"{plural(len(row), 'number')} but row 1 has {width}"
                )
        actual: tuple[int, ...] = (len(rows), width)
    else:
        actual = (len(value),)
    if actual == expected or (len(expected) == 2 and actual == expected[::-1]):
        return None
    message = f"expected shape {expected} ({why}), got {actual}"
    if len(actual) != len(expected):
        message += f": {form}"
    return message


Verdict = Literal["correct", "carried_forward", "wrong"]
STEP = Field(
    description="forward (z, a, outputs), loss, output_delta (the last layer's bias gradient, "
    "δ = ∂L/∂z summed over samples), backward (the other gradients, from the last layer to the "
    "first) or update (the network after the SGD step; with momentum each layer's velocity "
    "before its parameters)."
)
PATH = Field(description="Where the value is in claimed, e.g. gradients[0].weights.")


class ExplainPointer(ResponseModel):
    """Where /explain writes out the correct computation of a wrong value's first wrong number."""

    step: str = Field(description="The id of the step in /explain's json format.")
    sample: int = Field(description="The sample to ask /explain for (its sample field).")


EXPLAIN = Field(
    None,
    description="For a wrong value: the step of POST /explain (same network, inputs, targets, "
    "loss, learning_rate or optimizer and optimizer_state) that computes its first wrong number "
    "correctly; for a carried_forward value, that of the wrong value it follows from "
    "(carried_from).",
)


class Mistake(ResponseModel):
    """A mistake a wrong value is marked with."""

    id: MistakeId | Literal["shape"] = Field(
        description="Which mistake, a stable id: one of the usual mistakes that, made alone, "
        "gives the claimed value at its precision (see docs/explain-and-check.md for each), or "
        "shape: the value's shape is neither the expected one nor its transpose."
    )
    text: str = Field(
        description="What was done and what should have been, with the numbers of the value's "
        "first wrong entry; layers, units and samples counted from 1 as in the worked solution "
        "(layer 1's δ (unit 2), δ⁽¹⁾), while paths index the JSON from 0."
    )


MISTAKE = Field(
    description="For a wrong value: the first of its mistakes (shape: its shape is neither the "
    "expected one nor its transpose); null when it is not wrong or no usual mistake gives it."
)
MISTAKES = Field(
    description="For a wrong value: every usual mistake that, made alone, gives it at its "
    "precision (several can coincide: twice the loss is a missing ½ and a sum over samples); "
    "empty otherwise."
)


class CheckedValue(ResponseModel):
    """One claimed value next to the correct one."""

    step: Stage = STEP
    path: str = PATH
    verdict: Verdict = Field(
        description="correct: every number is within its tolerance of the correct value, or of "
        "the value recomputed from the claimed inputs of its step when those are correct (a z "
        "computed from a rounded a). carried_forward: it is right only when recomputed from "
        "claimed inputs that follow from a wrong claim (see carried_from). wrong: neither."
    )
    claimed: Values = Field(description="The value as claimed (as given, when of the wrong shape).")
    correct: Values = Field(description="The value as the service computes it (float64).")
    tolerance: Values | None = Field(
        description="For each claimed number, the largest |claimed − correct| taken as right, "
        "in the form of claimed: one unit of its last written decimal place, at most one unit "
        "in the min_significant-th significant figure of the correct value, at least "
        f"{DEFAULT_TOLERANCE:g}·max(1, |correct|) (or the request's tolerance·max(1, "
        "|correct|)); null when the shape is not the value's."
    )
    error: float | None = Field(
        description="The largest |claimed − correct| / max(1, |correct|) over its numbers; null "
        "when the claim's shape is not the value's (transposed or wrong)."
    )
    carried_from: str | None = Field(
        description="For a carried_forward value: the path of the earliest wrong claim it "
        "follows from (in this list)."
    )
    hint: str | None = Field(
        description="For a wrong value: the usual mistake it matches, else the step's formula "
        "(for a wrong shape, the mistake's text). For a carried_forward value: that it is "
        "computed correctly from the wrong value it follows from."
    )
    mistake: Mistake | None = MISTAKE
    mistakes: list[Mistake] = MISTAKES
    explain: ExplainPointer | None = EXPLAIN


class FirstWrong(ResponseModel):
    """The earliest wrong value in the order of the computation."""

    step: Stage = STEP
    path: str = PATH
    hint: str = Field(description="The usual mistake it matches, else the step's formula.")
    mistake: Mistake | None = MISTAKE
    mistakes: list[Mistake] = MISTAKES
    explain: ExplainPointer | None = EXPLAIN


class CheckResponse(ResponseModel):
    """Every claimed value checked, in the order of the computation."""

    all_correct: bool = Field(description="Every verdict is correct.")
    score: float = Field(
        description="The share of claimed values that are correct or carried_forward, in [0, 1]."
    )
    first_wrong: FirstWrong | None = Field(
        description="The first wrong value (never a carried_forward one) in the order forward → "
        "loss → output delta → backward (last layer to first) → update; null when none is wrong."
    )
    checks: list[CheckedValue] = Field(
        description="Every claimed value, in the order of the computation."
    )
