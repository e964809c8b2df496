"""The platform around any Streamlit app: your entry script hands its pages to ``run``.

    import streamlit as st
    from app.dashboard import session

    st.set_page_config(page_title="My app")
    session.run([st.Page("pages/home.py", title="Home", default=True)])

On every script run, whatever the pages do, ``run``:

- stops with one message naming the bad setting when the configuration is wrong;
- asks oauth2-proxy, at most every ``APP_SESSION_RECHECK_SECONDS``, whether the
  sign-in the session was opened with still holds, and stops a signed-out or
  expired one with a request to sign in again (``APP_SESSION_CHECK_URL``); serves
  nothing more to a tab open longer than ``APP_SESSION_MAX_AGE`` and asks for a
  reload, which goes through sign-in again (how long an open tab outlives
  sign-out: docs/reliability.md);
- tags every log line of the run with the request id of the WebSocket upgrade
  that opened the session, logs "session started" once per session, and counts
  and times the run (``dashboard_script_*``, app/dashboard/observability.py);
- reads the signed-in user from the proxy's trusted headers (``user()``) and
  writes the sign-in to the audit trail once per session, without waiting;
- turns a database that does not answer (``UNAVAILABLE``) into a notice that
  retries the page every ``APP_UNAVAILABLE_RETRY`` seconds, and a write it
  refuses for lack of space into a notice saying so, and any other error of a page
  (a bug, or widget values no browser sends) into a logged notice that resets the
  page's state, never Streamlit's error page;
- adds the platform's status page at ``/{STATUS_PAGE}`` (no menu entry): who is
  signed in, which replica answers, and whether the database and the API do.
  Smoke checks and the platform's tests read it, so they hold for any app.

Pages get the process's shared resources from here: ``engine()`` (the one
pooled engine), ``api_session()`` (kept-alive connections to the API),
``audit()`` (an event by the signed-in user) and ``audit_events()``.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

import requests
import streamlit as st
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.core import audit as audit_trail
from app.core.db import UNAVAILABLE, create_engine_for, describe, out_of_space
from app.core.settings import ConfigError, Settings, get_settings
from app.dashboard import observability
from app.ops.stream_client import STATUS_PAGE

log = logging.getLogger("app.dashboard")
APPLICATION_NAME = "dashboard"
ANONYMOUS = "anonymous"
SIGNED_OUT = "You are signed out, or your sign-in has expired: reload the page to sign in again."
PAGE_FAILED = "This page failed and has been reset; the error is logged. Try again."


@dataclass(frozen=True)
class User:
    """Who the edge signed in (``anonymous`` without sign-in); ``name`` only when the
    identity provider gave one."""

    email: str
    name: str | None

    @property
    def signed_in(self) -> bool:
        return self.email != ANONYMOUS


def user() -> User:
    """The signed-in user, from the headers the proxy sets and Streamlit trusts
    (``server.trustedUserHeaders``): a client's own copies never get this far."""
    return User(st.user.get("email") or ANONYMOUS, st.user.get("name") or None)


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The process's one pooled engine, shared by every session."""
    return create_engine_for(get_settings(), APPLICATION_NAME)


@st.cache_resource(show_spinner=False)
def api_session() -> requests.Session:
    """One HTTP session per process: calls to the API reuse kept-alive connections
    (a bare requests.get builds a session and a connection per call)."""
    return requests.Session()


@st.cache_data(ttl=60, max_entries=4, show_spinner=False)
def audit_events(limit: int = 200) -> list[dict]:
    """The newest audit events (cleared whenever the backlog writes one)."""
    return audit_trail.recent(engine(), limit)


@st.cache_resource(show_spinner=False)
def _audit_backlog() -> audit_trail.AuditBacklog:
    return audit_trail.AuditBacklog(
        engine(), get_settings().unavailable_retry, written=audit_events.clear
    )


def audit(action: str, detail: str = "") -> None:
    """An audit event by the signed-in user, written soon without holding up the page."""
    _audit_backlog().add(user().email, action, detail)


def run(pages: Sequence[st.Page], *, position: str = "sidebar") -> None:
    """Run the page the user picked among `pages`, inside the platform (module docstring)."""
    try:
        settings = get_settings()
    except ConfigError as error:
        st.error(f"The app cannot start: {error}")
        st.stop()
    opened = st.session_state.setdefault("_platform_opened", time.time())
    if time.time() - opened > settings.session_max_age:
        st.warning("This page has been open a long time: reload it to continue.")
        st.stop()
    if not _still_signed_in(settings):
        st.warning(SIGNED_OUT, icon=":material/logout:")
        st.stop()
    status_page = st.Page(
        _status, title="Platform status", url_path=STATUS_PAGE, visibility="hidden"
    )
    st.session_state._platform_retry_armed = False
    page = None
    try:
        with observability.script_run():
            _once_per_session()
            page = st.navigation([*pages, status_page], position=position)
            page.run()
    except UNAVAILABLE as error:
        title = page.title if page else "navigation"
        if out_of_space(error):  # retrying cannot help: someone must free space
            log.error("page %s: database out of space: %s", title, describe(error))
            st.error(
                "The database refused the write: out of space. Nothing was saved; "
                "tell the people who run this app.",
                icon=":material/storage:",
            )
            return
        log.warning("page %s: database unavailable: %s", title, describe(error))
        st.warning(
            f"The database is not answering right now. This page tries again every "
            f"{settings.unavailable_retry:g} s by itself.",
            icon=":material/sync_problem:",
        )
        st.fragment(_retry_later, run_every=settings.unavailable_retry)()
    except Exception:
        # A bug, or a value of the wrong type sent for a widget over the WebSocket
        # (no browser does): the trace goes to the log. The page's own state goes
        # too, so a bad value kept under a widget's key cannot fail every run after.
        log.exception("page %s failed; its state is reset", page.title if page else "navigation")
        for key in [k for k in st.session_state if not str(k).startswith("_platform")]:
            del st.session_state[key]
        st.error(PAGE_FAILED, icon=":material/error:")


def _still_signed_in(settings: Settings) -> bool:
    """Whether oauth2-proxy still accepts the sign-in this session was opened with.

    Asks APP_SESSION_CHECK_URL (its /oauth2/auth) with the cookies of the
    WebSocket upgrade, at most every APP_SESSION_RECHECK_SECONDS; a 401 or 403
    (signed out: the session store no longer has it; expired; no longer
    allowed) is final for the session. No answer is no verdict: the page runs
    and the next run asks again. Without a check URL, always true.
    """
    state = st.session_state
    if settings.session_check_url is None:
        return True
    if state.get("_platform_signed_out"):
        return False
    now = time.monotonic()
    if now - state.get("_platform_checked", -math.inf) < settings.session_recheck_seconds:
        return True
    cookie = "; ".join(f"{name}={value}" for name, value in st.context.cookies.items())
    url = str(settings.session_check_url)
    try:
        answer = api_session().get(
            url, headers={"Cookie": cookie}, timeout=settings.api_timeout, allow_redirects=False
        )
    except requests.RequestException as error:
        log.warning("sign-in check at %s: no answer, the page runs: %s", url, error)
        return True
    if answer.status_code in (401, 403):
        log.info("sign-in check: %s, the session stops", answer.status_code)
        state._platform_signed_out = True
        return False
    if answer.status_code >= 300:
        log.warning("sign-in check at %s: HTTP %s, the page runs", url, answer.status_code)
        return True
    state._platform_checked = now
    return True


def _once_per_session() -> None:
    if st.session_state.get("_platform_started"):
        return
    st.session_state._platform_started = True
    # Logged with the request id of the WebSocket upgrade that opened the session.
    log.info("session started")
    if (signed_in := user()).signed_in:
        _audit_backlog().add(signed_in.email, "sign_in_seen")


def _retry_later() -> None:
    """The whole page again on the fragment's next timed run (the browser's timer runs it)."""
    if st.session_state.get("_platform_retry_armed"):
        st.rerun(scope="app")
    st.session_state._platform_retry_armed = True


def _status() -> None:
    """The platform's status page: one ``name: value`` line each, the same for every app.

    ``checks`` counts its runs in this session: the button reruns it, as any
    widget does, over the session's WebSocket.
    """
    who = user()
    settings = get_settings()
    checks = st.session_state["_platform_checks"] = st.session_state.get("_platform_checks", 0) + 1
    st.title("Platform status")
    st.text(f"user: {who.email}")
    st.text(f"name: {who.name or '-'}")
    st.text(f"replica: {socket.gethostname()} pid {os.getpid()}")
    age = time.time() - st.session_state._platform_opened
    st.text(f"session: {age:.0f} s of {settings.session_max_age} s")
    # Uncached on purpose: each run takes a pooled connection, as a page's query would.
    with engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    st.text(f"database: ok ({engine().dialect.name})")
    st.text(f"api: {api_status()}")
    st.text(f"checks: {checks}")
    st.button("Check again")


def api_status() -> str:
    """``ok`` when the API's /readyz answers 200 within APP_API_TIMEOUT, else why not
    (counted like every call to the API: ``dashboard_api_calls_total``)."""
    settings = get_settings()
    url = f"{str(settings.api_url).rstrip('/')}/readyz"
    with observability.api_call() as call:
        try:
            answer = api_session().get(url, timeout=settings.api_timeout)
        except requests.RequestException as error:
            call["outcome"] = "timeout" if isinstance(error, requests.Timeout) else "unreachable"
            log.warning("API at %s: %s", url, error)
            return f"unavailable ({call['outcome']})"
        call["outcome"] = "ok" if answer.ok else "error_status"
    return "ok" if answer.ok else f"unavailable (HTTP {answer.status_code})"
