"""The CLI's request bodies: a JSON file (or ``-`` for stdin), with ``inputs`` and ``targets``
optionally taken from the columns of a CSV file."""

import csv
import io
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


def ensure_directory(path: Path, option: str) -> None:
    """Fail before any work when the directory that ``option`` writes ``path`` into does not
    exist."""
    if not path.parent.is_dir():
        raise InputError(f"{option} {path}: there is no directory {path.parent}")


def _number(text: str | None, path: Path, row: int, column: str) -> float:
    if text is None:
        raise InputError(f"{path}:{row}: the row has no cell for column {column!r}")
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{path}:{row}: column {column!r} holds {text!r}, not a number") from None


def _text(path: Path) -> str:
    """The file's text, read as UTF-8; a byte that is not UTF-8 is an error naming its line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (save the file as UTF-8)") from None


def csv_fields(
    path: Path, target_columns: Sequence[str], input_columns: Sequence[str] = ()
) -> dict[str, list[list[float]]]:
    """``inputs`` and ``targets`` built from a CSV file with a header row: the targets are the
    ``target_columns``; the inputs are the ``input_columns``, or every other column. A row with
    fewer cells than the header is an error naming the file and the row."""
    reader = csv.DictReader(io.StringIO(_text(path), newline=""))
    header = list(reader.fieldnames or [])
    unknown = [c for c in [*target_columns, *input_columns] if c not in header]
    if unknown:
        raise InputError(f"{path} has no column {', '.join(map(repr, unknown))} ({header})")
    inputs = list(input_columns) or [c for c in header if c not in target_columns]
    if not inputs:
        raise InputError(f"{path} has no input column besides the target columns")
    rows = [
        (
            [_number(r[c], path, reader.line_num, c) for c in inputs],
            [_number(r[c], path, reader.line_num, c) for c in target_columns],
        )
        for r in reader
    ]
    if not rows:
        raise InputError(f"{path} has no data rows")
    fields = {"inputs": [x for x, _ in rows]}
    if target_columns:
        fields["targets"] = [t for _, t in rows]
    return fields
