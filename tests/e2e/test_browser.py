"""A person's path through the whole edge, in headless Chromium: sign in, move a slider."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Edge
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
def page(tmp_path):
    chromium = require_tool("chromium", "apt-get install chromium (Debian) or any Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_sign_in_and_move_the_date_slider(nginx_edge: Edge, page):
    from playwright.sync_api import expect

    page.goto(f"{nginx_edge.url}/")
    page.fill('input[placeholder="sub"]', "dora@example.com")  # the provider's login form
    page.press('input[placeholder="sub"]', "Enter")

    page.get_by_text("Signed in as dora@example.com").wait_for(timeout=60_000)
    # The Revenue figure by its label: while the first run streams in, the first
    # metric on the page need not be Revenue yet.
    revenue = (
        page.locator('[data-testid="stMetric"]')
        .filter(has=page.get_by_text("Revenue", exact=True))
        .locator('[data-testid="stMetricValue"]')
    )
    revenue.wait_for(timeout=60_000)
    page.locator('[data-testid="stVegaLiteChart"]').wait_for(timeout=60_000)  # after the KPIs
    before = revenue.inner_text()

    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first  # start
    thumb.focus()
    for _ in range(60):  # sixty days later: a shorter range, less revenue
        thumb.press("ArrowRight")
    expect(revenue).not_to_have_text(before, timeout=60_000)
    after = revenue.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "edge-dashboard.png"), full_page=True)
    assert float(after.replace(",", "")) < float(before.replace(",", ""))
