"""The engine factory: one bounded, pre-pinged pool per process.

Each service calls ``create_engine_for`` once (the dashboard through
``st.cache_resource``, the API per gunicorn worker) and passes its own
``application_name`` so ``pg_stat_activity`` counts connections per service.
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url

from app.core.metrics import MeteredQueuePool
from app.core.settings import Settings


def create_engine_for(settings: Settings, application_name: str) -> Engine:
    """A pooled engine configured from settings, named for its service."""
    url = make_url(settings.sqlalchemy_url)
    pool = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
        "pool_recycle": settings.db_pool_recycle,
        "pool_pre_ping": True,
        # QueuePool (SQLAlchemy's default), reporting the db_pool_* metrics.
        "poolclass": MeteredQueuePool,
    }
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, settings, pool)
    return sa.create_engine(
        url,
        connect_args={
            "application_name": application_name,
            "connect_timeout": settings.db_connect_timeout,
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
        },
        **pool,
    )


def _sqlite_engine(url: sa.URL, settings: Settings, pool: dict) -> Engine:
    if url.database and url.database != ":memory:":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        # Pooled connections move between Streamlit's script threads; each is
        # used by one thread at a time, which is what SQLite requires.
        connect_args={"check_same_thread": False, "timeout": settings.db_connect_timeout},
        **pool,
    )
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # WAL lets readers run beside one writer; busy_timeout makes writers queue.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
