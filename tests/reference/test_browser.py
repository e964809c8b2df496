"""A person on the reference app's Overview in headless Chromium, through the whole
edge (nginx, oauth2-proxy, two replicas, the API) on the seeded demo data: sign in,
move the date slider, export."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reference import browser as overview
from tests.support import browser
from tests.support.edge import (
    Edge,
    nginx_binary,
    oauth2_proxy_binary,
    serve_issuer,
    serve_nginx_edge,
)


@pytest.fixture(scope="module")
def edge(sales_sqlite_env: dict, tmp_path_factory) -> Iterator[Edge]:
    nginx, proxy = nginx_binary(), oauth2_proxy_binary()
    with serve_issuer() as issuer:
        tmp = tmp_path_factory.mktemp("reference-edge")
        with serve_nginx_edge(sales_sqlite_env, nginx, proxy, issuer, tmp) as served:
            yield served


def test_sign_in_and_move_the_date_slider(edge: Edge, page):
    browser.sign_in(page, edge.url, "dora@example.com")
    overview.open_overview(page, edge.url)
    before, after = overview.move_start_date(page, 60)  # sixty days later: less revenue
    browser.screenshot(page, "edge-dashboard.png")
    assert after < before
    csv = overview.export_top_products(page).splitlines()
    assert csv[0] == "product,category,units,revenue"
    assert 1 < len(csv) <= 11  # the top ten at most, for the filters now on the page


INJECTED = '<img src=x onerror="window.__injected=1"><script>window.__injected=2</script>'


def test_a_script_in_a_view_name_never_runs(edge: Edge, page):
    """A name is shown to every user: saved with markup and an inline script, it is
    text on the Overview's message and the Saved views table, never code. The page is
    served under a CSP that runs no inline script but Streamlit's own (its WebSocket,
    the chart and the table work under it: no violation reported)."""
    from playwright.sync_api import expect

    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    browser.sign_in(page, edge.url, "mallory@example.com")
    served = page.goto(f"{edge.url}/")
    policy = served.headers["content-security-policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    overview.revenue(page)  # the KPIs and the chart are drawn
    page.get_by_label("View name").fill(INJECTED)
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text(f"Saved view {INJECTED!r}.", exact=True)).to_be_visible(timeout=60_000)
    page.get_by_role("link", name="Saved views").click()
    page.locator('[data-testid="stDataFrame"]').wait_for(timeout=60_000)
    page.wait_for_timeout(1_000)  # what an onerror would have done by now
    assert page.evaluate("() => window.__injected") is None
    assert violations == []
