"""The vendored npm files: each listed in SHA256SUMS with its hash, each package with its licence,
and ReDoc's bundle differing from npm's by the one edit app/web/vendor/README.md describes."""

import hashlib
import re

from app.api.routes import docs

VENDOR = docs.WEB_DIR / "vendor"
REDOC_BUNDLE = VENDOR / docs.REDOC.removeprefix("vendor/") / "bundles/redoc.standalone.js"
LOGO_URL = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _listed() -> dict[str, str]:
    """SHA256SUMS as {path: sha256}."""
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    return {path: digest for digest, path in (line.split("  ", 1) for line in lines)}


def test_every_vendored_file_is_listed_with_its_sha256() -> None:
    on_disk = {
        path.relative_to(VENDOR).as_posix(): _sha256(path.read_bytes())
        for path in VENDOR.rglob("*")
        if path.is_file() and path.name not in {"SHA256SUMS", "README.md"}
    }
    assert on_disk == _listed()


def test_every_served_package_has_its_licence() -> None:
    for package in (docs.SWAGGER_UI, docs.REDOC, "vendor/uplot@1.6.32", "vendor/katex@0.19.1"):
        assert (docs.WEB_DIR / package / "LICENSE").stat().st_size > 0


def test_redocs_bundle_is_npms_but_for_the_logo_url() -> None:
    """Undoing the one edit gives back the file npm serves, whose sha256 the README records."""
    readme = (VENDOR / "README.md").read_text()
    npm_sha256 = re.search(r"npm's file has sha256 `([0-9a-f]{64})`", readme)
    assert npm_sha256 is not None
    served = REDOC_BUNDLE.read_bytes()
    assert LOGO_URL.encode() not in served
    assert served.count(b'src:""') == 1
    assert _sha256(served.replace(b'src:""', f'src:"{LOGO_URL}"'.encode())) == npm_sha256[1]
