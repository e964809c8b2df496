"""Headless Chromium (Debian's, driven by Playwright) and what a person does with it.

The ``page`` fixture opens a fresh profile whose User-Agent names the test
run, so a proxy's access log can tell this browser's requests apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from app.ops.stream_client import STATUS_PAGE
from tests.support.edge import ISSUED_COOKIES, NOT_CREDENTIALS
from tests.support.tools import ROOT, require_tool

ARTIFACTS = ROOT / "test-artifacts"
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


@pytest.fixture
def page(tmp_path) -> Iterator:
    chromium = require_tool("chromium", "apt-get install chromium (Debian) or any Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
            user_agent=f"streamlit-template-test/{uuid.uuid4().hex}",
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def sign_in(page, url: str, email: str) -> None:
    """Open the platform's status page, sign in on the test provider's form on the
    way, and wait until the page, back from sign-in, names the user."""
    page.goto(f"{url}/{STATUS_PAGE}")
    page.fill('input[placeholder="sub"]', email)  # the provider's login form
    page.press('input[placeholder="sub"]', "Enter")
    page.get_by_text(f"user: {email}", exact=True).wait_for(timeout=60_000)
    close_page_not_found(page)
    issued = page.context.cookies()
    ISSUED_COOKIES.update(c["value"] for c in issued if c["name"] not in NOT_CREDENTIALS)


def close_page_not_found(page) -> None:
    """Close Streamlit's "Page not found" dialog if it shows. Streamlit 1.67 sends it to
    the first session of a fresh process that opens a page of st.navigation by its
    link (here /_platform; a tab whose replica stopped reconnects to another as a
    new session), then runs that very page: the page is right, the dialog is not,
    and it makes the page inert. Later sessions never see it. It arrives with the
    run's first messages, so it is there by the time the page shows."""
    dialog = page.get_by_text("Page not found", exact=True)
    if dialog.count():
        page.keyboard.press("Escape")
        dialog.wait_for(state="hidden", timeout=10_000)


def status_lines(page) -> dict[str, str]:
    """The status page's ``name: value`` lines as the browser shows them now."""
    texts = page.locator('[data-testid="stText"]').all_inner_texts()
    return dict(text.split(": ", 1) for text in texts if ": " in text)


def check_again(page) -> dict[str, str]:
    """Press the status page's button (one rerun over the WebSocket, as any widget
    makes) and return its lines once the run counted itself."""
    from playwright.sync_api import expect

    close_page_not_found(page)  # a session opened anew, on a fresh replica, may show it
    before = int(status_lines(page)["checks"])
    page.get_by_role("button", name="Check again").click()
    expect(page.get_by_text(f"checks: {before + 1}", exact=True)).to_be_visible(timeout=60_000)
    return status_lines(page)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
