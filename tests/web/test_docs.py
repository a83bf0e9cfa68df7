"""/docs and /redoc in a real browser: they render the whole schema, "Try it out" answers with the
notebook's numbers, and nothing is loaded from outside the app (the docs work offline)."""

import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.conftest import Visit

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _operations(origin: str) -> list[dict[str, Any]]:
    """Every operation of the served OpenAPI schema, with its path and method."""
    paths = httpx.get(f"{origin}/openapi.json").json()["paths"]
    return [
        operation | {"path": path, "method": method}
        for path, item in paths.items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _assert_offline_and_clean(visit: Visit) -> None:
    assert visit.requests, "the page requested nothing"
    assert visit.outside_requests() == []
    assert visit.errors == []


def test_swagger_ui_shows_every_operation(visit: Visit) -> None:
    """One operation block per path and method of /openapi.json, styled by the served CSS."""
    operations = _operations(visit.origin)
    visit.page.goto("/docs")
    blocks = visit.page.locator(".opblock")
    expect(blocks).to_have_count(len(operations))
    for operation in operations:
        summary = blocks.locator(f'.opblock-summary-path[data-path="{operation["path"]}"]')
        expect(summary.first).to_be_visible()
    assert visit.page.title() == "backprop-api - Swagger UI"
    _assert_offline_and_clean(visit)


def test_try_it_out_returns_the_notebooks_forward_pass(visit: Visit) -> None:
    """The default example of POST /forward is the notebook's network; Execute shows [-0.885]."""
    visit.page.goto("/docs")
    forward = visit.page.locator('.opblock-post:has(.opblock-summary-path[data-path="/forward"])')
    forward.locator(".opblock-summary").click()
    forward.get_by_role("button", name="Try it out").click()
    forward.get_by_role("button", name="Execute").click()
    answer = forward.locator(".live-responses-table .response")
    expect(answer.locator(".response-col_status")).to_have_text("200")
    body = json.loads(answer.locator(".response-col_description pre").first.inner_text())
    assert body["outputs"] == pytest.approx([-0.885], rel=1e-15)
    assert f"{visit.origin}/forward" in visit.requests
    _assert_offline_and_clean(visit)


def test_redoc_lists_every_operation(visit: Visit) -> None:
    """ReDoc's menu has an entry per operation, under its tag, with the system's fonts."""
    expected = {
        f"tag/{operation['tags'][0]}/operation/{operation['operationId']}"
        for operation in _operations(visit.origin)
    }
    visit.page.goto("/redoc")
    entries = visit.page.locator('.menu-content [data-item-id*="/operation/"]')
    expect(entries).to_have_count(len(expected))
    assert set(entries.evaluate_all("items => items.map(i => i.dataset.itemId)")) == expected
    assert visit.page.title() == "backprop-api - ReDoc"
    _assert_offline_and_clean(visit)


@pytest.mark.parametrize("path", ["/", "/docs", "/redoc", "/docs/oauth2-redirect"])
def test_every_html_page_has_the_same_protective_headers(origin: str, path: str) -> None:
    """Every HTML answer carries the page's policy: nothing from another origin, no framing, no
    sniffing, no referrer; inline scripts only by the hash of their text, never 'unsafe-inline'
    (the browser tests above check that both pages still render under it)."""
    answer = httpx.get(f"{origin}{path}")
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    directives = answer.headers["content-security-policy"].split("; ")
    policy = dict(directive.partition(" ")[::2] for directive in directives)
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == policy["connect-src"] == "'self'"
    assert policy["object-src"] == policy["base-uri"] == "'none'"
    scripts = policy["script-src"].split()
    assert scripts[0] == "'self'"
    assert all(source.startswith("'sha256-") for source in scripts[1:])
    assert len(scripts[1:]) == answer.text.count("<script>")
