"""Small helpers shared by the HTTP tests."""

import json
from typing import Any


def strict_json(text: str) -> Any:
    """Parse a response that must hold no NaN or Infinity token (the API never writes one)."""

    def reject(token: str) -> None:
        raise AssertionError(f"non-finite token {token} in response")

    return json.loads(text, parse_constant=reject)
