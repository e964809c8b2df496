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


def test_the_status_page_works_under_the_content_security_policy(nginx_edge: Edge, page):
    """Streamlit under the edge's CSP in a real browser: the page, its WebSocket (a
    rerun) and no violation reported; an inline script put into the page is blocked."""
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    browser.sign_in(page, nginx_edge.url, "csp@example.com")
    browser.check_again(page)  # a rerun over the WebSocket, under connect-src 'self'
    assert violations == []
    blocked = page.evaluate(
        """() => new Promise(resolve => {
            document.addEventListener("securitypolicyviolation",
                e => resolve(e.violatedDirective), {once: true});
            const script = document.createElement("script");
            script.textContent = "window.__injected = true";
            document.body.appendChild(script);
            setTimeout(() => resolve(window.__injected ? "ran" : "no event"), 5000);
        })"""
    )
    assert blocked.startswith("script-src"), blocked
    assert page.evaluate("() => window.__injected") is None
