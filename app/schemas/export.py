"""Requests and responses of /export: a /train request, or a network alone, plus a file format.

A /train body with ``format`` (and ``include_data``) is a valid export request, and so is a
network with ``format`` (and a ``loss`` and an ``optimizer``, if wanted) and no data. Every
training setting a /train body takes is reproduced by the generated scripts; a setting added to
/train that the scripts do not reproduce is refused with a 422 naming it (see
:data:`REPRODUCED`), never ignored.
"""

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, PlainValidator, model_validator
from pydantic_core import InitErrorDetails

from app.nn.losses import LossName
from app.schemas.base import (
    Loc,
    ResponseModel,
    StrictModel,
    issue,
    raise_if,
    response_size_issues,
)
from app.schemas.exercises import ExerciseRequest
from app.schemas.export_files import DATA_FILENAME as DATA_FILENAME
from app.schemas.export_files import DATA_KEYS as DATA_KEYS
from app.schemas.export_files import ExportFormat as ExportFormat
from app.schemas.network import Network
from app.schemas.passes import output_activation_issues
from app.schemas.training import OptimizerSpec, TrainRequest

FILENAMES: dict[ExportFormat, str] = {
    "pytorch": "train_torch.py",
    "numpy": "train_numpy.py",
    "json": "state_dict.json",
    "notebook": "train.ipynb",
}

REPRODUCED: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "network",
            "inputs",
            "targets",
            "loss",
            "optimizer",
            "optimizer_state",
            "epochs",
            "batch_size",
            "shuffle",
            "seed",
            "validation",
            "stop",
            "trace",
            "regularization",
            "format",
            "include_data",
        }
    ),
    "stop": frozenset({"loss_below", "validation_loss_below", "patience"}),
}
"""The fields the scripts reproduce, by the path of the model holding them (``""``: the body):
any other field set to a value other than its default is refused."""

FILE_SMALLER = (
    "the exported file holds them (a PyTorch script embeds each epoch's shuffled order): export "
    "fewer epochs or samples, without shuffle, or with include_data false"
)
"""What makes an exported file smaller when the file, not /train's answer, is over the limit."""

FORMAT = Field(
    description="pytorch: a Python script (torch only) building the network as "
    "torch.nn.Sequential in float64 with the same loss and torch.optim optimizer, training it as "
    "/train does when data is given; numpy: the same computation hand-written in NumPy; json: "
    "the network as a PyTorch state_dict (0.weight, 0.bias, 2.weight, ...); notebook: the NumPy "
    "computation as a Jupyter notebook (nbformat 4), a cell per part, with the first step's "
    "values and its worked solution."
)
INCLUDE_DATA = Field(
    True,
    description=f"Embed inputs and targets (and validation) in the script (default), or read "
    f"them from {DATA_FILENAME} next to it (or the file named as its first argument), holding "
    '{"inputs": ..., "targets": ..., "validation": {"inputs": ..., "targets": ...}} as a /train '
    "body does (validation only if the request has it).",
)


def unreproduced(model: BaseModel, path: Loc = ()) -> list[InitErrorDetails]:
    """The fields of ``model`` (at JSON path ``path``) that are set to something other than
    their default and that the scripts do not reproduce, each as an issue naming it."""
    reproduced = REPRODUCED.get(".".join(map(str, path)), frozenset())
    issues = []
    for name in sorted(model.model_fields_set - reproduced):
        value, default = (
            getattr(model, name),
            type(model).model_fields[name].get_default(call_default_factory=True),
        )
        if value != default:
            message = f"export does not reproduce {name}: leave it out to export this request"
            issues.append(issue("not_reproduced", (*path, name), message, value))
    return issues


class TrainExport(TrainRequest):
    """A /train request to export as a script that trains the same way."""

    format: ExportFormat = FORMAT
    include_data: bool = INCLUDE_DATA

    @property
    def batch_count(self) -> int:
        """Updates per epoch."""
        size = self.samples if self.batch_size is None else min(self.batch_size, self.samples)
        return -(-self.samples // size)

    @property
    def embeds_orders(self) -> bool:
        """Whether the script holds each epoch's shuffled order (torch has no NumPy generator)."""
        return self.format == "pytorch" and self.shuffle and self.batch_count > 1

    def file_values(self) -> int:
        """The numbers the file holds: parameters, data, optimizer state, shuffled orders."""
        net = self.network
        values = net.parameters
        if self.format == "json":
            return values
        if self.include_data:
            samples = self.samples + (self.validation.samples if self.validation else 0)
            values += samples * (net.input_size + net.output_size)
        if self.optimizer_state is not None:
            values += len(self.optimizer.buffers) * net.parameters
        if self.embeds_orders:
            values += self.epochs * self.samples
        return values

    def _issues(self) -> list[InitErrorDetails]:
        """/train's issues, each as /train words it (the same limits, by the same code), then the
        settings the scripts do not reproduce, then a file larger than /train's answer would be
        (a PyTorch script's shuffled orders) over the same limit."""
        issues = super()._issues() + unreproduced(self)
        if self.format == "notebook" and not self.include_data:
            message = "a notebook holds its data: leave include_data out (a kernel has no file "
            message += "argument to name a data file with)"
            issues.append(issue("invalid_combination", ("include_data",), message, False))
        if self.stop is not None:
            issues += unreproduced(self.stop, ("stop",))
        if self.file_values() > self.response_values():
            issues += response_size_issues(self.file_values(), FILE_SMALLER)
        return issues


class NetworkExport(StrictModel):
    """A network (with a loss and an optimizer, if given) to export without data or training."""

    network: Network = Field(description="The layers, from input to output.")
    loss: LossName | None = Field(None, description="The loss the script defines, if any.")
    optimizer: OptimizerSpec | None = Field(
        None, description="The optimizer the script builds, if any."
    )
    format: ExportFormat = FORMAT
    include_data: bool = INCLUDE_DATA

    @model_validator(mode="after")
    def _check(self) -> Self:
        issues = response_size_issues(self.network.parameters, "send a smaller network")
        if self.loss is not None:
            issues += output_activation_issues(self.loss, self.network)
        raise_if(issues, "NetworkExport")
        return self


EXERCISE_FILENAME = "exercise.ipynb"
"""The file name of an exercise's notebook."""


class ExerciseExport(StrictModel):
    """An exercise of /exercises to hand out as a Jupyter notebook: the task, a cell per value
    to compute with blanks, and a check() cell grading the values through /check."""

    exercise: ExerciseRequest = Field(
        description="The body POST /exercises takes (a template and a seed, or a student and a "
        "course): the same exercise, drawn again (include_answer is not written into it)."
    )
    format: Literal["notebook"] = Field(
        description="notebook: the exercise as a Jupyter notebook (nbformat 4), as `backprop "
        "exercises` writes one per student."
    )


NETWORK_ONLY = frozenset(NetworkExport.model_fields)


def _by_fields(value: Any) -> TrainExport | NetworkExport | ExerciseExport:
    """A body with an exercise is an exercise's notebook; one with data or any training setting
    is a /train request; else a network alone. Choosing the model first keeps ``loc`` a JSON
    path (a union would prefix its branch)."""
    if isinstance(value, dict) and "exercise" in value:
        return ExerciseExport.model_validate(value)
    if isinstance(value, dict) and set(value) <= NETWORK_ONLY:
        return NetworkExport.model_validate(value)
    return TrainExport.model_validate(value)


ExportRequest = Annotated[
    TrainExport | NetworkExport | ExerciseExport,
    PlainValidator(_by_fields, json_schema_input_type=TrainExport | NetworkExport | ExerciseExport),
]


class ExportResponse(ResponseModel):
    """The generated file: its format, a file name for it and its text."""

    format: ExportFormat
    filename: str = Field(description="A name to save it as (train_torch.py, ...).")
    content: str = Field(description="The file's text: the script, or the state_dict's JSON.")
