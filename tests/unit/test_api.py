"""The API through Flask's test client, on a seeded SQLite file."""

import pytest
import sqlalchemy as sa

from app.api.wsgi import create_app
from app.core import migrate
from app.core.db import create_engine_for
from app.core.settings import load_settings
from tests.support.tools import free_port


@pytest.fixture(scope="module")
def client(sqlite_env: dict):
    return create_app(load_settings(sqlite_env)).test_client()


def test_healthz_and_readyz_answer(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}


def test_forecast_history_is_the_database_revenue(client, sqlite_env: dict):
    body = client.get("/api/v1/forecast?months=3&start=2025-01-01&end=2025-12-31").json
    assert len(body["forecast"]) == 3
    assert [row["month"] for row in body["forecast"]] == ["2026-01", "2026-02", "2026-03"]
    engine = create_engine_for(load_settings(sqlite_env), "test")
    with engine.connect() as conn:
        year = conn.scalar(sa.text("SELECT sum(amount) FROM orders WHERE order_date LIKE '2025-%'"))
    assert sum(row["revenue"] for row in body["history"]) == pytest.approx(float(year))


def test_filters_narrow_the_history(client):
    everything = client.get("/api/v1/forecast").json["history"]
    north = client.get("/api/v1/forecast?region=North&category=Garden").json["history"]
    assert sum(r["revenue"] for r in north) < sum(r["revenue"] for r in everything)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("months=0", "months"),
        ("months=25", "months"),
        ("months=six", "months"),
        ("start=yesterday", "start"),
        ("end=2025-13-01", "end"),
        ("start=2025-06-01&end=2025-01-01", "start"),
        ("colour=red", "colour"),
        # Bounded before any query sees them (PostgreSQL refuses a NUL: it was a 500).
        ("region=a%00b", "region"),
        ("category=%0D%0AX-Injected:%201", "category"),
        ("region=" + "x" * 101, "region"),
        ("category=" + "&category=".join("x" * 51), "category"),
        ("start=1969-12-31", "start"),
        ("end=2101-01-01", "end"),
        ("months=6%00", "months"),
        ("months=1&months=2", "months"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, query: str, parameter: str):
    response = client.get(f"/api/v1/forecast?{query}")
    assert response.status_code == 400
    assert response.json["parameter"] == parameter
    assert response.json["error"] == "invalid parameter"
    assert response.json["detail"]


def test_unknown_paths_and_methods_answer_json(client):
    assert client.get("/nowhere").status_code == 404
    assert client.get("/nowhere").json == {"error": "not found"}
    for method in ("post", "put", "delete", "patch", "options"):
        refused = getattr(client, method)("/api/v1/forecast")
        assert refused.status_code == 405, method
        assert refused.json == {"error": "method not allowed"}


def test_a_database_that_refuses_connections_is_a_503_without_its_address(caplog):
    # A real refused connection: nothing listens on this loopback port.
    port = free_port()
    url = f"postgresql://nobody@127.0.0.1:{port}/none"
    settings = load_settings({"APP_DATABASE_URL": url, "APP_DB_CONNECT_TIMEOUT": "2"})
    client = create_app(settings).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json == {"status": "unavailable", "reason": "database"}
    forecast = client.get("/api/v1/forecast")
    assert forecast.status_code == 503
    for answer in (ready, forecast):
        assert "Traceback" not in answer.get_data(as_text=True)
        assert str(port) not in answer.get_data(as_text=True)
    assert f"127.0.0.1:{port}" in caplog.text  # the detail is in the server's log
    assert "Connection refused" in caplog.text
    assert client.get("/healthz").status_code == 200


def test_readiness_needs_the_schema_this_code_migrates_to(tmp_path):
    url = f"sqlite:///{tmp_path / 'unmigrated.db'}"
    client = create_app(load_settings({"APP_DATABASE_URL": url})).test_client()
    assert client.get("/readyz").json == {"status": "unavailable", "reason": "schema"}
    engine = create_engine_for(load_settings({"APP_DATABASE_URL": url}), "test-setup")
    migrate.upgrade(engine, "base")  # the version table exists, no revision in it
    assert client.get("/readyz").json == {"status": "unavailable", "reason": "schema"}
    migrate.upgrade(engine)
    engine.dispose()
    assert client.get("/readyz").json == {"status": "ready"}
