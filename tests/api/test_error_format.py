"""The error formatter itself: whatever pydantic reports, the 422 body is safe, short JSON."""

import json

import pytest
from fastapi.testclient import TestClient

from app.api.errors import clean_errors


@pytest.mark.parametrize(
    ("value", "written"),
    [(float("nan"), "NaN"), (float("inf"), "Infinity"), (float("-inf"), "-Infinity")],
)
def test_non_finite_inputs_are_written_as_strings(value: float, written: str) -> None:
    """A non-finite input (FastAPI's default handler would crash with a 500) becomes a string."""
    errors = [{"type": "finite_number", "loc": ("body", "inputs", 0), "msg": "m", "input": value}]
    cleaned = clean_errors(errors)
    assert cleaned == [
        {"type": "finite_number", "loc": ["body", "inputs", 0], "msg": "m", "input": written}
    ]
    json.dumps(cleaned, allow_nan=False)


def test_context_is_made_json_safe() -> None:
    """Exception objects and non-finite numbers in ctx are serializable."""
    errors = [
        {
            "type": "value_error",
            "loc": ("body",),
            "msg": "m",
            "ctx": {"error": ValueError("x"), "limit": float("inf")},
        }
    ]
    cleaned = clean_errors(errors)
    assert cleaned[0]["ctx"] == {"error": "x", "limit": "Infinity"}
    json.dumps(cleaned, allow_nan=False)


def test_nested_or_long_inputs_are_not_echoed() -> None:
    """Only scalars and short flat lists are echoed back."""
    errors = [
        {"type": "t", "loc": ("body", "a"), "msg": "m", "input": [1.0] * 17},
        {"type": "t", "loc": ("body", "b"), "msg": "m", "input": [[1.0]]},
        {"type": "t", "loc": ("body", "c"), "msg": "m", "input": {"k": 1}},
        {"type": "t", "loc": ("body", "d"), "msg": "m", "input": [1.0] * 16},
    ]
    assert ["input" in error for error in clean_errors(errors)] == [False, False, False, True]


def test_openapi_documents_every_error_shape(client: TestClient) -> None:
    """Each POST endpoint documents its 200, 413 and 422 bodies."""
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/forward", "/loss", "/backward", "/train"):
        responses = paths[path]["post"]["responses"]
        assert {"200", "413", "422"} <= set(responses), path
        assert responses["413"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorMessage"
        }
