"""Headless Chromium (Debian's, driven by Playwright) and what a person does with it.

The ``page`` fixture opens a fresh profile whose User-Agent names the test
run, so a proxy's access log can tell this browser's requests apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

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
    """Open the site, sign in on the test provider's form, wait for the dashboard."""
    page.goto(f"{url}/")
    page.fill('input[placeholder="sub"]', email)  # the provider's login form
    page.press('input[placeholder="sub"]', "Enter")
    page.get_by_text(f"Signed in as {email}").wait_for(timeout=60_000)
    issued = page.context.cookies()
    ISSUED_COOKIES.update(c["value"] for c in issued if c["name"] not in NOT_CREDENTIALS)


def revenue(page):
    """The Revenue figure, by its label: while the first run streams in, the
    first metric on the page need not be Revenue yet."""
    figure = (
        page.locator('[data-testid="stMetric"]')
        .filter(has=page.get_by_text("Revenue", exact=True))
        .locator('[data-testid="stMetricValue"]')
    )
    figure.wait_for(timeout=60_000)
    page.locator('[data-testid="stVegaLiteChart"]').wait_for(timeout=60_000)  # after the KPIs
    return figure


def move_start_date(page, days: int) -> tuple[float, float]:
    """Move the date range's start `days` days later, one key press (one rerun
    request) each; returns Revenue before and after."""
    from playwright.sync_api import expect

    figure = revenue(page)
    before = figure.inner_text()
    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first  # start
    thumb.focus()
    for _ in range(days):
        thumb.press("ArrowRight")
    expect(figure).not_to_have_text(before, timeout=60_000)
    after = figure.inner_text()
    return float(before.replace(",", "")), float(after.replace(",", ""))


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def export_top_products(page) -> str:
    """Click the export button and return the CSV the browser downloaded (made
    on the click, through the edge: the page passes a callable as its data)."""
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Export top products (CSV)").click()
    return download.value.path().read_text()
