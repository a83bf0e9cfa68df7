"""The CLI's request bodies: a JSON file (or ``-`` for stdin), with ``inputs`` and ``targets``
optionally taken from the columns of a CSV file."""

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import orjson


class InputError(Exception):
    """A request file or CSV file that cannot be read; its message says why, for a person."""


def load_request(file: IO[bytes], name: str) -> dict[str, Any]:
    """The JSON object in ``file`` (named ``name`` in messages)."""
    try:
        body = orjson.loads(file.read())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{name} is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InputError(f"{name} holds a JSON {type(body).__name__}, not an object")
    return body


def _number(text: str, path: Path, row: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{path}:{row}: column {column!r} holds {text!r}, not a number") from None


def csv_fields(
    path: Path, target_columns: Sequence[str], input_columns: Sequence[str] = ()
) -> dict[str, list[list[float]]]:
    """``inputs`` and ``targets`` built from a CSV file with a header row: the targets are the
    ``target_columns``; the inputs are the ``input_columns``, or every other column."""
    with path.open(newline="") as file:
        reader = csv.DictReader(file)
        header = list(reader.fieldnames or [])
        unknown = [c for c in [*target_columns, *input_columns] if c not in header]
        if unknown:
            raise InputError(f"{path} has no column {', '.join(map(repr, unknown))} ({header})")
        inputs = list(input_columns) or [c for c in header if c not in target_columns]
        if not inputs:
            raise InputError(f"{path} has no input column besides the target columns")
        rows = [
            (
                [_number(r[c], path, n, c) for c in inputs],
                [_number(r[c], path, n, c) for c in target_columns],
            )
            for n, r in enumerate(reader, start=2)
        ]
    if not rows:
        raise InputError(f"{path} has no data rows")
    fields = {"inputs": [x for x, _ in rows]}
    if target_columns:
        fields["targets"] = [t for _, t in rows]
    return fields
