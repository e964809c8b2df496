"""Headless Chromium (Debian's, driven by Playwright) and what a person does with it.

The ``page`` fixture opens a fresh profile whose User-Agent names the test
run, so a proxy's access log can tell this browser's requests apart.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.ops.stream_client import STATUS_PAGE
from tests.support.edge import ISSUED_COOKIES, NOT_CREDENTIALS
from tests.support.tools import ROOT, require_tool, wait_until

ARTIFACTS = ROOT / "test-artifacts"
# The app's root once nothing is pending: its last script run is over, its socket is up.
SETTLED = (
    '[data-testid="stApp"][data-test-script-state="notRunning"]'
    '[data-test-connection-state="CONNECTED"]'
)
# Chromium on machines without outside network: no background calls, no sandbox as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def launch(profile: Path, args: tuple[str, ...] = (), env: dict[str, str] | None = None):
    """A page of a fresh Chromium profile in `profile`, with more command-line
    `args` and another environment (e.g. a HOME whose NSS database trusts a test CA)."""
    chromium = require_tool("chromium", "apt-get install chromium (Debian) or any Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            args=[*CHROMIUM_ARGS, *args],
            env=env,
            viewport={"width": 1400, "height": 1000},
            user_agent=f"streamlit-template-test/{uuid.uuid4().hex}",
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.fixture
def page(tmp_path) -> Iterator:
    with launch(tmp_path / "profile") as opened:
        yield opened


def sign_in(page, url: str, email: str) -> None:
    """Open the platform's status page, sign in on the test provider's form on the
    way, and wait until the page, back from sign-in, names the user."""
    page.goto(f"{url}/{STATUS_PAGE}")
    page.fill('input[placeholder="sub"]', email)  # the provider's login form
    page.press('input[placeholder="sub"]', "Enter")
    page.get_by_text(f"user: {email}", exact=True).wait_for(timeout=60_000)
    settle(page)
    issued = page.context.cookies()
    ISSUED_COOKIES.update(c["value"] for c in issued if c["name"] not in NOT_CREDENTIALS)


def settle(page) -> None:
    """Wait until the page shows one whole run of its session's script: the run is over
    and the socket connected (not half a run, nor what a lost replica last sent)."""
    page.locator(SETTLED).wait_for(timeout=60_000)


def status_lines(page) -> dict[str, str]:
    """The status page's ``name: value`` lines as the browser shows them now."""
    texts = page.locator('[data-testid="stText"]').all_inner_texts()
    return dict(text.split(": ", 1) for text in texts if ": " in text)


def check_again(page) -> dict[str, str]:
    """Press the status page's button (one rerun over the WebSocket, as any widget
    makes) and return its lines once the run counted itself: one more than before in
    the same session, or 1, the first run of a new session (a browser moved to another
    replica shows the lost one's page until its button runs the page there)."""
    settle(page)
    before = int(status_lines(page)["checks"])
    page.get_by_role("button", name="Check again").click()

    def counted() -> dict[str, str] | None:
        if not page.locator(SETTLED).count():
            return None
        lines = status_lines(page)
        return lines if lines.get("checks") in (str(before + 1), "1") else None

    return wait_until(counted, "the status page's run after 'Check again'", timeout=60)


def reload(page) -> dict[str, str]:
    """Reload the page, as a person does (the document and its WebSocket anew), and
    return the status page's lines once the reloaded page's run is over."""
    page.reload()

    def shown() -> dict[str, str] | None:
        if not page.locator(SETTLED).count():
            return None
        lines = status_lines(page)
        return lines if "replica" in lines else None

    return wait_until(shown, "the status page's run after a reload", timeout=60)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
