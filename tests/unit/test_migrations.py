"""The schema the migrations build is exactly the tables, both ways, and `make migration`
writes the next revision from a change to the tables (on SQLite; PostgreSQL in integration)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.core import migrate
from app.core.db import create_engine_for
from app.core.settings import load_settings


def _engine(path: Path):
    return create_engine_for(load_settings({"APP_DATABASE_URL": f"sqlite:///{path}"}), "test")


def test_migrations_build_exactly_the_tables(tmp_path: Path):
    engine = _engine(tmp_path / "app.db")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), migrate.metadata())
    assert diff == []
    assert "audit_events" in sa.inspect(engine).get_table_names()


def test_downgrade_removes_every_table(tmp_path: Path):
    engine = _engine(tmp_path / "app.db")
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}


@pytest.fixture
def scratch_migrations(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the revisions that new_revision writes into, and a table added to the
    models for this test only."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS", copy)
    table = sa.Table(
        "scratch_notes",
        migrate.metadata(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.String(200), nullable=False),
    )
    yield copy
    migrate.metadata().remove(table)


def test_a_new_table_becomes_the_next_revision_that_builds_it(scratch_migrations, tmp_path):
    head = migrate.head()
    written = migrate.new_revision("add scratch notes")
    assert written.name == f"{int(head) + 1:04d}_add_scratch_notes.py"
    text = written.read_text()
    assert 'op.create_table("scratch_notes"' in text.replace("'", '"')
    assert f'down_revision = "{head}"' in text
    engine = _engine(tmp_path / "app.db")
    migrate.upgrade(engine)
    assert "scratch_notes" in sa.inspect(engine).get_table_names()
    migrate.downgrade(engine, head)
    assert "scratch_notes" not in sa.inspect(engine).get_table_names()
