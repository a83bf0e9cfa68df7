"""Building blocks of every model: strict finite numbers, base classes and error helpers.

Numbers are strict finite float64 (a JSON ``true`` or ``"1.5"`` is not a number); unknown fields are
rejected. Shapes and the configured limits are checked here, once, with errors whose ``loc`` is the
JSON path of the offending value and whose message names the layer and the expected and actual
shapes (or the limit and its environment variable). The engine then trusts what it is given.

However large the body, an invalid one costs little: validation lists at most
:data:`MAX_REPORTED_PROBLEMS` problems of one array or of one list of checks, and counts the rest in
one ``too_many_errors`` entry (:func:`more_problems`) instead of building an entry per problem (a
million wrong numbers would otherwise cost seconds and a gigabyte); a list with one entry per layer
is refused before its entries when it is too long (:func:`at_most`), and a large body's objects are
cut to as many unknown fields as a 422 lists before validation (:func:`drop_unknown_fields`).
"""

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any, Final, TypeVar, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.config import Limit, get_settings

MAX_REPORTED_PROBLEMS: Final = 100
"""The most problems a 422 lists; one last entry of type ``too_many_errors`` counts the rest."""
TOO_MANY_ERRORS: Final = "too_many_errors"
"""The type of the entry that counts the problems past :data:`MAX_REPORTED_PROBLEMS`."""

Loc = tuple[str | int, ...]
T = TypeVar("T")


def more_problems(loc: Loc, more: int) -> InitErrorDetails:
    """The entry that stands for ``more`` problems not listed (its ``ctx.more`` is the count)."""
    message = (
        f"... and {more:,} more {'problem' if more == 1 else 'problems'} (at most "
        f"{MAX_REPORTED_PROBLEMS} are listed)"
    )
    return {
        "type": PydanticCustomError(TOO_MANY_ERRORS, message, {"more": more}),
        "loc": loc,
        "input": None,
    }


def bounded(
    found: Iterable[T], describe: Callable[[T], InitErrorDetails], loc: Loc = ()
) -> list[InitErrorDetails]:
    """The first :data:`MAX_REPORTED_PROBLEMS` of ``found`` described, then one
    :func:`more_problems` entry counting the rest, which are never described (for speed)."""
    rest = iter(found)
    issues = [describe(item) for item in itertools.islice(rest, MAX_REPORTED_PROBLEMS)]
    more = sum(1 for _ in rest)
    return [*issues, more_problems(loc, more)] if more else issues


def _valid_number(value: Any) -> bool:
    """Whether :data:`FiniteFloat` takes ``value``: an int (not a bool) or a finite float."""
    kind = type(value)
    return kind is int or (kind is float and value - value == 0.0)


def _vector_problems(values: list[Any]) -> Iterator[tuple[int, ...]]:
    """Where ``values`` holds something else than a number."""
    return ((i,) for i, value in enumerate(values) if not _valid_number(value))


def _matrix_problems(rows: list[Any]) -> Iterator[tuple[int, ...]]:
    """Where ``rows`` holds something else than a list of numbers (a row, or a number in it)."""
    for i, row in enumerate(rows):
        if type(row) is not list:
            yield (i,)
        else:
            yield from ((i, j) for j, value in enumerate(row) if not _valid_number(value))


FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
MAX_COUNT: Final = 2**53
"""The largest count a request may hold (a step, an epoch, a seed): float64 and JavaScript hold
every integer up to it exactly, and orjson writes it back (it refuses integers past 64 bits)."""
Count = Annotated[int, Field(le=MAX_COUNT)]
_NUMBER: TypeAdapter[float] = TypeAdapter(FiniteFloat)
_ROW: TypeAdapter[list[Any]] = TypeAdapter(Annotated[list[Any], Field(strict=True)])


def _problem_at(values: list[Any], position: tuple[int, ...], depth: int) -> InitErrorDetails:
    """Pydantic's own error for the item at ``position`` of an array of ``depth`` levels (a row
    of a matrix, or a number)."""
    value: Any = values
    for index in position:
        value = value[index]
    try:
        (_NUMBER if len(position) == depth else _ROW).validate_python(value)
    except ValidationError as invalid:
        error = invalid.errors()[0]
        found: InitErrorDetails = {
            "type": error["type"],
            "loc": (*position, *error["loc"]),
            "input": error["input"],
        }
        if "ctx" in error:
            found["ctx"] = error["ctx"]
        return found
    raise ValueError(f"{value!r} was expected to be invalid")


def _bounded_array(
    find: Callable[[list[Any]], Iterator[tuple[int, ...]]], depth: int
) -> Callable[[Any, ValidatorFunctionWrapHandler], Any]:
    """The wrap validator of a fail-fast array (one that stops at its first problem): when the
    array is invalid, its first problems as pydantic words them and a count of the rest (see
    :func:`bounded`), found by a plain scan that builds nothing for a valid item."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            if type(value) is not list or len(value) <= VALIDATED_AT_ONCE:
                return handler(value)
            # A slice at a time: pydantic holds the GIL for a whole call, which would keep the
            # event loop waiting for as long as a long array takes.
            validated: list[Any] = []
            for start in range(0, len(value), VALIDATED_AT_ONCE):
                validated += handler(value[start : start + VALIDATED_AT_ONCE])
            return validated
        except ValidationError:
            if type(value) is not list:
                raise
            issues = bounded(find(value), lambda at: _problem_at(value, at, depth))
            if not issues:  # a problem the scan does not know (none expected): pydantic's own
                raise
            raise ValidationError.from_exception_data("numbers", issues) from None

    return validate


VALIDATED_AT_ONCE: Final = 4_096
"""The most items of an array validated in one call (a millisecond or two)."""
_FAIL_FAST = Field(fail_fast=True)  # FailFast() would do, but is not hashable (Matrix | None)
Vector = Annotated[
    list[FiniteFloat], _FAIL_FAST, WrapValidator(_bounded_array(_vector_problems, 1))
]
Matrix = Annotated[
    list[Annotated[list[FiniteFloat], _FAIL_FAST]],
    _FAIL_FAST,
    WrapValidator(_bounded_array(_matrix_problems, 2)),
]
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

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        return [(name, shortened(value)) for name, value in super().__repr_args__()]


def _request_models(model: type[BaseModel] = BaseModel) -> Iterator[type[BaseModel]]:
    """Every request model (a :class:`StrictModel`) below ``model``."""
    for subclass in model.__subclasses__():
        if issubclass(subclass, StrictModel):
            yield subclass
        yield from _request_models(subclass)


def drop_unknown_fields(content: Any) -> int:
    """Remove, from every object of a parsed body, the fields no request model has past the first
    :data:`MAX_REPORTED_PROBLEMS`, and count them: validation then lists at most that many
    unknown fields per object (pydantic would build an entry for each), and the count stands for
    the rest. Lists longer than the layer limit are not searched: such a list is refused before
    its items are validated (:func:`at_most`), or holds numbers, whose objects have no fields."""
    known = {name for model in _request_models() for name in model.model_fields}
    longest = get_settings().max_layers.value + 1
    dropped = 0
    pending = [content]
    while pending:
        value = pending.pop()
        if type(value) is dict:
            unknown = [name for name in value if name not in known]
            for name in unknown[MAX_REPORTED_PROBLEMS:]:
                del value[name]
            dropped += max(0, len(unknown) - MAX_REPORTED_PROBLEMS)
            pending += value.values()
        elif type(value) is list and len(value) <= longest:
            pending += value
    return dropped


def at_most(limit: Callable[[], Limit], what: str) -> BeforeValidator:
    """A list field refused at once, with its limit's message, when it has more than
    ``limit()`` items: no item of a list too long is validated (a million invalid items would
    cost a million error entries)."""

    def check(value: Any) -> Any:
        if type(value) is list and len(value) > limit().value:
            raise_if([over_limit((), what, len(value), limit())], what)
        return value

    return BeforeValidator(check)


class ResponseModel(BaseModel):
    """Base of every response model (built by the server, so never re-validated)."""

    model_config = ConfigDict(extra="forbid")

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        return [(name, shortened(value)) for name, value in super().__repr_args__()]


SHOWN_NUMBERS: Final = 4
"""The most numbers a model's repr shows of one array field; a larger one shows its shape."""
SHOWN_MODELS: Final = 2
"""The most models a model's repr shows of one list field; a longer one shows its length."""


class Summary(str):
    """Text a repr shows as it is (a field's shape or length, not its values)."""

    def __repr__(self) -> str:
        return str(self)


def shape_of(value: Any) -> tuple[int, ...] | None:
    """The shape of a (nested, rectangular) list of numbers, or None for any other value."""
    if not isinstance(value, list):
        return None
    if all(isinstance(item, int | float) and not isinstance(item, bool) for item in value):
        return (len(value),)
    rows = [shape_of(item) for item in value]
    if rows[0] is None or any(row != rows[0] for row in rows):
        return None
    return (len(value), *rows[0])


def shortened(value: Any) -> Any:
    """A field's value as a model's repr shows it, so that a long answer's repr stays a line or
    two (a 10-epoch /train answer's was 10 kB): an array of more than :data:`SHOWN_NUMBERS`
    numbers as its shape (``<2×3 numbers>``), a list of more than :data:`SHOWN_MODELS` models
    as their count and kind (``<10 EpochTrace>``), any other value as it is."""
    shape = shape_of(value)
    if shape is not None:
        if math.prod(shape) <= SHOWN_NUMBERS:
            return value
        return Summary(f"<{'×'.join(map(str, shape))} numbers>")
    long = isinstance(value, list) and len(value) > SHOWN_MODELS
    if long and all(isinstance(item, BaseModel) for item in value):
        kinds = " | ".join(sorted({type(item).__name__ for item in value}))
        return Summary(f"<{len(value)} {kinds}>")
    return value


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
