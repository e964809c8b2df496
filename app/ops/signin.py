"""Sign in through the edge from a tool, as a browser without JavaScript does.

    signed_in = sign_in("http://localhost:8080", "dev@example.com")
    headers = cookie_header(signed_in.credentials)

It follows the edge's redirects (nginx, then oauth2-proxy, then the identity
provider's login page), fills the page's login form with the e-mail address,
posts it, and follows the redirects back to the app, keeping every cookie set
on the way. ``make loadtest`` and ``make smoke`` take it as ``--sign-in EMAIL``.

That works with form-based dev providers only: compose's dev login
(oidc-provider-mock, which signs in whoever is typed into its form) and the
tests' edges. A real identity provider (passwords, MFA, consent pages) needs a
browser: sign in there and pass its session cookie (``--header 'Cookie: ...'``
to the load tool, ``--cookie`` to smoke).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import requests

# Input types a login form's identity field may have (the first one gets the e-mail).
IDENTITY_INPUTS = ("text", "email")


class SignInError(Exception):
    """The sign-in flow did not end back at the app signed in; the message says where it stopped."""


@dataclass(frozen=True)
class SignedIn:
    """The cookies a sign-in got. Those first set by the app's own page, when the
    flow landed there (a sticky-replica cookie such as nginx's ``route``), belong to
    one browser, not to the user: `credentials` leaves them out, so tabs that share
    a sign-in still each get their own replica, as many users' browsers do."""

    session: requests.Session  # holds every cookie the flow set
    landing_cookies: frozenset[str]

    @property
    def cookies(self) -> dict[str, str]:
        """Every cookie, by name (whatever its Secure flag: a browser on localhost sends it)."""
        return {cookie.name: cookie.value for cookie in self.session.cookies}

    @property
    def credentials(self) -> dict[str, str]:
        return {k: v for k, v in self.cookies.items() if k not in self.landing_cookies}


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str]  # hidden and preset inputs, sent as they are
    identity: str | None = None  # the first text or e-mail input's name


class _Forms(HTMLParser):
    """The page's forms, each with its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self._open: _Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            method = attributes.get("method", "get").lower()
            self._open = _Form(attributes.get("action", ""), method, {})
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and attributes.get("name"):
            kind = attributes.get("type", "text").lower()
            if kind in IDENTITY_INPUTS and self._open.identity is None:
                self._open.identity = attributes["name"]
            elif kind in ("hidden", *IDENTITY_INPUTS):
                self._open.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def login_form(html: str) -> _Form | None:
    """The first form on the page with a text or e-mail field to type the user into."""
    parser = _Forms()
    parser.feed(html)
    return next((form for form in parser.forms if form.identity), None)


def sign_in(url: str, email: str, timeout: float = 30.0) -> SignedIn:
    """Sign `email` in at the edge at `url` through its provider's login form."""
    url = url.rstrip("/")
    session = requests.Session()
    try:
        page = session.get(f"{url}/", timeout=timeout)
        form = login_form(page.text)
        if form is None:
            asked = "did not ask to sign in" if _same_site(page.url, url) else "has no login form"
            raise SignInError(f"{page.url} (HTTP {page.status_code}) {asked}")
        target = urljoin(page.url, form.action or page.url)
        data = {**form.fields, form.identity: email}
        if form.method == "post":
            landed = session.post(target, data=data, timeout=timeout)
        else:
            landed = session.get(target, params=data, timeout=timeout)
    except requests.RequestException as error:
        raise SignInError(f"signing in at {url}: {error}") from None
    if landed.status_code != 200 or not _same_site(landed.url, url):
        raise SignInError(
            f"signing in {email} at {url} ended at {landed.url} (HTTP {landed.status_code}),"
            " not back at the app"
        )
    before = {
        c.name for response in [*page.history, page, *landed.history] for c in response.cookies
    }
    return SignedIn(session, frozenset(c.name for c in landed.cookies) - before)


def cookie_header(cookies: Mapping[str, str]) -> dict[str, str]:
    """A ``Cookie`` header of these cookies (none when there are none)."""
    if not cookies:
        return {}
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def _same_site(a: str, b: str) -> bool:
    return urlsplit(a).netloc == urlsplit(b).netloc
