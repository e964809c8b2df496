"""The metrics and log lines the live tests (tests/e2e/test_observability.py) cannot
provoke on a healthy edge: a saturated pool, failed script runs and API calls,
database errors; and what the JSON formatter writes and never writes."""

from __future__ import annotations

import json
import logging
import socket
import sys

import pytest
import sqlalchemy as sa
import streamlit as st
from prometheus_client import REGISTRY
from streamlit.testing.v1 import AppTest

from app.api.wsgi import create_app
from app.core import logs
from app.core.db import create_engine_for
from app.core.settings import get_settings
from tests.support import servers
from tests.support.tools import free_port


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- the pool ---------------------------------------------------------------------


def test_the_pool_reports_use_overflow_waits_and_timeouts(settings_for):
    settings = settings_for({"APP_DB_POOL_SIZE": "1", "APP_DB_MAX_OVERFLOW": "1",
                             "APP_DB_POOL_TIMEOUT": "0.2"})  # fmt: skip
    engine = create_engine_for(settings, "test")
    waits, timeouts = sample("db_pool_waits_total"), sample("db_pool_timeouts_total")
    assert (sample("db_pool_size"), sample("db_pool_max_connections")) == (1, 2)
    first = engine.connect()
    assert sample("db_pool_checked_out_connections") == 1
    second = engine.connect()
    assert (sample("db_pool_checked_out_connections"), sample("db_pool_overflow_connections")) == (
        2,
        1,
    )
    with pytest.raises(sa.exc.TimeoutError):
        engine.connect()  # both in use: waits APP_DB_POOL_TIMEOUT, then gives up
    assert sample("db_pool_waits_total") - waits == 1
    assert sample("db_pool_timeouts_total") - timeouts == 1
    second.close()
    first.close()
    assert (sample("db_pool_checked_out_connections"), sample("db_pool_overflow_connections")) == (
        0,
        0,
    )
    engine.dispose()


# --- the API ----------------------------------------------------------------------


def test_database_errors_are_counted_and_readiness_drops(settings_for, tmp_path):
    settings = settings_for({"APP_DATABASE_URL": f"sqlite:///{tmp_path}/no/such/dir/app.db"})
    app = create_app(settings)
    engine = create_engine_for(settings, "test")

    @app.get("/probe/<int:n>")
    def probe(n: int):  # a route of the app's that queries the database
        with engine.connect() as conn:
            return {"n": conn.scalar(sa.text("SELECT :n"), {"n": n})}

    client = app.test_client()
    before = sample("api_errors_total", kind="database")
    assert client.get("/probe/7").status_code == 503
    assert client.get("/readyz").status_code == 503
    assert sample("api_errors_total", kind="database") - before == 1
    assert sample("api_database_ready") == 0
    body = client.get("/metrics").text
    # By the route's template: /probe/7 and /probe/8 would be one label value.
    assert 'api_requests_total{method="GET",route="/probe/<int:n>",status="503"}' in body


# --- the dashboard ----------------------------------------------------------------


def _script_that(outcome: str) -> None:
    import streamlit as st

    from app.dashboard import observability

    with observability.script_run():
        if outcome == "error":
            raise ValueError("boom")
        if outcome == "stopped":
            st.stop()
        st.write("ok")


@pytest.mark.parametrize("outcome", ["success", "error", "stopped"])
def test_script_runs_are_counted_by_outcome(outcome: str):
    before = sample("dashboard_script_runs_total", outcome=outcome)
    durations = sample("dashboard_script_run_duration_seconds_count")
    at = AppTest.from_function(_script_that, args=(outcome,), default_timeout=30).run()
    assert bool(at.exception) == (outcome == "error")
    assert sample("dashboard_script_runs_total", outcome=outcome) - before == 1
    assert sample("dashboard_script_run_duration_seconds_count") - durations == 1


@pytest.fixture
def api(sqlite_env: dict, tmp_path):
    with servers.api(sqlite_env, tmp_path / "api.log") as server:
        yield server


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("outcome", ["ok", "error_status", "timeout", "unreachable"])
def test_api_calls_are_counted_by_outcome(
    monkeypatch, sqlite_env: dict, api, silent_port: int, outcome: str
):
    """The platform's own call to the API (the status page's readiness check)."""
    from app.dashboard import session

    base = {
        "ok": api.url,
        "error_status": f"{api.url}/nowhere",  # a 404
        "timeout": f"http://127.0.0.1:{silent_port}",
        "unreachable": f"http://127.0.0.1:{free_port()}",
    }[outcome]
    for key, value in {**sqlite_env, "APP_API_URL": base, "APP_API_TIMEOUT": "0.5"}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    before = sample("dashboard_api_calls_total", outcome=outcome)
    durations = sample("dashboard_api_call_duration_seconds_count")
    try:
        answer = session.api_status()
    finally:
        get_settings.cache_clear()
        st.cache_resource.clear()
    assert (answer == "ok") == (outcome == "ok"), answer
    assert sample("dashboard_api_calls_total", outcome=outcome) - before == 1
    assert sample("dashboard_api_call_duration_seconds_count") - durations == 1


# --- the log format ---------------------------------------------------------------


def _format(record: logging.LogRecord) -> dict:
    return json.loads(logs.JsonFormatter().format(record))


def test_a_line_has_extra_fields_and_the_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "failed %s", ("x",),
                                   sys.exc_info())  # fmt: skip
    record.port = 9464  # what extra={"port": 9464} does
    entry = _format(record)
    assert entry["message"] == "failed x"
    assert entry["level"] == "error"
    assert entry["port"] == 9464
    assert "RuntimeError: boom" in entry["exception"]
    assert "request_id" not in entry  # none known here


def test_the_request_id_in_context_is_on_every_line():
    token = logs.request_id.set("abc123")
    try:
        entry = _format(logging.makeLogRecord({"name": "app", "msg": "hi", "levelno": 20}))
    finally:
        logs.request_id.reset(token)
    assert entry["request_id"] == "abc123"


def test_gunicorn_access_lines_keep_no_header_but_the_request_id():
    """gunicorn hands the formatter every request header; a cookie must not pass."""
    atoms = {"m": "GET", "U": "/api/v1/forecast", "s": "200", "B": 120, "L": "0.012000",
             "q": "token=query-secret", "{cookie}i": "__Host-session=cookie-secret",
             "{authorization}i": "Bearer header-secret", "{x-request-id}i": "f" * 32}  # fmt: skip
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(m)s", (), None)
    record.args = atoms
    line = logs.JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry == {**entry, "method": "GET", "path": "/api/v1/forecast", "status": 200,
                     "duration_seconds": 0.012, "request_id": "f" * 32}  # fmt: skip
    assert "secret" not in line


def test_a_request_id_is_cut_to_a_printable_bounded_string():
    cleaned = logs.clean_request_id("a\nb" + "c" * 100)
    assert cleaned.startswith("abc")
    assert "\n" not in cleaned
    assert len(cleaned) <= logs.MAX_REQUEST_ID
    assert logs.clean_request_id("") is None
