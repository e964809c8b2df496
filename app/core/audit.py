"""The audit trail: who did what, when, kept in the database beyond any session.

The platform writes sign-ins to it (app/dashboard/session.py); an app adds its
own events with ``session.audit(action, detail)``, or, where an event must be
written with its data in one transaction, with ``audit_row`` inside that
transaction (the reference app's saved views do).

Events other than those written in a transaction go through the process's
``AuditBacklog``: a page never waits on the database for them, and an outage
delays them without losing them.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UNAVAILABLE, Base, describe

log = logging.getLogger(__name__)
# Most audit events one process holds while the database is away (about 1 KB each).
BACKLOG_LIMIT = 10_000
DETAIL_CHARS = 500


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AuditEvent(Base):
    """What must outlive a session: who did what, when."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=_utcnow, index=True)
    user: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[str] = mapped_column(sa.String(DETAIL_CHARS), default="")


def audit_row(user: str, action: str, detail: str = "", at: dt.datetime | None = None) -> sa.Insert:
    """The INSERT of one event, for a caller's own transaction."""
    return sa.insert(AuditEvent).values(
        user=user, action=action, detail=detail[:DETAIL_CHARS], at=at or _utcnow()
    )


def record(
    engine: Engine, user: str, action: str, detail: str = "", at: dt.datetime | None = None
) -> None:
    """One audit event, at `at` (when it happened, if written later) or now."""
    with engine.begin() as conn:
        conn.execute(audit_row(user, action, detail, at))


def recent(engine: Engine, limit: int = 200) -> list[dict]:
    """The newest `limit` events, newest first."""
    query = sa.select(AuditEvent.at, AuditEvent.user, AuditEvent.action, AuditEvent.detail)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(AuditEvent.id.desc()).limit(limit)).mappings().all()
    return [dict(row) for row in rows]


class AuditBacklog:
    """Audit events written by one thread of their own, in order, with the time they happened.

    ``add`` never waits. An event the database does not take (``UNAVAILABLE``)
    is retried every ``retry`` seconds until it does: an outage delays events,
    it does not lose them. Only a process that ends before the database
    returns loses what is still waiting (each retry logs how many), and a
    backlog full at ``limit`` drops new events with an error logged.
    ``written`` runs after each event is stored (a cache to clear).
    """

    def __init__(
        self,
        engine: Engine,
        retry: float,
        written: Callable[[], None] = lambda: None,
        limit: int = BACKLOG_LIMIT,
    ):
        self._engine, self._retry, self._on_written = engine, retry, written
        self._limit = limit
        self._queue: queue.Queue[tuple[str, str, str, dt.datetime]] = queue.Queue(limit)
        threading.Thread(target=self._write_forever, name="audit-backlog", daemon=True).start()

    def add(self, user: str, action: str, detail: str = "") -> None:
        try:
            self._queue.put_nowait((user, action, detail, _utcnow()))
        except queue.Full:
            log.error("audit backlog full (%d events): dropped %s by %s", self._limit, action, user)

    def _write_forever(self) -> None:
        while True:
            event = self._queue.get()
            while not self._written(event):
                time.sleep(self._retry)
            self._on_written()

    def _written(self, event: tuple[str, str, str, dt.datetime]) -> bool:
        try:
            record(self._engine, *event)
        except UNAVAILABLE as error:
            log.warning(
                "audit: %d event(s) wait for the database, next try in %g s: %s",
                self._queue.qsize() + 1, self._retry, describe(error),
            )  # fmt: skip
            return False
        except SQLAlchemyError:
            log.exception("audit: %s by %s refused by the database, dropped", event[1], event[0])
        return True
