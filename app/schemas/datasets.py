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
from app.nn.datasets import DATASETS, FEATURES, DataSet, FeatureName, Param, Task
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
MAX_GRID_STEPS = 1000
"""The most grid values per input (a million points for two inputs, within the answer's limit)."""


class Grid(StrictModel):
    """A grid of points over the inputs, to draw a decision map with the same features as the
    data: ``steps`` values from ``low`` to ``high`` per input."""

    low: FiniteFloat = Field(description="The first value of each input.")
    high: FiniteFloat = Field(description="The last value of each input, above low.")
    steps: Count = Field(ge=2, le=MAX_GRID_STEPS, description="Values per input, ≥ 2.")

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        if not self.low < self.high:
            message = f"high must be above low (got low {self.low}, high {self.high})"
            raise_if([issue("invalid_combination", ("high",), message, self.high)], "Grid")
        return self


FEATURES_DESCRIPTION = (
    "TensorFlow Playground's input features, in the order given, instead of the raw inputs "
    "(a set with one or two inputs; not to be confused with blobs' and linear's features, their "
    "number of inputs): "
    + ", ".join(f"{name} = {feature.formula}" for name, feature in FEATURES.items())
    + ". Applied to inputs, test_inputs and grid_inputs alike."
)


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
    input_features: list[FeatureName] | None = Field(
        None, min_length=1, max_length=len(FEATURES), description=FEATURES_DESCRIPTION
    )
    grid: Grid | None = Field(
        None,
        description="Also answer grid_inputs: steps values from low to high per input (for two "
        "inputs every (x1, x2) pair, x1 varying fastest), with the features applied.",
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
        issues += self._feature_issues()
        inputs = self.dataset.feature_count(self.params)
        if self.grid is not None and inputs > 2:
            message = f"a grid is of sets with one or two inputs; {self.name} has {inputs} here"
            issues.append(issue("invalid_combination", ("grid",), message))
        grid = 0 if self.grid is None else self.grid_points * self.input_width
        return issues + response_size_issues(self.samples * self.row_width + grid)

    def _feature_issues(self) -> list[InitErrorDetails]:
        """Each feature once, of an input the set has (a set of one or two inputs)."""
        if self.input_features is None:
            return []
        inputs, issues = self.dataset.feature_count(self.params), []
        for index, name in enumerate(self.input_features):
            loc = ("input_features", index)
            if name in self.input_features[:index]:
                message = f"{name} is listed twice: each feature once"
                issues.append(issue("invalid_combination", loc, message, name))
            elif inputs > 2 or FEATURES[name].columns > inputs:
                message = (
                    f"{name} reads x{FEATURES[name].columns}, but {self.name} has "
                    f"{inputs} input{'s' if inputs > 1 else ''} here: features are of sets with "
                    "one input (x1) or two (x1, x2)"
                )
                issues.append(issue("invalid_combination", loc, message, name))
        return issues

    @property
    def input_width(self) -> int:
        """Numbers per sample in ``inputs``: the features asked for, else the set's inputs."""
        if self.input_features is not None:
            return len(self.input_features)
        return self.dataset.feature_count(self.params)

    @property
    def grid_points(self) -> int:
        """How many points the grid has (0 without one)."""
        if self.grid is None:
            return 0
        points: int = self.grid.steps ** min(2, self.dataset.feature_count(self.params))
        return points

    @property
    def row_width(self) -> int:
        """Numbers per sample in the answer: its inputs and its targets."""
        classes = self.class_count
        targets = 1 if classes is None or self.binary else classes
        return self.input_width + targets

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
    input_features: list[FeatureName] | None = Field(
        None, description="The features the inputs hold, as asked (absent when not asked)."
    )
    grid_inputs: Matrix | None = Field(
        None,
        description="The grid's points with the features applied, one row per point (absent "
        "without grid).",
    )


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
