"""The reference app's pages through Streamlit's AppTest, on SQLite, calling the real API
(gunicorn). What the platform does around any page is tested in tests/unit/test_session.py."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.core.settings import get_settings
from tests.support.tools import ROOT, free_port

ENTRY = str(ROOT / "app/dashboard/streamlit_app.py")


@pytest.fixture
def app_env(monkeypatch, sales_sqlite_env: dict, api_url: str):
    """Point the in-process dashboard at the seeded SQLite file and the running API."""
    for key, value in {**sales_sqlite_env, "APP_API_URL": api_url}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(user: dict | None = None) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=30)
    at.user = user or {}
    return at.run()


def run_with(monkeypatch, **env: str) -> AppTest:
    """One run with these settings alone: no cached settings, engine or data before or after."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        return run()
    finally:
        get_settings.cache_clear()
        st.cache_data.clear()
        st.cache_resource.clear()


def audited(at: AppTest, select, attempts: int = 50) -> pd.DataFrame:
    """The audit page's rows that `select` picks, once there are any: the events
    are written by the process's backlog thread, a moment after the page run."""
    for _ in range(attempts):
        at.switch_page("pages/audit.py").run()
        events = at.dataframe[0].value
        if len(rows := events[select(events)]):
            return rows
        time.sleep(0.2)
    return rows


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_an_empty_database_shows_a_message_not_an_error(monkeypatch, tmp_path, api_url: str):
    """A fresh deployment migrates but loads no orders: the page says so."""
    from app.core import migrate
    from app.core.db import create_engine_for
    from app.core.settings import load_settings

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = create_engine_for(load_settings({"APP_DATABASE_URL": url}), "test-setup")
    migrate.upgrade(engine)
    engine.dispose()
    at = run_with(monkeypatch, APP_DATABASE_URL=url, APP_API_URL=api_url)
    assert not at.exception
    assert "No orders yet" in at.info[0].value
    assert not at.metric


@pytest.mark.usefixtures("app_env")
def test_overview_shows_kpis_chart_and_table_without_errors():
    at = run()
    assert not at.exception
    assert float(metric(at, "Orders").replace(",", "")) > 0
    assert not at.warning  # the forecast came from the API
    assert at.dataframe[0].value.shape[0] == 10
    assert "anonymous" in at.sidebar.caption[0].value
    # The chart: the fixed Vega-Lite spec over history and forecast rows.
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["encoding"]["x"]["field"] == "month"
    series = pa.ipc.open_stream(chart.proto.data.data).read_all().column("series").to_pylist()
    assert set(series) == {"history", "forecast"}


@pytest.mark.usefixtures("app_env")
def test_the_date_filter_changes_the_numbers():
    at = run()
    before = metric(at, "Revenue")
    start, _ = at.slider(key="dates").value
    at.slider(key="dates").set_value((start, start + dt.timedelta(days=30))).run()
    assert not at.exception
    after = metric(at, "Revenue")
    assert after != before
    assert float(after.replace(",", "")) < float(before.replace(",", ""))


@pytest.mark.usefixtures("app_env")
def test_the_region_filter_changes_the_numbers():
    at = run()
    before = metric(at, "Orders")
    at.multiselect(key="regions").set_value(["Central"]).run()
    assert metric(at, "Orders") != before


@pytest.mark.usefixtures("app_env")
def test_a_saved_view_appears_in_the_list_and_the_audit():
    name = f"view-{uuid.uuid4().hex[:8]}"
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    at = run({"email": email})
    at.text_input(key="view_name").input(name)
    submit = next(b for b in at.get("button") if b.label == "Save view")
    submit.click().run()
    assert any(name in s.value for s in at.success), [s.value for s in at.success]

    at.switch_page("pages/saved_views.py").run()
    assert name in at.dataframe[0].value["name"].tolist()
    at.switch_page("pages/audit.py").run()
    events = at.dataframe[0].value
    saved = events[(events["action"] == "view_saved") & (events["detail"] == name)]
    assert saved["user"].tolist() == [email]


@pytest.mark.usefixtures("app_env")
def test_a_duplicate_view_name_is_refused_with_a_message():
    name = f"dup-{uuid.uuid4().hex[:8]}"
    at = run()
    for _ in range(2):
        at.text_input(key="view_name").input(name)
        next(b for b in at.get("button") if b.label == "Save view").click().run()
    assert any("exists already" in e.value for e in at.error)


@pytest.mark.usefixtures("app_env")
def test_the_signed_in_user_is_shown_and_their_sign_in_on_the_audit_page():
    email = f"{uuid.uuid4().hex[:8]}@example.com"  # the database is shared by the session
    at = run({"email": email, "name": "Ann"})
    assert at.sidebar.caption[0].value == f"Signed in as {email} (Ann)"
    mine = audited(at, lambda e: (e["user"] == email) & (e["action"] == "sign_in_seen"))
    assert len(mine) == 1


@pytest.mark.usefixtures("app_env")
def test_a_failing_api_shows_a_message_not_a_trace_nor_its_address(monkeypatch, caplog):
    from app.dashboard import data

    port = free_port()
    monkeypatch.setenv("APP_API_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    data.forecast.clear()
    at = run()
    assert not at.exception
    assert at.warning[0].value == (
        "Forecast unavailable: the API cannot be reached. Showing history from the database only."
    )
    assert float(metric(at, "Orders").replace(",", "")) > 0  # the rest of the page still works
    assert str(port) not in json.dumps([e.value for e in [*at.warning, *at.error, *at.info]])
    assert f"127.0.0.1:{port}" in caplog.text  # the address is logged for the operator
    data.forecast.clear()


@pytest.mark.usefixtures("app_env")
def test_an_export_is_audited():
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    at = run({"email": email})
    at.download_button[0].click().run()
    exports = audited(at, lambda e: (e["user"] == email) & (e["action"] == "export"))
    assert len(exports) == 1
    assert exports["detail"].iloc[0].startswith("top products")


BAD_NAMES = {
    "NUL": "a\x00b",
    "escape sequence": "red\x1b[31m",
    "tab": "a\tb",
    "DEL": "a\x7fb",
    "C1 control": "a\x85b",
    "right-to-left override": "invoice\u202egpj.exe",
    "bidi isolate": "a\u2066b\u2069",
    "line separator": "a\u2028b",
}


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize("kind", list(BAD_NAMES))
def test_a_view_name_with_control_or_bidi_characters_is_refused(kind: str, bad_input_report):
    """Names reach the database and every other user's screen: no control characters
    (a NUL used to reach psycopg2 as a ValueError), no bidi overrides that reorder
    what others read."""
    from app.core.models import SavedView
    from app.dashboard import session

    name = f"{uuid.uuid4().hex[:6]}{BAD_NAMES[kind]}"
    at = run()
    at.text_input(key="view_name").input(name)
    next(b for b in at.get("button") if b.label == "Save view").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Not saved: a view name cannot hold control or text-direction characters."
    ]
    with session.engine().connect() as conn:
        stored = conn.execute(sa.select(SavedView.name).where(SavedView.name == name)).all()
    bad_input_report.record(
        f"view name holding: {kind}",
        "dashboard (reference app)",
        ["stored" if stored else "refused, with a message"],
    )
    assert stored == []


@pytest.fixture
def own_copy(monkeypatch, sales_sqlite_env: dict, api_url: str, tmp_path):
    """A copy of the seeded SQLite file for a test that changes it, and the running API."""
    import shutil

    source = sales_sqlite_env["APP_DATABASE_URL"].removeprefix("sqlite:///")
    copy = tmp_path / "app.db"
    shutil.copy(source, copy)
    url = f"sqlite:///{copy}"
    for key, value in {"APP_DATABASE_URL": url, "APP_API_URL": api_url}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()
    yield url
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()


def _add_views(url: str, count: int) -> None:
    from app.core.models import SavedView

    engine = sa.create_engine(url)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {"name": f"v{i:06d}", "owner": "seed@example.com", "filters": {}, "created_at":
         now + dt.timedelta(seconds=i)}
        for i in range(count)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.delete(SavedView))  # other tests' views: only these
        conn.execute(sa.insert(SavedView), rows)
    engine.dispose()


def test_saved_views_are_shown_a_page_at_a_time_with_their_count(own_copy: str):
    """Every list the dashboard shows is bounded: the newest views a page at a time,
    and how many there are in all."""
    _add_views(own_copy, 120)
    at = run()
    at.switch_page("pages/saved_views.py").run()
    assert not at.exception
    first = at.dataframe[0].value
    assert first["name"].tolist()[:2] == ["v000119", "v000118"]  # newest first
    assert len(first) == 50
    assert "120 saved views" in at.caption[0].value
    at.number_input(key="views_page").set_value(3).run()
    assert at.dataframe[0].value["name"].tolist() == [f"v{i:06d}" for i in range(19, -1, -1)]


def test_a_write_the_database_refuses_for_lack_of_space_is_a_message(own_copy: str, monkeypatch):
    """SQLITE_FULL (the file held at its page count, as on a full disk): the form says
    the write was refused for lack of space, not that the database is not answering."""
    from app.core import db

    def full(dbapi_connection, record) -> None:
        original(dbapi_connection, record)
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    original = db._sqlite_pragmas
    monkeypatch.setattr(db, "_sqlite_pragmas", full)
    at = run()
    for i in range(200):  # views until the file's last page is full
        at.text_input(key="view_name").input(f"{'full' * 15}-{i}")
        next(b for b in at.get("button") if b.label == "Save view").click().run()
        if not at.success:
            break
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Not saved: the database refused the write: out of space."
    ]


def test_any_other_database_error_in_a_write_is_a_message(app_env, monkeypatch):
    from app.core import queries

    def refused(*_args, **_kwargs):
        raise sa.exc.DatabaseError("INSERT INTO saved_views ...", {}, Exception("refused"))

    monkeypatch.setattr(queries, "save_view", refused)
    at = run()
    at.text_input(key="view_name").input("refused")
    next(b for b in at.get("button") if b.label == "Save view").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Not saved: the database refused the write."]
