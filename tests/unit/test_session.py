"""What the platform does around any app's pages (app/dashboard/session.py), through
Streamlit's AppTest on a minimal app of the tests' own, on SQLite."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.core import audit, migrate
from app.core.db import create_engine_for
from app.core.settings import get_settings, load_settings
from app.dashboard.session import SIGNED_OUT
from tests.support.tools import ROOT, free_port, wait_until

APP = str(ROOT / "tests/support/apps/minimal.py")


@pytest.fixture
def fresh(monkeypatch):
    """Set APP_* variables for one test: no settings, engine or data cached before or after."""

    def apply(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        st.cache_data.clear()
        st.cache_resource.clear()

    yield apply
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def database(fresh, tmp_path) -> str:
    """A migrated SQLite file of this test's own, in the environment."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = create_engine_for(load_settings({"APP_DATABASE_URL": url}), "test-setup")
    migrate.upgrade(engine)
    engine.dispose()
    fresh(APP_DATABASE_URL=url)
    return url


def run(user: dict | None = None, **state: object) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.user = user or {}
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def test_the_page_runs_with_the_signed_in_user(database: str):
    at = run({"email": "ann@example.com", "name": "Ann"})
    assert not at.exception
    assert texts(at) == ["database says: 1", "page sees: ann@example.com"]


def test_without_sign_in_the_user_is_anonymous(database: str):
    assert "page sees: anonymous" in texts(run())


def test_bad_configuration_stops_with_the_setting_named(fresh):
    fresh(APP_DB_POOL_SIZE="plenty")
    at = run()
    assert not at.exception
    assert "APP_DB_POOL_SIZE" in at.error[0].value
    assert not at.text  # the page never ran


def test_a_session_older_than_its_max_age_serves_nothing_more(database: str):
    """The bound on an open tab after sign-out: past APP_SESSION_MAX_AGE a run asks for
    a reload (which passes sign-in again) and the page does not run."""
    opened = time.time() - get_settings().session_max_age - 1
    at = run({"email": "old@example.com"}, _platform_opened=opened)
    assert not at.exception
    assert "reload it to continue" in at.warning[0].value
    assert not at.text


def test_a_database_that_does_not_answer_is_a_retrying_notice(fresh):
    """Nothing listens at the database's address: a notice that retries, no trace, no address."""
    port = free_port()
    fresh(
        APP_DATABASE_URL=f"postgresql://nobody@127.0.0.1:{port}/none",
        APP_DB_CONNECT_TIMEOUT="2",
    )
    at = run({"email": "ann@example.com"})
    assert not at.exception
    (notice,) = at.warning
    assert notice.value.startswith("The database is not answering right now.")
    assert "tries again every 2 s" in notice.value
    assert str(port) not in notice.value


def test_the_sign_in_is_recorded_once_per_session(database: str):
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    at = run({"email": email})
    at.run()
    engine = sa.create_engine(database)

    def sign_ins() -> list[dict]:
        return [
            e for e in audit.recent(engine) if (e["user"], e["action"]) == (email, "sign_in_seen")
        ]

    # The backlog's thread writes it a moment after the run.
    assert len(wait_until(sign_ins, "the sign-in in the audit trail", timeout=10)) == 1
    engine.dispose()


def test_an_anonymous_session_records_no_sign_in(database: str):
    run().run()
    time.sleep(0.5)  # what the backlog would have written by now
    engine = sa.create_engine(database)
    assert audit.recent(engine) == []
    engine.dispose()


def test_the_audit_backlog_outlasts_an_outage(tmp_path):
    """The only pooled connection is held: the backlog's write times out waiting for it
    (what a database that does not answer looks like to it), is retried, and lands
    once the connection is free; nothing waited on it meanwhile."""
    env = {
        "APP_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "APP_DB_POOL_SIZE": "1",
        "APP_DB_MAX_OVERFLOW": "0",
        "APP_DB_POOL_TIMEOUT": "0.2",
    }
    engine = create_engine_for(load_settings(env), "test")
    migrate.upgrade(engine)
    backlog = audit.AuditBacklog(engine, retry=0.1)
    with engine.connect():  # the pool's one connection, held
        backlog.add("eve@example.com", "sign_in_seen")  # returns: the writer is another thread
        time.sleep(1.0)  # several tries time out meanwhile
        assert audit.recent(sa.create_engine(env["APP_DATABASE_URL"])) == []
    events = wait_until(lambda: audit.recent(engine), "the held event written", timeout=10)
    assert [(e["user"], e["action"]) for e in events] == [("eve@example.com", "sign_in_seen")]
    engine.dispose()


def test_a_write_refused_for_lack_of_space_is_named_so(database: str, monkeypatch):
    """A full disk is not a database that does not answer: the page says the write was
    refused for lack of space, and does not promise to retry. SQLite refuses the write
    as it does on a full disk (SQLITE_FULL), its file held at the pages it has."""
    from app.core import db

    def full(dbapi_connection, record) -> None:
        original(dbapi_connection, record)
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    original = db._sqlite_pragmas
    monkeypatch.setattr(db, "_sqlite_pragmas", full)
    at = run({"email": "ann@example.com"})
    for _ in range(100):  # notes until the file's last page is full
        at.text_input[0].input("n" * 400)
        at.button[0].click().run()
        if not at.success:
            break
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The database refused the write: out of space. Nothing was saved; "
        "tell the people who run this app."
    ]
    assert not at.warning  # not "not answering, retrying"


class FakeAuth:
    """oauth2-proxy's /oauth2/auth on a free port: 202 while `signed_in`, else 401;
    counts the checks and keeps the Cookie header of the last one."""

    def __init__(self) -> None:
        import http.server
        import threading

        fake = self
        self.signed_in, self.checks, self.cookie = True, 0, None

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.checks += 1
                fake.cookie = self.headers.get("Cookie")
                self.send_response(202 if fake.signed_in else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/oauth2/auth"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def auth(database, fresh):
    fake = FakeAuth()
    fresh(
        APP_DATABASE_URL=database, APP_SESSION_CHECK_URL=fake.url, APP_SESSION_RECHECK_SECONDS="0"
    )
    yield fake
    fake.server.shutdown()


def test_a_session_signed_out_at_the_proxy_stops_at_its_next_check(auth: FakeAuth):
    """Signing out (or the sign-in expiring) ends an open tab too: the next run that
    asks oauth2-proxy (at most every APP_SESSION_RECHECK_SECONDS) and is refused shows
    a request to sign in again, and the page does not run, then or later."""
    at = run({"email": "ann@example.com"})
    assert texts(at) == ["database says: 1", "page sees: ann@example.com"]
    assert auth.checks == 1
    auth.signed_in = False
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning] == [SIGNED_OUT]
    assert not at.text
    auth.signed_in = True  # a refused session stays refused: a new sign-in opens a new tab
    at.run()
    assert [w.value for w in at.warning] == [SIGNED_OUT]


def test_the_sign_in_is_checked_at_most_every_recheck_interval(auth: FakeAuth, fresh, database):
    fresh(APP_SESSION_CHECK_URL=auth.url, APP_SESSION_RECHECK_SECONDS="3600")
    at = run({"email": "ann@example.com"})
    for _ in range(3):
        at.run()
    assert auth.checks == 1
    assert texts(at) == ["database says: 1", "page sees: ann@example.com"]


def test_an_unreachable_proxy_does_not_stop_the_page(fresh, database):
    """oauth2-proxy not answering is not a refusal: the page runs, and the next run asks
    again (nginx refuses every new request meanwhile)."""
    fresh(APP_SESSION_CHECK_URL=f"http://127.0.0.1:{free_port()}/oauth2/auth")
    at = run({"email": "ann@example.com"})
    assert not at.warning
    assert texts(at) == ["database says: 1", "page sees: ann@example.com"]
