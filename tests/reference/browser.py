"""What a person does with the reference app's Overview page in Chromium."""

from __future__ import annotations


def open_overview(page, url: str) -> None:
    page.goto(f"{url}/")


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


def export_top_products(page) -> str:
    """Click the export button and return the CSV the browser downloaded (made
    on the click, through the edge: the page passes a callable as its data)."""
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Export top products (CSV)").click()
    return download.value.path().read_text()
