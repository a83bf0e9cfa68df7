"""Swagger UI at ``/docs`` and ReDoc at ``/redoc``, every script, style and icon served by the app.

FastAPI's built-in pages load them from CDNs and so stay blank offline; these pages are FastAPI's
own (its self-hosting helpers) pointed at the pinned files in ``app/web`` under ``/static``. They
answer with the headers of every HTML page (:mod:`app.api.html`), their inline start-up scripts
allowed by hash; both also need their ``data:`` icons, and ReDoc the styles it injects at run
time and its ``blob:`` worker.
"""

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.api.html import html_headers, inline_script_hashes

WEB_DIR: Final = Path(__file__).resolve().parents[2] / "web"
STATIC_URL: Final = "/static"
SWAGGER_UI: Final = "vendor/swagger-ui-dist@5.35.0"
REDOC: Final = "vendor/redoc@2.5.4"
FAVICON: Final = "favicon.svg"
OAUTH2_REDIRECT_URL: Final = "/docs/oauth2-redirect"
# Swagger UI's online validator badge would send the schema's URL to validator.swagger.io.
SWAGGER_UI_PARAMETERS: Final = {"validatorUrl": None}
SWAGGER_UI_POLICY: Final = {"img-src": ["data:"]}
"""What Swagger UI needs beyond the common policy and its start-up script's hash: its stylesheet
draws icons as ``data:`` SVG images."""
REDOC_POLICY: Final = SWAGGER_UI_POLICY | {
    "style-src": ["'unsafe-inline'"],
    "worker-src": ["blob:"],
}
"""What ReDoc needs beyond the common policy: ``data:`` icons too; styled-components writes
``<style>`` elements with generated rules (no hash can name them), and the search index runs in
a worker from a blob."""


def _prefix(request: Request) -> str:
    """The path the app is mounted under (behind a proxy's prefix), as FastAPI's own pages use."""
    root_path: str = request.scope.get("root_path", "")
    return root_path.rstrip("/")


def _secured(page: HTMLResponse, widen: Mapping[str, Iterable[str]] | None = None) -> HTMLResponse:
    """``page`` with the headers of every HTML answer, its inline scripts allowed by hash."""
    scripts = inline_script_hashes(bytes(page.body).decode())
    page.headers.update(html_headers({"script-src": scripts} | dict(widen or {})))
    return page


def add_docs(app: FastAPI) -> None:
    """Serve ``/docs``, its OAuth2 redirect page, ``/redoc`` and ``/static`` from ``app``.

    The app must be built with ``docs_url=None`` and ``redoc_url=None`` and keep its schema.
    """
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("the docs pages need the app's OpenAPI schema, but openapi_url is None")
    app.mount(STATIC_URL, StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        """Swagger UI with "Try it out" on every operation."""
        static = _prefix(request) + STATIC_URL
        page = get_swagger_ui_html(
            openapi_url=_prefix(request) + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{static}/{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{static}/{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"{static}/{FAVICON}",
            oauth2_redirect_url=_prefix(request) + OAUTH2_REDIRECT_URL,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS | (app.swagger_ui_parameters or {}),
        )
        return _secured(page, SWAGGER_UI_POLICY)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        """The page an OAuth2 provider sends the browser back to (inline script, no assets)."""
        return _secured(get_swagger_ui_oauth2_redirect_html())

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        """ReDoc, with the system's fonts instead of Google Fonts."""
        static = _prefix(request) + STATIC_URL
        page = get_redoc_html(
            openapi_url=_prefix(request) + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{static}/{REDOC}/bundles/redoc.standalone.js",
            redoc_favicon_url=f"{static}/{FAVICON}",
            with_google_fonts=False,
        )
        return _secured(page, REDOC_POLICY)
