"""The headers of every HTML answer: the playground at ``/``, Swagger UI, ReDoc and the OAuth2
redirect page.

Each page gets the same Content-Security-Policy, which allows only the app's own origin (no other
host, no ``eval``, no plugin, no ``<base>``, no form posting, no framing by another page), with
``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and ``Cache-Control:
no-cache``. A page that needs more widens a directive by name: an inline script is allowed by the
SHA-256 hash of its text (:func:`inline_script_hashes`), never by ``'unsafe-inline'``.
"""

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Final

POLICY: Final[Mapping[str, str]] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'none'",
    "frame-ancestors": "'none'",
}
"""The policy every HTML answer starts from: the playground's, which needs nothing more."""

_INLINE_SCRIPT: Final = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def csp(widen: Mapping[str, Iterable[str]] | None = None) -> str:
    """The Content-Security-Policy of :data:`POLICY` with ``widen``'s sources added to their
    directives (a directive not in the policy is added)."""
    directives = {name: [value] for name, value in POLICY.items()}
    for name, sources in (widen or {}).items():
        directives.setdefault(name, []).extend(sources)
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def html_headers(widen: Mapping[str, Iterable[str]] | None = None) -> dict[str, str]:
    """The headers of an HTML answer whose policy is :func:`csp` of ``widen``."""
    return {
        "Content-Security-Policy": csp(widen),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def inline_script_hashes(html: str) -> list[str]:
    """The CSP sources (``'sha256-…'``) that allow exactly the inline ``<script>`` elements of
    ``html``, as the browser hashes them: the UTF-8 text between the tags."""
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"
        for text in _INLINE_SCRIPT.findall(html)
    ]
