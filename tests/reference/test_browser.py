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
