"""A person's path through the whole edge, in headless Chromium: sign in, move a slider, export."""

from __future__ import annotations

from tests.support import browser
from tests.support.browser import export_top_products
from tests.support.edge import Edge


def test_sign_in_and_move_the_date_slider(nginx_edge: Edge, page):
    browser.sign_in(page, nginx_edge.url, "dora@example.com")
    before, after = browser.move_start_date(page, 60)  # sixty days later: less revenue
    browser.screenshot(page, "edge-dashboard.png")
    assert after < before
    csv = export_top_products(page).splitlines()
    assert csv[0] == "product,category,units,revenue"
    assert 1 < len(csv) <= 11  # the top ten at most, for the filters now on the page
