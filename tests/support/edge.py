"""Signing in through the real sign-in flow, as a browser without JavaScript does."""

from __future__ import annotations

import requests

# Every session cookie a sign-in got in this test run (the log test looks for them).
ISSUED_COOKIES: set[str] = set()
NOT_CREDENTIALS = {"route"}  # nginx's replica choice


def sign_in(url: str, email: str) -> requests.Session:
    """Walk the real flow: the edge → oauth2-proxy → the provider's login form → back to /."""
    session = requests.Session()
    form = session.get(f"{url}/", timeout=30)
    assert "<form" in form.text, f"no login form at {form.url}"
    landed = session.post(form.url, data={"sub": email}, timeout=30)
    assert landed.status_code == 200, landed.text[:300]
    ISSUED_COOKIES.update(v for k, v in cookie_jar(session).items() if k not in NOT_CREDENTIALS)
    return session


def cookie_jar(session: requests.Session) -> dict[str, str]:
    """The session's cookies by name (all of them, whatever their Secure flag)."""
    return {cookie.name: cookie.value for cookie in session.cookies}


def cookie_header(session: requests.Session) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookie_jar(session).items())}
