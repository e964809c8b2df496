"""The reference app's data on a real PostgreSQL server: the full 200k orders, its rollup, views."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.core import audit, queries
from app.core.db import create_engine_for
from app.core.models import Order
from app.core.sales import SalesRollup
from app.core.settings import load_settings
from tests.reference.data import FULL_ROWS, UNIT_ROWS, seeded_env
from tests.support.postgres import PostgresServer

YEAR_2025 = queries.Filters(dt.date(2025, 1, 1), dt.date(2025, 12, 31))


@pytest.fixture
def engine(sales_pg_env: dict):
    engine = create_engine_for(load_settings(sales_pg_env), "integration")
    yield engine
    engine.dispose()


def test_the_full_dataset_is_seeded(engine):
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Order)) == FULL_ROWS


def test_postgres_and_sqlite_agree_on_the_same_seed(
    postgres: PostgresServer, sales_sqlite_env: dict
):
    """The rollup is portable: same seed, same rollup, same numbers on both engines."""
    pg = create_engine_for(
        load_settings(seeded_env(postgres.create_database("small"), UNIT_ROWS)), "test"
    )
    lite = create_engine_for(load_settings(sales_sqlite_env), "test")
    pg_sales, lite_sales = SalesRollup.load(pg), SalesRollup.load(lite)
    assert pg_sales.dimensions == lite_sales.dimensions
    pg_kpis, lite_kpis = pg_sales.kpis(YEAR_2025), lite_sales.kpis(YEAR_2025)
    assert (pg_kpis.orders, pg_kpis.units) == (lite_kpis.orders, lite_kpis.units)
    assert pg_kpis.revenue == pytest.approx(lite_kpis.revenue)
    pg_months, lite_months = (s.monthly_revenue(YEAR_2025) for s in (pg_sales, lite_sales))
    assert [m["month"] for m in pg_months] == [m["month"] for m in lite_months]
    assert [m["revenue"] for m in pg_months] == pytest.approx([m["revenue"] for m in lite_months])
    top = [(p["product"], p["units"]) for p in pg_sales.top_products(YEAR_2025)]
    assert top == [(p["product"], p["units"]) for p in lite_sales.top_products(YEAR_2025)]
    pg.dispose()


def test_the_rollup_sums_the_full_dataset(engine):
    """On the 200k orders: the rollup's totals are PostgreSQL's own sums over `orders`."""
    with engine.connect() as conn:
        count, units, revenue = conn.execute(
            sa.text(
                "SELECT count(*), sum(quantity), sum(amount) FROM orders"
                " WHERE order_date BETWEEN '2025-01-01' AND '2025-12-31'"
            )
        ).one()
        rows = conn.scalar(sa.text("SELECT count(*) FROM daily_sales"))
    sales = SalesRollup.load(engine)
    kpis = sales.kpis(YEAR_2025)
    assert (kpis.orders, kpis.units) == (count, units)
    assert kpis.revenue == pytest.approx(float(revenue))
    assert sum(m["revenue"] for m in sales.monthly_revenue(YEAR_2025)) == pytest.approx(
        float(revenue)
    )
    assert rows < FULL_ROWS / 2  # the point of a rollup: far fewer rows than orders


def test_views_and_audit_events_are_stored(engine):
    queries.save_view(engine, "integration view", "ann@example.com", YEAR_2025)
    with pytest.raises(queries.ViewExistsError):
        queries.save_view(engine, "integration view", "bob@example.com", YEAR_2025)
    # A NUL used to reach psycopg2 (its ValueError, Streamlit's error page): refused before.
    with pytest.raises(queries.ViewNameError):
        queries.save_view(engine, "nul\x00view", "ann@example.com", YEAR_2025)
    stored = [v for v in queries.list_views(engine, 10) if v["name"] == "integration view"]
    assert stored[0]["owner"] == "ann@example.com"
    assert stored[0]["filters"]["start"] == "2025-01-01"
    latest = audit.recent(engine, limit=1)[0]  # the view's own event, in its transaction
    assert (latest["user"], latest["action"], latest["detail"]) == (
        "ann@example.com",
        "view_saved",
        "integration view",
    )
