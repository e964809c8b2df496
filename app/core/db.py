"""The engine factory: one bounded, pre-pinged pool per process.

Each service calls ``create_engine_for`` once (the dashboard through
``st.cache_resource``, the API per gunicorn worker) and passes its own
``application_name`` so ``pg_stat_activity`` counts connections per service.

Every wait on PostgreSQL is bounded on the client, because the server's own
limits need a server that answers. A server that is stopped refuses at once; a
server that is frozen (a stopped VM, a hung host, SIGSTOP: connections stay
open, the kernel still acknowledges every packet, nothing answers) keeps
libpq waiting forever, and TCP keepalives or ``tcp_user_timeout`` never fire
while the peer's kernel answers for it. So psycopg2 runs with a wait callback
(its "green" mode) that gives up on

- a new connection after ``db_connect_timeout`` seconds (libpq's own
  ``connect_timeout`` stays set for the same bound outside this module);
- any statement (the pool's pre-ping, a query, a commit) after
  ``db_statement_timeout_ms`` plus ``CANCEL_GRACE``: the server cancels a slow
  statement itself at ``statement_timeout``, the grace lets that answer arrive.

Giving up closes the connection; SQLAlchemy then sees a disconnect and
invalidates the whole pool, so once the server answers again every session
gets fresh connections (``pool_pre_ping`` catches any left over). Waiting for
a free pooled connection is bounded by ``db_pool_timeout``. ``wait_limit``
puts a deadline on every wait inside one block of code (the API's readiness
check: its pre-ping, reconnect and query together).
"""

from __future__ import annotations

import contextlib
import select
import sqlite3
import time
from collections.abc import Iterator
from contextvars import ContextVar

import psycopg2
import psycopg2.errorcodes
import psycopg2.extensions
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase

from app.core.metrics import MeteredQueuePool
from app.core.settings import Settings

# Seconds the client waits past statement_timeout for the server's own cancel.
CANCEL_GRACE = 1.0
# What a database that is stopped, frozen or out of connections raises: the
# dashboard says "unavailable, retrying" for these (app/dashboard/session.py),
# and for nothing else. One of them is told apart (``out_of_space``): a server
# that answers but refuses a write for lack of disk space.
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)
# What a user is told, by `problem`.
NOT_ANSWERING = "the database is not answering"
OUT_OF_SPACE = "the database refused the write: out of space"


class Base(DeclarativeBase):
    """Every table's base: the platform's (app/core/audit.py) and the app's (app/core/models.py)."""


_deadline: ContextVar[float | None] = ContextVar("database_deadline", default=None)


@contextlib.contextmanager
def wait_limit(seconds: float) -> Iterator[None]:
    """End every database wait in this block (this thread) `seconds` from now at the latest."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


class BoundedConnection(psycopg2.extensions.connection):
    """A psycopg2 connection whose waits `_wait` bounds (create_engine_for sets the bounds)."""

    connect_seconds: float
    statement_seconds: float


def _bounded_connection_class(settings: Settings) -> type[BoundedConnection]:
    return type(
        "BoundedConnection",
        (BoundedConnection,),
        {
            "connect_seconds": float(settings.db_connect_timeout),
            "statement_seconds": settings.db_statement_timeout_ms / 1000 + CANCEL_GRACE,
        },
    )


def _wait(conn: psycopg2.extensions.connection) -> None:
    """psycopg2's wait callback: poll the socket until libpq is done, or give up."""
    if isinstance(conn, BoundedConnection):
        setup = conn.status == psycopg2.extensions.STATUS_SETUP
        limit = conn.connect_seconds if setup else conn.statement_seconds
        if (block_end := _deadline.get()) is not None:
            limit = max(0.0, min(limit, block_end - time.monotonic()))
    else:  # a connection made elsewhere (a tool, a test): waits as long as it takes
        limit = None
    deadline = None if limit is None else time.monotonic() + limit
    poller = select.poll()  # not select.select: a busy process has descriptors above 1024
    while (state := conn.poll()) != psycopg2.extensions.POLL_OK:
        events = select.POLLIN if state == psycopg2.extensions.POLL_READ else select.POLLOUT
        poller.register(conn.fileno(), events | select.POLLERR)
        timeout_ms = None if deadline is None else max(0.0, deadline - time.monotonic()) * 1000
        ready = poller.poll(timeout_ms)  # empty only when the time is up
        poller.unregister(conn.fileno())
        if not ready:
            # psycopg2 closes the connection when the callback raises.
            raise psycopg2.OperationalError(f"the database did not answer within {limit:.3g} s")


def describe(error: Exception) -> str:
    """A database error for a log line: the driver's own message on one line,
    without SQLAlchemy's SQL and help link (it may name the server: logs only)."""
    return " ".join(str(getattr(error, "orig", None) or error).split())


def out_of_space(error: BaseException) -> bool:
    """Whether the database refused a write for lack of space: PostgreSQL's
    SQLSTATE 53100 (disk_full), SQLite's SQLITE_FULL. Both arrive as an
    OperationalError, like a server that does not answer, but send an operator
    to the disk, not to the server."""
    orig = getattr(error, "orig", None) or error
    if isinstance(orig, psycopg2.Error):
        return orig.pgcode == psycopg2.errorcodes.DISK_FULL
    return getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def problem(error: BaseException) -> str:
    """What an ``UNAVAILABLE`` error means, for a user: ``OUT_OF_SPACE`` or ``NOT_ANSWERING``."""
    return OUT_OF_SPACE if out_of_space(error) else NOT_ANSWERING


def create_engine_for(settings: Settings, application_name: str) -> Engine:
    """A pooled engine configured from settings, named for its service."""
    url = make_url(settings.connect_url)
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
    psycopg2.extensions.set_wait_callback(_wait)
    options = " ".join(f"-c {name}={value}" for name, value in session_timeouts(settings).items())
    return sa.create_engine(
        url,
        connect_args={
            "connection_factory": _bounded_connection_class(settings),
            "application_name": application_name,
            "connect_timeout": settings.db_connect_timeout,
            # A pooler ignores these; it sets the same ones (app/core/pgbouncer.py).
            "options": options,
        },
        **pool,
    )


def session_timeouts(settings: Settings) -> dict[str, int]:
    """The server-side limits of every session, in milliseconds: slow statements,
    and locks and forgotten transactions as well."""
    statement_timeout = settings.db_statement_timeout_ms
    return {
        "statement_timeout": statement_timeout,
        "lock_timeout": statement_timeout,
        "idle_in_transaction_session_timeout": 2 * statement_timeout,
    }


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


def connections_allowed(engine: Engine) -> int:
    """Connections PostgreSQL accepts from ordinary roles: max_connections less
    the slots reserved for superusers (and, from PostgreSQL 16, reserved_connections)."""
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT current_setting('max_connections')::int"
                " - current_setting('superuser_reserved_connections')::int"
                " - coalesce(current_setting('reserved_connections', true)::int, 0)"
            )
        ).scalar_one()
