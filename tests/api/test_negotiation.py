"""Content negotiation with q-values (RFC 9110 §12.5.1): one helper for /export and /explain."""

import copy

import pytest
from fastapi.testclient import TestClient

from app import examples
from app.api.negotiation import negotiate, preferred

EXPLAIN = ("text/markdown", "text/plain", "application/json")


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "text/markdown"),
        ("", "text/markdown"),
        ("text/plain", "text/plain"),
        ("TEXT/Plain ; Q=1", "text/plain"),
        # q=0 is "not acceptable", even when named first or matched by a wildcard.
        ("text/plain;q=0, application/json", "application/json"),
        ("text/markdown;q=0, */*", "text/plain"),
        ("text/markdown;q=0, text/*", "text/plain"),
        ("*/*;q=0, application/json", "application/json"),
        # The highest weight wins, wherever it is listed.
        ("text/plain;q=0.4, application/json;q=0.8", "application/json"),
        ("*/*;q=0.1, text/plain;q=0.2", "text/plain"),
        ("text/*;q=0.3, application/json;q=0.5, */*;q=0.9", "application/json"),
        # At equal weight: a named type before a wildcard's, then the client's order.
        ("*/*, text/plain", "text/plain"),
        ("application/json, text/plain", "application/json"),
        ("text/html;q=0.9, text/plain", "text/plain"),
        # The most specific range gives a type its weight.
        ("text/*;q=0.9, text/plain;q=0.1", "text/markdown"),
        ("*/*", "text/markdown"),
        ("application/*", "application/json"),
        # Nothing acceptable, or nothing known: the default (no 406).
        ("text/markdown;q=0, text/plain;q=0, application/json;q=0", "text/markdown"),
        ("image/png", "text/markdown"),
        # A malformed range or weight is ignored.
        ("text/plain;q=abc, application/json", "application/json"),
        ("text/plain;q=1.5, application/json;q=0.5", "application/json"),
        ("plain, text/plain", "text/plain"),
    ],
)
def test_preferred(accept: str | None, chosen: str) -> None:
    assert preferred(accept, EXPLAIN) == chosen


@pytest.mark.parametrize(
    ("accept", "answer"),
    [(None, "markdown"), ("application/json", "json"), ("text/*;q=0.5, */*;q=0.1", "markdown")],
)
def test_negotiate_answers_what_the_preferred_type_maps_to(accept: str | None, answer: str) -> None:
    """The one helper of /explain and /export: the endpoint's answer for the preferred type."""
    answers = dict(zip(EXPLAIN, ("markdown", "text", "json"), strict=True))
    assert negotiate(accept, answers) == answer


@pytest.mark.parametrize(
    ("accept", "file"),
    [
        ("text/x-python;q=0, application/json", False),
        ("application/json;q=0, text/x-python", True),
        ("application/json;q=0.5, text/x-python", True),
        ("text/x-python;q=0.5, application/json", False),
        ("application/octet-stream;q=0.9, application/json;q=0.1", True),
        ("text/x-python;q=0", False),
        ("*/*", False),
        ("text/x-python", True),
    ],
)
def test_export_honours_q_values(client: TestClient, accept: str, file: bool) -> None:
    """The file itself, or the JSON answer, as the weights of Accept say."""
    body = copy.deepcopy(examples.TRAIN) | {"format": "pytorch"}
    response = client.post("/export", json=body, headers={"accept": accept})
    assert response.status_code == 200
    media = response.headers["content-type"].split(";")[0]
    assert media == ("text/x-python" if file else "application/json")
    assert ("content-disposition" in response.headers) == file


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("text/markdown;q=0, text/plain", "text/plain"),
        ("text/markdown;q=0.2, application/json;q=0.6, text/plain;q=0.4", "application/json"),
        ("text/markdown;q=0, */*", "text/plain"),
    ],
)
def test_explain_honours_q_values(client: TestClient, accept: str, media: str) -> None:
    response = client.post("/explain", json=examples.LOSS, headers={"accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
