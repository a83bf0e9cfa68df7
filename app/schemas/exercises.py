"""Request and responses of /exercises: a template and a seed (or a student) in, an exercise out."""

from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.nn.activations import ActivationName
from app.nn.exercises import (
    MAX_DECIMALS,
    MAX_LAYERS,
    MAX_SAMPLES,
    MAX_UNITS,
    PARTS,
    TEMPLATES,
    Part,
    Template,
    seed_of,
)
from app.nn.explain_steps import Stage
from app.nn.losses import LOSSES, LossName
from app.schemas.base import (
    Count,
    FiniteFloat,
    ResponseModel,
    SampleOrBatch,
    StrictModel,
    issue,
    raise_if,
)
from app.schemas.diagnostics import Claimed
from app.schemas.explain import ExplainFormat
from app.schemas.network import NetworkOut, misplaced_activations
from app.schemas.training import OptimizerState, SGDOptimizer

TemplateName = Literal["notebook", "mazur", "sigmoid_bce", "softmax_ce", "batch", "momentum"]
"""The ready templates' names (a test holds them to the engine's TEMPLATES)."""
PartOrAll = Literal["forward", "loss", "gradients", "update", "all"]
MAX_TEXT = 200
"""Characters of a student's name or a course, at most."""


class ExerciseTemplate(StrictModel):
    """What every variant of an exercise shares. The limits keep it a hand exercise: at most
    {layers} layers of {units} units, {samples} samples and {decimals} decimals."""

    sizes: list[int] = Field(
        min_length=2,
        max_length=MAX_LAYERS + 1,
        description=f"Units per layer from input to output, e.g. [3, 2, 1]: 1 to {MAX_UNITS} "
        f"each, at most {MAX_LAYERS} layers.",
    )
    activation: ActivationName = Field("relu", description="Activation of the hidden layers.")
    output_activation: ActivationName = Field(
        "identity", description="Activation of the last layer."
    )
    loss: LossName = Field("half_squared_error", description="The loss, as /train takes it.")
    learning_rate: FiniteFloat = Field(
        0.1, gt=0, le=10, description="η of the SGD step, in (0, 10]."
    )
    momentum: FiniteFloat = Field(
        0.0,
        ge=0,
        lt=1,
        description="SGD's momentum in [0, 1): with momentum the exercise gives the previous "
        "step's momentum buffer (the step is the second one).",
    )
    samples: int = Field(1, ge=1, le=MAX_SAMPLES, description=f"1 to {MAX_SAMPLES} samples.")
    decimals: int = Field(
        1, ge=1, le=MAX_DECIMALS, description=f"Decimals of the given numbers, 1 to {MAX_DECIMALS}."
    )
    compute: list[PartOrAll] = Field(
        ["all"],
        min_length=1,
        max_length=len(PARTS) + 1,
        description="The values the student computes: forward (each z and a, the outputs), "
        "loss, gradients, update (the parameters after the step) or all.",
    )
    dead_relu: bool = Field(
        False,
        description="Ask for a hidden ReLU unit dead on every sample (by default none is).",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        issues: list[InitErrorDetails] = []
        for index, size in enumerate(self.sizes):
            if not 1 <= size <= MAX_UNITS:
                message = (
                    f"a hand exercise has 1 to {MAX_UNITS} units per layer, but size {index} "
                    f"is {size}"
                )
                issues.append(issue("limit_exceeded", ("sizes", index), message, size))
        activations = self.to_engine().activations
        if misplaced_activations(activations):
            message = (
                f"{self.activation} is only allowed on the last layer: use it as output_activation"
            )
            issues.append(issue("invalid_combination", ("activation",), message, self.activation))
        needed = LOSSES[self.loss].output_activation
        if needed is not None and self.output_activation != needed:
            message = f"{self.loss} needs output_activation {needed}, not {self.output_activation}"
            loc = ("output_activation",)
            issues.append(issue("invalid_combination", loc, message, self.output_activation))
        if self.dead_relu and "relu" not in activations[:-1]:
            message = "dead_relu asks for a dead hidden ReLU unit, but no hidden layer is relu"
            issues.append(issue("invalid_combination", ("dead_relu",), message, True))
        raise_if(issues, "ExerciseTemplate")
        return self

    def to_engine(self) -> Template:
        """The engine's template (``all`` spelled out)."""
        compute: tuple[Part, ...] = (
            PARTS if "all" in self.compute else tuple(p for p in PARTS if p in self.compute)
        )
        return Template(
            tuple(self.sizes),
            self.activation,
            self.output_activation,
            self.loss,
            self.learning_rate,
            self.momentum,
            self.samples,
            self.decimals,
            compute,
            self.dead_relu,
        )


ExerciseTemplate.__doc__ = (ExerciseTemplate.__doc__ or "").format(
    layers=MAX_LAYERS, units=MAX_UNITS, samples=MAX_SAMPLES, decimals=MAX_DECIMALS
)


def template_json(template: Template) -> dict[str, Any]:
    """An engine template as ExerciseTemplate's JSON, in its field order."""
    return {
        "sizes": list(template.sizes),
        "activation": template.activation,
        "output_activation": template.output_activation,
        "loss": template.loss,
        "learning_rate": template.learning_rate,
        "momentum": template.momentum,
        "samples": template.samples,
        "decimals": template.decimals,
        "compute": list(template.compute),
        "dead_relu": template.dead_relu,
    }


def _named(value: Any) -> Any:
    """A ready template's name stands for its fields."""
    if type(value) is not str:
        return value
    if value not in TEMPLATES:
        names = ", ".join(TEMPLATES)
        raise PydanticCustomError(
            "unknown_template",
            "'{value}' is no ready template: use one of {names} (GET /exercises lists them), "
            "or give the template's fields",
            {"value": value[:MAX_TEXT], "names": names},
        )
    return template_json(TEMPLATES[value].template)


class ExerciseRequest(StrictModel):
    """A template and whose variant of it: a seed, or a student (and a course) hashed to one."""

    template: Annotated[ExerciseTemplate, BeforeValidator(_named)] = Field(
        description="A ready template's name (GET /exercises lists them) or the template's fields."
    )
    seed: Count | None = Field(
        None, ge=0, description="The variant: same template and seed, the same exercise."
    )
    student: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXT,
        description="Instead of a seed: a student's name or id, hashed (SHA-256) with course to "
        "a seed.",
    )
    course: str | None = Field(
        None,
        max_length=MAX_TEXT,
        description="With student: the course, so the same student gets other numbers in "
        "another course.",
    )
    include_answer: bool = Field(
        False, description="Also return the answer and the /explain request of its worked solution."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        issues: list[InitErrorDetails] = []
        if (self.seed is None) == (self.student is None):
            message = "give a seed or a student (hashed to a seed), one of the two"
            issues.append(issue("invalid_combination", ("seed",), message, self.seed))
        if self.course is not None and self.student is None:
            message = "a course is hashed with a student's name: give student too"
            issues.append(issue("invalid_combination", ("course",), message, None))
        raise_if(issues, "ExerciseRequest")
        return self

    @property
    def variant_seed(self) -> int:
        """The seed given, or the student's and course's hash."""
        if self.student is not None:
            return seed_of(self.student, self.course or "")
        return self.seed or 0


class ValueToCompute(ResponseModel):
    """One value the student computes: its path in /check's claimed, and its shape."""

    path: str = Field(description="Its path in /check's claimed, e.g. gradients[0].weights.")
    step: Stage = Field(description="The step of the computation it belongs to, as /check's.")
    shape: list[int] = Field(description="Its shape: [] for the loss, [rows, columns] for W.")


class ExplainLink(ResponseModel):
    """The /explain request of an exercise's worked solution: post it as it is."""

    network: NetworkOut
    inputs: SampleOrBatch
    targets: SampleOrBatch
    loss: LossName
    optimizer: SGDOptimizer
    optimizer_state: OptimizerState | None
    format: ExplainFormat = Field(description="markdown; text and json work too.")


class ExerciseResponse(ResponseModel):
    """One exercise: the given numbers, what to compute, and (when asked) the answer."""

    template: ExerciseTemplate = Field(description="The template, every field given.")
    seed: int = Field(description="The variant's seed (the student's hash when one was given).")
    network: NetworkOut = Field(description="The network before the step.")
    inputs: SampleOrBatch = Field(description="One sample, or a batch of rows.")
    targets: SampleOrBatch = Field(description="In the form of inputs.")
    loss: LossName
    optimizer: SGDOptimizer = Field(description="The step, as /train takes it.")
    optimizer_state: OptimizerState | None = Field(
        description="With momentum: the previous step's momentum buffer, as /train takes it."
    )
    compute: list[ValueToCompute] = Field(
        description="The values to compute, in the order of the computation."
    )
    answer: Claimed | None = Field(
        description="With include_answer: every value to compute, as /check's claimed (the "
        "numbers of /train's first epoch)."
    )
    explain: ExplainLink | None = Field(
        description="With include_answer: the /explain request of the worked solution."
    )


class ReadyTemplateInfo(ResponseModel):
    """A ready template: its name, what it practises, its fields."""

    name: TemplateName
    title: str
    template: ExerciseTemplate


class ExerciseList(ResponseModel):
    """The ready templates, and the limits of a hand exercise."""

    templates: list[ReadyTemplateInfo]
    limits: dict[str, int] = Field(
        description="max_layers, max_units (per layer), max_samples, max_decimals."
    )
