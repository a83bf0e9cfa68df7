"""Building blocks of every model: strict finite numbers, base classes and error helpers.

Numbers are strict finite float64 (a JSON ``true`` or ``"1.5"`` is not a number); unknown fields are
rejected. Shapes and the configured limits are checked here, once, with errors whose ``loc`` is the
JSON path of the offending value and whose message names the layer and the expected and actual
shapes (or the limit and its environment variable). The engine then trusts what it is given.
"""

from typing import Annotated, Any, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.config import Limit, get_settings

FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Vector = list[FiniteFloat]
Matrix = list[list[FiniteFloat]]
Loc = tuple[str | int, ...]
_VECTOR: TypeAdapter[list[float]] = TypeAdapter(Vector)
_MATRIX: TypeAdapter[list[list[float]]] = TypeAdapter(Matrix)


def _sample_or_batch(value: Any) -> list[float] | list[list[float]]:
    """One sample (a list of numbers) or a batch (a list of rows), told apart by the first item.

    Choosing the branch first gives one precise error per bad value instead of a union's noise.
    """
    if isinstance(value, list) and value and isinstance(value[0], list):
        return _MATRIX.validate_python(value)
    return _VECTOR.validate_python(value)


SampleOrBatch = Annotated[
    Vector | Matrix,
    PlainValidator(_sample_or_batch, json_schema_input_type=Vector | Matrix),
]


class StrictModel(BaseModel):
    """Base of every request model: strict types, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ResponseModel(BaseModel):
    """Base of every response model (built by the server, so never re-validated)."""

    model_config = ConfigDict(extra="forbid")


def issue(kind: str, loc: Loc, message: str, value: Any = None) -> InitErrorDetails:
    return {"type": PydanticCustomError(kind, message), "loc": loc, "input": value}


def raise_if(issues: list[InitErrorDetails], title: str) -> None:
    if issues:
        raise ValidationError.from_exception_data(title, issues)


def over_limit(loc: Loc, what: str, actual: int, limit: Limit, hint: str = "") -> InitErrorDetails:
    message = f"{what} is {actual:,}, over the limit of {limit.value:,} (set by {limit.env})"
    return issue("limit_exceeded", loc, message + (f"; {hint}" if hint else ""), actual)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def is_batch(values: list[float] | list[list[float]]) -> bool:
    return bool(values) and isinstance(values[0], list)


def as_rows(values: list[float] | list[list[float]]) -> list[list[float]]:
    """A batch as it is; one sample as a batch of one."""
    return cast(list[list[float]], values) if is_batch(values) else [cast(list[float], values)]


def response_size_issues(values: int, hint: str = "") -> list[InitErrorDetails]:
    """The response would hold ``values`` numbers: over the trace-size limit, that is an issue."""
    limit = get_settings().max_trace_values
    if values <= limit.value:
        return []
    return [over_limit((), "the number of values in the response", values, limit, hint)]
