"""The access log: one JSON line per request on stdout (logger ``backprop.access``).

A line holds ``time``, ``level``, ``request_id``, ``method``, ``route``, ``path``, ``status``,
``duration_ms``, ``epochs`` and ``client``; a request the HTTP protocol refused before it reached
the app also names its ``reason``. Writing a line never breaks a response: failures are logged
and swallowed.
"""

import logging
import sys
from datetime import UTC, datetime
from typing import Any, Final, TextIO

import orjson

access_log: Final = logging.getLogger("backprop.access")
_log = logging.getLogger(__name__)


class _JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, then the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
        }
        fields = getattr(record, "fields", None)
        line |= fields if isinstance(fields, dict) else {"message": record.getMessage()}
        return orjson.dumps(line, default=str).decode()


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to the current ``sys.stdout``, looked up at each line (test capture replaces it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_access_log() -> None:
    """Send ``backprop.access`` lines, as JSON, to stdout only; safe to call any number of times."""
    if not any(isinstance(handler, _StdoutHandler) for handler in access_log.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(_JsonFormatter())
        access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


def write(level: int, message: str, fields: dict[str, Any]) -> None:
    """Write one access-log line with these fields."""
    try:
        access_log.log(level, message, extra={"fields": fields})
    except Exception:
        _log.exception("could not write the access log line of %s", fields.get("request_id"))
