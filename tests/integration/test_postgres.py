"""The platform's core and the API against a real PostgreSQL server started for this session."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.api.wsgi import create_app
from app.core import audit, migrate
from app.core.db import create_engine_for
from app.core.settings import load_settings
from tests.support.postgres import PostgresServer
from tests.support.tools import ROOT


@pytest.fixture
def engine(pg_env: dict):
    engine = create_engine_for(load_settings(pg_env), "integration")
    yield engine
    engine.dispose()


def test_audit_events_are_stored_newest_first(engine):
    audit.record(engine, "ann@example.com", "export", "first")
    audit.record(engine, "bob@example.com", "export", "second " + "x" * 600)
    first, second = audit.recent(engine, limit=2)
    assert (first["user"], first["action"]) == ("bob@example.com", "export")
    assert len(first["detail"]) == audit.DETAIL_CHARS  # cut, not refused
    assert (second["user"], second["detail"]) == ("ann@example.com", "first")


def test_migrations_match_the_models_and_go_down_and_up(postgres: PostgresServer):
    engine = create_engine_for(
        load_settings({"APP_DATABASE_URL": postgres.create_database("migrations")}), "test"
    )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), migrate.metadata()) == []
    migrate.downgrade(engine, "base")
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    migrate.upgrade(engine)
    assert "audit_events" in sa.inspect(engine).get_table_names()
    engine.dispose()


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
