"""The CLI's request bodies: a JSON file (or ``-`` for stdin), with ``inputs`` and ``targets``
optionally taken from the columns of a CSV file."""

import csv
import io
import json
import math
import sys
from collections.abc import Collection, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Final

import orjson


class InputError(Exception):
    """A request file or CSV file that cannot be read; its message says why, for a person."""


NOT_FINITE: Final = "NaN, Infinity and numbers beyond ±1.8e308 are not valid numbers here"
"""The server's own hint for a number that is not finite (app/api/errors.py says it too)."""


def load_request(file: IO[bytes], name: str, written: Collection[str] = ()) -> dict[str, Any]:
    """The JSON object in ``file`` (named ``name`` in messages); the numbers of its ``written``
    fields as written, each a ``Decimal`` of its text, which the client sends as it is (/check
    judges ``claimed`` at the precision written: ``0.470`` at 3 decimals)."""
    raw = file.read()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        at = raw[exc.pos : exc.pos + 9].lstrip(b"-")
        hint = "infinity" in exc.msg or at.startswith((b"NaN", b"Infinity"))
        raise InputError(
            f"{name} is not JSON: {exc}" + (f"; {NOT_FINITE}" if hint else "")
        ) from None
    if not isinstance(body, dict):
        raise InputError(f"{name} holds a JSON {type(body).__name__}, not an object")
    if any(field in body for field in written):
        texts = json.loads(raw, parse_float=Decimal)  # orjson read it: it is JSON
        body |= {field: texts[field] for field in written if field in texts}
    return body


def read_request(name: str, written: Collection[str] = ()) -> dict[str, Any]:
    """The JSON object of the request file ``name``, or of stdin for ``-`` (the numbers of its
    ``written`` fields as written: :func:`load_request`); a file that cannot be read is an
    :class:`InputError`."""
    if name == "-":
        return load_request(sys.stdin.buffer, "<stdin>", written)
    try:
        with open(name, "rb") as file:
            return load_request(file, name, written)
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror})") from None


def ensure_directory(path: Path, option: str) -> None:
    """Fail before any work when the directory that ``option`` writes ``path`` into does not
    exist."""
    if not path.parent.is_dir():
        raise InputError(f"{option} {path}: there is no directory {path.parent}")


def _number(text: str | None, path: Path, row: int, column: str) -> float:
    if text is None:
        raise InputError(f"{path}:{row}: the row has no cell for column {column!r}")
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{path}:{row}: column {column!r} holds {text!r}, not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{path}:{row}: column {column!r} holds {text!r}, not a finite number")
    return value


def _text(path: Path) -> str:
    """The file's text, read as UTF-8; a byte that is not UTF-8 is an error naming its line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return raw.decode("utf-8-sig")  # a byte order mark, as spreadsheets write, is no text
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (save the file as UTF-8)") from None


def csv_fields(
    path: Path, target_columns: Sequence[str], input_columns: Sequence[str] = ()
) -> dict[str, list[list[float]]]:
    """``inputs`` and ``targets`` built from a CSV file with a header row: the targets are the
    ``target_columns``; the inputs are the ``input_columns``, or every other column. Spaces
    after commas and a byte order mark are allowed; a row with fewer or more cells than the
    header, or a cell that is no finite number, is an error naming the file and the row."""
    reader = csv.DictReader(io.StringIO(_text(path), newline=""), skipinitialspace=True)
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    unknown = [c for c in [*target_columns, *input_columns] if c not in header]
    if unknown:
        raise InputError(f"{path} has no column {', '.join(map(repr, unknown))} ({header})")
    inputs = list(input_columns) or [c for c in header if c not in target_columns]
    if not inputs:
        raise InputError(f"{path} has no input column besides the target columns")
    rows = []
    for r in reader:
        if None in r:  # DictReader's key for the cells beyond the header's
            extra = len(r[None])
            message = f"{path}:{reader.line_num}: the row has {len(header) + extra} cells"
            raise InputError(f"{message}, the header names {len(header)} columns")
        rows.append(
            (
                [_number(r[c], path, reader.line_num, c) for c in inputs],
                [_number(r[c], path, reader.line_num, c) for c in target_columns],
            )
        )
    if not rows:
        raise InputError(f"{path} has no data rows")
    fields = {"inputs": [x for x, _ in rows]}
    if target_columns:
        fields["targets"] = [t for _, t in rows]
    return fields
