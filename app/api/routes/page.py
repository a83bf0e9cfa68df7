"""The playground at ``/``: one static page, its ES modules and styles served from ``app/web``.

The page calls the same HTTP API as any client. Its Content-Security-Policy is
:data:`app.api.html.POLICY` as it stands: only the app's own origin, no inline script or style,
no ``eval``, no request to another host.
"""

from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.api.html import csp, html_headers
from app.api.routes.docs import WEB_DIR

INDEX: Final[Path] = WEB_DIR / "page" / "index.html"
CSP: Final = csp()
HEADERS: Final = html_headers()

router = APIRouter(include_in_schema=False)


@router.get("/")
async def playground() -> FileResponse:
    """The playground page; its scripts and styles come from ``/static/page``."""
    return FileResponse(INDEX, media_type="text/html; charset=utf-8", headers=HEADERS)
