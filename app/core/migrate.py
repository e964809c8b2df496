"""Schema migrations with Alembic, run in code on an engine (no alembic.ini to keep in sync).

A new revision: change the tables (app/core/models.py), then
``make migration MESSAGE="add notes"`` (``revision`` here) writes
``migrations/versions/NNNN_add_notes.py`` from the difference between the
tables and the schema the existing revisions build; read it, then commit it.
"""

from __future__ import annotations

import contextlib
import tempfile
from graphlib import TopologicalSorter
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.operations.ops import DropTableOp, MigrationScript
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def metadata() -> sa.MetaData:
    """Every table, the platform's and the app's: what the revisions must build."""
    from app.core import audit, models  # noqa: F401  (their tables join Base.metadata)
    from app.core.db import Base

    return Base.metadata


def portable_drops(
    context: MigrationContext, revision: object, scripts: list[MigrationScript]
) -> None:
    """Autogenerate's last word on a new revision (migrations/env.py), for the tables it
    drops, so that the revision runs on PostgreSQL as on SQLite both ways:

    - each goes before the tables it references, and the downgrade creates them the
      other way round (autogenerate lists them in no such order, which SQLite lets
      pass and PostgreSQL refuses: "other objects depend on it");
    - the downgrade creates their columns with generic types (``sa.DateTime``): the
      revision is computed on a scratch SQLite file, whose own type names
      (``DATETIME``) PostgreSQL does not have.
    """
    for script in scripts:
        for upgrade, downgrade in zip(
            script.upgrade_ops_list, script.downgrade_ops_list, strict=True
        ):
            tables = [op.to_table() for op in upgrade.ops if isinstance(op, DropTableOp)]
            order: TopologicalSorter[str] = TopologicalSorter()
            for table in tables:  # copies: what the downgrade creates
                order.add(table.name)
                for column in table.columns:
                    with contextlib.suppress(NotImplementedError):
                        column.type = column.type.as_generic()
                for key in table.foreign_keys:
                    referenced = key.target_fullname.rsplit(".", 1)[0]
                    if referenced != table.name and referenced in {t.name for t in tables}:
                        order.add(referenced, table.name)  # the referencing one first
            drops = {table.name: DropTableOp.from_table(table) for table in tables}
            others = [op for op in upgrade.ops if not isinstance(op, DropTableOp)]
            upgrade.ops[:] = others + [drops[name] for name in order.static_order()]
            upgrade.reverse_into(downgrade)


def _run(engine: Engine, action, *args: object, **kwargs: object) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, *args, **kwargs)


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    _run(engine, command.downgrade, revision)


def head() -> str:
    """The newest revision this code knows: the schema it needs."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current(engine: Engine) -> str | None:
    """The revision the database is at; None when it was never migrated."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))


def new_revision(message: str) -> Path:
    """Write the next revision (numbered after the head when the head is a number)
    from what the tables add to the schema the revisions build, compared on a
    scratch SQLite file."""
    latest = head()
    number = f"{int(latest) + 1:04d}" if latest and latest.isdigit() else None
    before = set((MIGRATIONS / "versions").glob("*.py"))
    with tempfile.TemporaryDirectory() as scratch:
        engine = sa.create_engine(f"sqlite:///{scratch}/schema.db")
        upgrade(engine)
        _run(engine, command.revision, message=message, autogenerate=True, rev_id=number)
        engine.dispose()
    (written,) = set((MIGRATIONS / "versions").glob("*.py")) - before
    return written
