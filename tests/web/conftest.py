"""A real browser for the page tests: Debian's Chromium, driven by Playwright, offline."""

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.servers import running_server

CHROMIUM = "/usr/bin/chromium"  # Debian's package (`make test` installs it), never a download
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No request of the browser's own (updates, sync, safe browsing) mixes with the page's.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Visit:
    """A page in a fresh browser context, with every URL it requested and every error it logged."""

    page: Page
    origin: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def outside_requests(self) -> list[str]:
        """The requests that left the app's origin (a blob: URL carries its creator's origin)."""
        return [
            url
            for url in self.requests
            if not url.removeprefix("blob:").startswith(f"{self.origin}/")
        ]


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    """A real one-worker server for the module's tests; its origin, e.g. http://127.0.0.1:PORT."""
    with running_server() as (_, url):
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def visit(browser: Browser, origin: str) -> Iterator[Visit]:
    """A fresh page that records its requests, console errors and uncaught exceptions."""
    context = browser.new_context(base_url=origin)
    recorded = Visit(context.new_page(), origin)
    context.on("request", lambda request: recorded.requests.append(request.url))
    recorded.page.on(
        "console",
        lambda message: recorded.errors.append(message.text) if message.type == "error" else None,
    )
    recorded.page.on("pageerror", lambda error: recorded.errors.append(str(error)))
    yield recorded
    context.close()
