"""The reference app's API route (the forecast) through Flask's test client, on a seeded
SQLite file. What the platform gives every route is tested in tests/unit/test_api.py."""

import pytest
import sqlalchemy as sa

from app.api.wsgi import create_app
from app.core.db import create_engine_for
from app.core.settings import load_settings


@pytest.fixture(scope="module")
def client(sales_sqlite_env: dict):
    return create_app(load_settings(sales_sqlite_env)).test_client()


def test_forecast_history_is_the_database_revenue(client, sales_sqlite_env: dict):
    body = client.get("/api/v1/forecast?months=3&start=2025-01-01&end=2025-12-31").json
    assert len(body["forecast"]) == 3
    assert [row["month"] for row in body["forecast"]] == ["2026-01", "2026-02", "2026-03"]
    engine = create_engine_for(load_settings(sales_sqlite_env), "test")
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
        ("start=2025-06-01&end=2025-01-01", "end"),
        ("colour=red", "colour"),
        ("region=a%00b", "region"),
        ("category=" + "&category=".join("x" * 51), "category"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, query: str, parameter: str):
    response = client.get(f"/api/v1/forecast?{query}")
    assert response.status_code == 400
    assert response.json["parameter"] == parameter
    assert response.json["error"] == "invalid parameter"
    assert response.json["detail"]
