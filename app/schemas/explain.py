"""Requests and responses of /explain: a worked solution of one forward pass, backward pass and
update."""

from typing import ClassVar, Literal

from pydantic import Field
from pydantic_core import InitErrorDetails

from app.nn.explain import MAX_STEPS
from app.nn.explain_steps import Stage
from app.nn.optimizers import SGD
from app.schemas.base import Count, ResponseModel, issue, plural
from app.schemas.passes import BackwardRequest
from app.schemas.training import (
    OptimizerSpec,
    OptimizerState,
    SGDOptimizer,
    state_issues,
)

ExplainFormat = Literal["markdown", "text", "json"]
STEPS_PER_PARAMETER = 6
"""Numbers an update writes per parameter at most (Adam: g, m, v, v̂ and w with their operands)."""
NUMBER_BYTES = 72
"""What a number of a step takes in the JSON answer, the largest format: its operand entry
(symbol and exact value) and its name in the formula. Measured: 65 to 68 bytes for a 1-40-40-1
network's sums over 100 to 1,000 samples; 72 leaves room for longer names (5-digit sample
numbers). ``python -m bench.budgets`` checks the model against the answer at the limit, and
tests/api/routes/test_explain.py in every format for long sums, many steps and Adam."""
STEP_BYTES = 200
"""What a step takes in the JSON answer besides its numbers (its id, stage, section, symbol,
result and note): measured at up to 193 bytes for Adam's updates (the wordiest, whose numbers
STEPS_PER_PARAMETER undercounts), less for the others."""
VALUE_BYTES = 26
"""What a number of a /train answer takes in its JSON (25.7 bytes measured for the notebook's
full trace at the limit): /explain counts its answer's bytes in these, so that
BACKPROP_MAX_TRACE_VALUES bounds its answer, and the memory writing it takes, as it bounds
/train's."""
EXPLAIN_SMALLER = (
    f"a worked solution counts its answer's size as values ({NUMBER_BYTES} bytes per number "
    f"written, {STEP_BYTES} per step, over {VALUE_BYTES} bytes per value): ask for a smaller "
    "max_terms or max_steps, or send fewer samples or a smaller network"
)


class ExplainRequest(BackwardRequest):
    """What /backward takes, plus the update to explain and how to write the solution."""

    size_hint: ClassVar[str] = EXPLAIN_SMALLER

    optimizer: OptimizerSpec = Field(
        default_factory=SGDOptimizer,
        description="The update to explain, as /train takes it (default sgd, learning_rate "
        f"{SGD.learning_rate}).",
    )
    optimizer_state: OptimizerState | None = Field(
        None, description="The optimizer_state of an earlier /train response: explain a later step."
    )
    sample: Count = Field(
        0,
        ge=0,
        description="Which sample of a batch to write out (from 0); sums and means over "
        "the batch are written over every sample.",
    )
    format: ExplainFormat | None = Field(
        None,
        description="markdown (LaTeX between $, KaTeX-compatible), text (plain Unicode) or json "
        "(the structured steps). Default: from the Accept header (text/markdown, text/plain, "
        "application/json), else markdown.",
    )
    digits: int = Field(6, ge=1, le=17, description="Significant digits of the numbers shown.")
    max_terms: int = Field(
        8,
        ge=2,
        le=1000,
        description="Sums of more terms show the first max_terms − 1 and the last, with … between "
        "and the number of terms summed.",
    )
    max_steps: int = Field(
        MAX_STEPS,
        ge=2,
        le=1_000_000,
        description="Runs of alike steps (a layer's units, its ∂L/∂a, δ, weight gradients, bias "
        "gradients, weight updates, bias updates) of more items write the first max_steps − 1 and "
        "the last, with an entry between saying how many items and steps are left out.",
    )

    def _shown(self, items: int) -> int:
        """The entries a run of ``items`` items writes: the items shown and an elision."""
        return items if items <= self.max_steps else self.max_steps + 1

    def _layer_sizes(self) -> list[tuple[int, int, int]]:
        """Per layer: units shown, parameters shown (weights and biases), units after it."""
        layers = self.network.layers
        sizes = []
        for index, layer in enumerate(layers):
            units, inputs = len(layer.weights), len(layer.weights[0])
            after = len(layers[index + 1].weights) if index + 1 < len(layers) else 1
            shown = self._shown(units)
            sizes.append((shown, self._shown(units * inputs) + shown, max(after, units, inputs)))
        return sizes

    def steps(self) -> int:
        """The steps the solution writes, at most: z, a, ∂L/∂a and δ of every unit shown, the
        loss (and penalty), then per parameter shown its gradient, each optimizer buffer and the
        update."""
        per_parameter = 3 + len(self.optimizer.buffers)
        losses = 2 + int(self.regularization is not None)
        return losses + sum(
            4 * units + per_parameter * params for units, params, _ in self._layer_sizes()
        )

    def numbers(self) -> int:
        """The numbers the solution writes, at most: every step's operands and result."""
        terms, values = self.max_terms, 0
        for units, params, width in self._layer_sizes():
            values += params * (2 * min(self.samples, terms) + STEPS_PER_PARAMETER)
            values += units * (4 * min(width, terms) + 8)
            if self.regularization is not None:  # the penalty's term and rate in each gradient
                values += 2 * params
        if self.regularization is not None:  # the penalty's step
            values += terms + 2
        return values

    def answer_bytes(self) -> int:
        """The JSON answer's size at most, from the numbers and the steps it writes (Markdown
        and text are smaller); modelled before anything is computed."""
        return NUMBER_BYTES * self.numbers() + STEP_BYTES * self.steps()

    def response_values(self) -> int:
        """The answer's size counted in values of a /train answer (see VALUE_BYTES)."""
        return -(-self.answer_bytes() // VALUE_BYTES)

    def _issues(self) -> list[InitErrorDetails]:
        issues = super()._issues()
        if self.sample >= self.samples:
            message = (
                f"sample {self.sample} is out of range: inputs has "
                f"{plural(self.samples, 'sample')}, numbered from 0"
            )
            issues.append(issue("out_of_range", ("sample",), message, self.sample))
        if self.optimizer_state is not None:
            issues += state_issues(self.optimizer_state, self.optimizer, self.network)
        return issues


class Operand(ResponseModel):
    """A named number a step's formula uses."""

    symbol: str = Field(description="Its name, as in the text format (e.g. W1[0,2]).")
    value: float = Field(description="Its exact float64 value.")


class ExplainStep(ResponseModel):
    """One number of the computation with the formula that gives it."""

    id: str = Field(description="Stable id, e.g. forward.0.z.1 (layers and units from 0).")
    stage: Stage
    section: str = Field(description="The layer it belongs to, in words ('' for the loss).")
    symbol: str = Field(description="What it computes, e.g. z1[1] or ∂L/∂W2[0,1].")
    formula: str = Field(description="Its formula over the operands' names (text format).")
    operands: list[Operand]
    result: float = Field(description="The engine's float64 value, as /backward and /train.")
    note: str = Field(description="What the formula does not say, in words ('' if nothing).")


class ExplainElision(ResponseModel):
    """The items of a run of alike steps left out (max_steps), between the first ones and the
    last one written."""

    id: str = Field(description="The run's id with .elided, e.g. backward.0.weights.elided.")
    stage: Stage
    section: str = Field(description="The layer it belongs to, in words.")
    what: str = Field(description="What the items are, e.g. weight gradients.")
    first: str = Field(description="The first item left out, e.g. ∂L/∂W1[0,9].")
    last: str = Field(description="The last item left out, e.g. ∂L/∂W1[127,782].")
    elided_items: int = Field(description="How many items are left out.")
    elided_steps: int = Field(description="How many steps they would take.")
    note: str = Field(description="All that in words, as the text format writes it.")


class ExplainResponse(ResponseModel):
    """The worked solution's steps in the order of the computation."""

    steps: list[ExplainStep | ExplainElision]
