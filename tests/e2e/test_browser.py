"""A person's path through the whole edge, in headless Chromium: sign in, see the app
name them, press a widget (a rerun over the WebSocket through nginx)."""

from __future__ import annotations

from tests.support import browser
from tests.support.edge import NAMED_USER, Edge


def test_sign_in_and_rerun_the_status_page(nginx_edge: Edge, page):
    email, name = NAMED_USER
    browser.sign_in(page, nginx_edge.url, email)
    first = browser.status_lines(page)
    assert (first["user"], first["name"]) == (email, name)
    assert first["database"].startswith("ok"), first
    again = browser.check_again(page)
    assert again["replica"] == first["replica"]  # the same session, on its replica
    browser.screenshot(page, "edge-status.png")
