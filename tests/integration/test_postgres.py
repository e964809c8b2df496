"""The core and the API against a real PostgreSQL server started for this session."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.api.wsgi import create_app
from app.core import migrate, queries
from app.core.db import create_engine_for
from app.core.models import Base, Order
from app.core.sales import SalesRollup
from app.core.seed import seed
from app.core.settings import load_settings
from tests.support.data import FULL_ROWS, UNIT_ROWS
from tests.support.postgres import PostgresServer
from tests.support.tools import ROOT

YEAR_2025 = queries.Filters(dt.date(2025, 1, 1), dt.date(2025, 12, 31))


@pytest.fixture
def engine(pg_env: dict):
    engine = create_engine_for(load_settings(pg_env), "integration")
    yield engine
    engine.dispose()


def test_the_full_dataset_is_seeded(engine):
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Order)) == FULL_ROWS


def test_migrations_match_the_models_and_go_down_and_up(postgres: PostgresServer):
    engine = create_engine_for(
        load_settings({"APP_DATABASE_URL": postgres.create_database("migrations")}), "test"
    )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    migrate.downgrade(engine, "base")
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    migrate.upgrade(engine)
    assert "orders" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_postgres_and_sqlite_agree_on_the_same_seed(postgres: PostgresServer, sqlite_env: dict):
    """The rollup is portable: same seed, same rollup, same numbers on both engines."""
    pg = create_engine_for(
        load_settings({"APP_DATABASE_URL": postgres.create_database("small")}), "test"
    )
    migrate.upgrade(pg)
    seed(pg, UNIT_ROWS)
    lite = create_engine_for(load_settings(sqlite_env), "test")
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
    stored = [v for v in queries.list_views(engine) if v["name"] == "integration view"]
    assert stored[0]["owner"] == "ann@example.com"
    assert stored[0]["filters"]["start"] == "2025-01-01"

    queries.record_audit(engine, "ann@example.com", "export", "integration")
    latest = queries.list_audit(engine, limit=1)[0]
    assert (latest["user"], latest["action"], latest["detail"]) == (
        "ann@example.com",
        "export",
        "integration",
    )


def test_each_service_is_named_and_bounded_by_a_statement_timeout(postgres, pg_env: dict):
    settings = load_settings({**pg_env, "APP_DB_STATEMENT_TIMEOUT_MS": "1234"})
    engine = create_engine_for(settings, "named-service")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1234ms"
        assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "1234ms"
        idle = conn.exec_driver_sql("SHOW idle_in_transaction_session_timeout").scalar()
        assert idle == "2468ms"
        assert postgres.connections("named-service") == 1
        with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
            conn.exec_driver_sql("SELECT pg_sleep(3)")
    engine.dispose()


@pytest.mark.parametrize(("processes", "code"), [(29, 0), (30, 1)])
def test_connections_check_reads_the_servers_limit(pg_env: dict, processes: int, code: int):
    """The server runs with max_connections=300 and 3 reserved for superusers:
    29 pools of 10 fit in its 297, 30 do not (what `make up` prints)."""
    result = subprocess.run(
        [sys.executable, "-m", "app.core", "connections", "--processes", str(processes)],
        env={**os.environ, **pg_env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == code, result.stdout + result.stderr
    assert f"at most {processes * 10} ({processes} processes x 10" in result.stdout
    assert "of the 297 the server allows" in result.stdout


def test_readyz_follows_the_database_and_its_schema(tmp_path_factory):
    """A server of its own, migrated, stopped and started again under a running API app.

    The answers name only what is missing; the driver's message, with the
    server's address, stays out of them.
    """
    server = PostgresServer(tmp_path_factory.mktemp("readyz"))
    try:
        env = {"APP_DATABASE_URL": server.url(), "APP_DB_CONNECT_TIMEOUT": "2"}
        client = create_app(load_settings(env)).test_client()
        assert client.get("/readyz").json == {"status": "unavailable", "reason": "schema"}
        engine = create_engine_for(load_settings(env), "test-setup")
        migrate.upgrade(engine)
        engine.dispose()
        assert client.get("/readyz").status_code == 200

        server.stop()
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json == {"status": "unavailable", "reason": "database"}
        assert str(server.port) not in down.get_data(as_text=True)
        assert client.get("/healthz").status_code == 200

        server.start()
        assert client.get("/readyz").status_code == 200  # pre-ping replaced the dead connection
    finally:
        server.destroy()
