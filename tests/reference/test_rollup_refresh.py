"""The API's rollup (ExpiringRollup) when its read is slow or fails, on a real
PostgreSQL: a read held up by a table lock, or refused because the table is
gone, the way a database under maintenance or down holds it up or refuses it.

No request may wait on a read while a copy exists, since gunicorn's few
threads would all be waiting and /readyz and /healthz would go unanswered.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from app.core.db import create_engine_for
from app.core.sales import ExpiringRollup, SalesRollup
from app.core.settings import load_settings
from tests.reference.data import UNIT_ROWS, seeded_env
from tests.support.postgres import PostgresServer
from tests.support.tools import wait_until

WAIT = 30.0  # bound of every wait for the other thread or the server; never reached


@pytest.fixture
def engines(postgres: PostgresServer) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    """(the rollup's engine, an admin's in AUTOCOMMIT) on a seeded database of its own."""
    env = seeded_env(postgres.create_database("rollup_refresh"), UNIT_ROWS)
    env["APP_DB_STATEMENT_TIMEOUT_MS"] = str(int(WAIT * 1000))
    engine = create_engine_for(load_settings(env), "rollup")
    admin = sa.create_engine(env["APP_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    yield engine, admin
    engine.dispose()
    admin.dispose()


def _rollup_reads(engine: sa.Engine) -> list[str]:
    """Every statement that reads daily_sales on `engine`, as it is sent."""
    sent: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, *args) -> None:
        if "daily_sales" in statement:
            sent.append(statement)

    return sent


def _until(condition, what: str) -> None:
    wait_until(condition, what, WAIT, interval=0.01)


def _waiting_on_the_table(admin: sa.Engine) -> bool:
    """A query of the rollup's engine waits for the table lock the test holds."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE application_name = 'rollup' AND wait_event_type = 'Lock'"
    )
    with admin.connect() as conn:
        return conn.scalar(query) == 1


def _blocked_in_get(thread: threading.Thread) -> bool:
    """`thread` sits in ExpiringRollup.get on the same line over 10 samples: it waits
    for the lock (a C call, so get stays its top Python frame)."""
    lines = set()
    for _ in range(10):
        frame = sys._current_frames().get(thread.ident)
        if frame is None or frame.f_code is not ExpiringRollup.get.__code__:
            return False
        lines.add(frame.f_lineno)
        time.sleep(0.01)
    return len(lines) == 1


def test_while_one_thread_reads_the_others_answer_from_the_copy(engines):
    engine, admin = engines
    rollup = ExpiringRollup(engine, ttl=0.0)  # every get finds the copy stale
    first = rollup.get()
    with admin.connect() as lock, ThreadPoolExecutor(1) as pool:
        lock.exec_driver_sql("BEGIN; LOCK TABLE daily_sales IN ACCESS EXCLUSIVE MODE")
        reading: Future[SalesRollup] = pool.submit(rollup.get)
        _until(lambda: _waiting_on_the_table(admin), "reading")
        assert rollup.get() is first  # answered at once from the copy...
        assert _waiting_on_the_table(admin)  # ...while the read still waits
        lock.exec_driver_sql("COMMIT")
        fresh = reading.result(timeout=WAIT)
    assert fresh is not first
    assert fresh.dimensions.orders == UNIT_ROWS
    assert rollup.get().dimensions.orders == UNIT_ROWS


def test_a_failed_read_keeps_the_copy_and_logs_why(engines, caplog):
    engine, admin = engines
    rollup = ExpiringRollup(engine, ttl=0.0)
    first = rollup.get()
    with admin.connect() as conn:
        conn.exec_driver_sql("ALTER TABLE daily_sales RENAME TO daily_sales_away")
        try:
            assert rollup.get() is first
        finally:
            conn.exec_driver_sql("ALTER TABLE daily_sales_away RENAME TO daily_sales")
    assert 'relation "daily_sales" does not exist' in caplog.text
    assert "answering from the copy before" in caplog.text
    assert rollup.get() is not first  # the next read, the table back, succeeds


def test_a_failed_first_read_fails_the_threads_that_waited_for_it_at_once(engines):
    """With no copy yet every thread waits for the first read; when it fails,
    they all take its failure, none reads again in turn."""
    engine, admin = engines
    rollup = ExpiringRollup(engine, ttl=3600)
    reads = _rollup_reads(engine)
    with admin.connect() as lock, ThreadPoolExecutor(2) as pool:
        lock.exec_driver_sql("BEGIN; LOCK TABLE daily_sales IN ACCESS EXCLUSIVE MODE")
        first = pool.submit(rollup.get)
        _until(lambda: _waiting_on_the_table(admin), "reading")
        outcomes: list[str] = []
        waiter = threading.Thread(target=lambda: outcomes.append(_outcome(rollup)))
        waiter.start()
        _until(lambda: _blocked_in_get(waiter), "waiting for the first read")
        # The table goes away under the waiting read: it fails once the lock is free.
        lock.exec_driver_sql("ALTER TABLE daily_sales RENAME TO daily_sales_away; COMMIT")
        with pytest.raises(SQLAlchemyError, match="daily_sales"):
            first.result(timeout=WAIT)
        waiter.join(timeout=WAIT)
        lock.exec_driver_sql("ALTER TABLE daily_sales_away RENAME TO daily_sales")
    assert outcomes == ["ProgrammingError"]
    assert len(reads) == 1, reads
    assert rollup.get().dimensions.orders == UNIT_ROWS  # a later request reads again
    assert len(reads) == 2


def _outcome(rollup: ExpiringRollup) -> str:
    try:
        rollup.get()
    except SQLAlchemyError as error:
        return type(error).__name__
    return "answered"
