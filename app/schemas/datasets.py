"""Requests and responses of /datasets, one request model per set, built from the engine's registry.

Each set's model holds the common fields (``samples``, ``noise``, ``seed``, ``test_fraction``, and
``encoding`` for classification) and the set's own parameters with their defaults and ranges, as
:data:`app.nn.datasets.DATASETS` states them; ``name`` tells the models apart.
"""

import functools
import operator
from typing import Annotated, Any, Literal, Self, cast

from pydantic import (
    AfterValidator,
    Field,
    PlainValidator,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import InitErrorDetails

from app.config import get_settings
from app.nn.datasets import DATASETS, DataSet, Param, Task
from app.schemas.base import (
    Count,
    FiniteFloat,
    Matrix,
    ResponseModel,
    StrictModel,
    issue,
    over_limit,
    raise_if,
    response_size_issues,
)

Encoding = Literal["one_hot", "binary"]


class DatasetRequest(StrictModel):
    """The fields every set takes; each set's model adds its name and its own parameters."""

    name: str
    samples: int
    noise: float
    seed: Count = Field(0, ge=0, description="Seed of NumPy's default_rng: same seed, same data.")
    test_fraction: FiniteFloat = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="Share of the samples held out as test_inputs and test_targets (rounded to "
        "the nearest count; both parts must keep at least one sample); 0: no split.",
    )

    @property
    def dataset(self) -> DataSet:
        """The engine's entry for this set."""
        return DATASETS[self.name]

    @property
    def params(self) -> dict[str, Any]:
        """The set's own parameters, by name."""
        return {name: getattr(self, name) for name in self.dataset.params}

    @property
    def class_count(self) -> int | None:
        """How many classes the data has (None for a regression set)."""
        return self.dataset.class_count(self.params)

    @property
    def binary(self) -> bool:
        """Whether class labels come as one 0/1 column (else one-hot rows)."""
        return getattr(self, "encoding", None) == "binary"

    @property
    def test_samples(self) -> int:
        """How many samples are held out."""
        return round(self.samples * self.test_fraction)

    def _issues(self) -> list[InitErrorDetails]:
        limit = get_settings().max_samples
        if self.samples > limit.value:
            return [over_limit(("samples",), "the number of samples", self.samples, limit)]
        classes, issues = self.class_count, []
        if classes is not None and self.samples < classes:
            message = f"{self.name} with these parameters has {classes} classes: samples must be "
            message += f"at least {classes}, so that every class has a sample"
            issues.append(issue("greater_than_equal", ("samples",), message, self.samples))
        if self.test_fraction > 0 and not 0 < self.test_samples < self.samples:
            message = f"{self.test_fraction} of {self.samples} samples holds out "
            message += f"{self.test_samples}: both the training and the test part need a sample"
            issues.append(issue("invalid_combination", ("test_fraction",), message))
        if self.binary and classes != 2:
            message = f"binary encoding is one 0/1 column for two classes; {self.name} has "
            message += f"{classes} here: use one_hot"
            issues.append(issue("invalid_combination", ("encoding",), message, "binary"))
        return issues + response_size_issues(self.samples * self.row_width)

    @property
    def row_width(self) -> int:
        """Numbers per sample in the answer: its inputs and its targets."""
        classes = self.class_count
        targets = 1 if classes is None or self.binary else classes
        return self.dataset.feature_count(self.params) + targets

    @model_validator(mode="after")
    def _check(self) -> Self:
        raise_if(self._issues(), f"{self.name} data set")
        return self


def _field(param: Param) -> tuple[Any, Any]:
    """A parameter as a model field: strict int or finite float within its range."""
    kind = int if isinstance(param.default, int) else FiniteFloat
    return kind, Field(
        param.default, ge=param.minimum, le=param.maximum, description=param.description
    )


def _unsigned_zero(value: float) -> float:
    """``value`` with a zero made +0.0: NumPy's normal() refuses a scale of -0.0 (which ge=0
    lets through, as -0.0 == 0)."""
    return value + 0.0


def _common(dataset: DataSet) -> dict[str, Any]:
    """``samples`` and ``noise`` with the set's defaults and ranges, and ``encoding`` for a
    classification set."""
    where = "the targets" if dataset.task == "regression" else "every input"
    fields: dict[str, Any] = {
        "samples": (
            int,
            Field(
                dataset.samples,
                ge=1,
                le=dataset.max_samples,
                description="How many samples (at most BACKPROP_MAX_SAMPLES).",
            ),
        ),
        "noise": (
            Annotated[FiniteFloat, AfterValidator(_unsigned_zero)],
            Field(
                dataset.noise,
                ge=0.0,
                le=dataset.max_noise,
                description=f"Standard deviation of Gaussian noise added to {where}.",
            ),
        ),
    }
    if dataset.task == "classification":
        description = "one_hot: one column per class (for softmax + cross_entropy); binary: one "
        description += "0/1 column, for two classes (for sigmoid + binary_cross_entropy)."
        fields["encoding"] = (Encoding, Field("one_hot", description=description))
    return fields


def _model(name: str, dataset: DataSet) -> type[DatasetRequest]:
    """The request model of one set."""
    title = "".join(part.title() for part in name.split("_")) + "Dataset"
    fields: dict[str, Any] = {
        "name": (cast(Any, Literal)[name], Field(description="The set.")),
        **_common(dataset),
        **{key: _field(param) for key, param in dataset.params.items()},
    }
    return create_model(title, __base__=DatasetRequest, __doc__=dataset.description, **fields)


REQUEST_MODELS: dict[str, type[DatasetRequest]] = {
    name: _model(name, dataset) for name, dataset in DATASETS.items()
}
"""Each set's request model, by name."""


def _by_name(value: Any) -> DatasetRequest:
    """``value`` validated by the model its ``name`` picks: a union whose errors' ``loc`` is the
    JSON path (a discriminated union would put the tag in it) and names ``name`` when unknown."""
    if not isinstance(value, dict) or "name" not in value:
        if isinstance(value, dict):
            raise ValidationError.from_exception_data(
                "data set", [issue("missing", ("name",), "Field required")]
            )
        return DatasetRequest.model_validate(value)
    model = REQUEST_MODELS.get(value["name"]) if isinstance(value["name"], str) else None
    if model is None:
        names = ", ".join(REQUEST_MODELS)
        message = f"unknown data set: the sets are {names} (GET /datasets lists their parameters)"
        error = issue("literal_error", ("name",), message, value["name"])
        raise ValidationError.from_exception_data("data set", [error])
    return model.model_validate(value)


AnyDatasetRequest = Annotated[
    DatasetRequest,
    PlainValidator(
        _by_name,
        json_schema_input_type=Annotated[
            functools.reduce(operator.or_, REQUEST_MODELS.values()), Field(discriminator="name")
        ],
    ),
]
"""A request of any set, validated by its own model."""


class DatasetResponse(ResponseModel):
    """The data, ready to post as ``inputs`` and ``targets`` to /train (rows, one per sample)."""

    name: str = Field(description="The set.")
    description: str = Field(description="What the set is.")
    task: Task = Field(description="classification or regression.")
    classes: int | None = Field(description="How many classes (null for regression).")
    inputs: Matrix = Field(description="The training inputs, one row per sample.")
    targets: Matrix = Field(
        description="The training targets: one-hot rows, one 0/1 column (binary), or values."
    )
    test_inputs: Matrix | None = Field(description="The held-out inputs (null without a split).")
    test_targets: Matrix | None = Field(description="The held-out targets (null without a split).")


class DatasetInfo(ResponseModel):
    """One set: its task, its classes with the default parameters, and every parameter."""

    name: str
    description: str
    task: Task
    classes: int | None = Field(description="Classes with the default parameters.")
    parameters: dict[str, dict[str, Any]] = Field(
        description="Each field of the request (besides name) as JSON Schema: type, default, "
        "range and description."
    )


class DatasetList(ResponseModel):
    """Every set POST /datasets draws."""

    datasets: list[DatasetInfo]


@functools.cache
def _fields_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of set ``name``'s request fields besides ``name`` (built once: 1 ms)."""
    properties = REQUEST_MODELS[name].model_json_schema()["properties"]
    return {key: value for key, value in properties.items() if key != "name"}


def dataset_infos() -> list[DatasetInfo]:
    """Every set with its request fields as JSON Schema, ``samples`` bounded by the set and by
    BACKPROP_MAX_SAMPLES."""
    limit = get_settings().max_samples.value
    infos = []
    for name, dataset in DATASETS.items():
        fields = _fields_schema(name)
        most = min(limit, dataset.max_samples or limit)
        defaults = {key: param.default for key, param in dataset.params.items()}
        infos.append(
            DatasetInfo(
                name=name,
                description=dataset.description,
                task=dataset.task,
                classes=dataset.class_count(defaults),
                parameters=fields | {"samples": fields["samples"] | {"maximum": most}},
            )
        )
    return infos
