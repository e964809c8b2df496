"""Everything the dashboard reads, each behind a cache; writes clear what they stale.

The page scripts rerun on every widget change, so nothing in them touches the
database or the API directly: they call these functions. One engine per
process (``st.cache_resource``). The sales figures come from one rollup per
process, read again once per TTL and sliced in memory for each filter
(``sales``); the API's forecast, saved views and the audit trail are
``st.cache_data`` with a TTL and a bound on entries, keyed by their
arguments. A read that fails raises (``UNAVAILABLE`` when the database does
not answer) and is never cached.

Audit events other than a saved view's (sign-ins seen, exports) go through
the process's ``AuditBacklog``: a page never waits on the database for them,
and an outage delays them without losing them.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time

import pandas as pd
import requests
import streamlit as st
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.core import logs, queries
from app.core.db import create_engine_for, describe
from app.core.queries import Filters
from app.core.sales import SalesRollup
from app.core.settings import get_settings
from app.dashboard.observability import api_call

log = logging.getLogger(__name__)
APPLICATION_NAME = "dashboard"
# What a database that is stopped, frozen or out of connections raises: the
# page says "unavailable, retrying" for these, and for nothing else.
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)
# Most audit events one process holds while the database is away (about 1 KB each).
BACKLOG_LIMIT = 10_000
cached = st.cache_data(
    ttl=get_settings().cache_ttl, max_entries=get_settings().cache_max_entries, show_spinner=False
)


class ApiError(Exception):
    """The API did not give a usable answer; the message is fit for the user (no address)."""


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The process's one pooled engine, shared by every session."""
    return create_engine_for(get_settings(), APPLICATION_NAME)


@st.cache_resource(ttl=get_settings().cache_ttl, refresh_mode="background", show_spinner=False)
def sales() -> SalesRollup:
    """The sales rollup, read once per TTL per process and shared by every session.

    A resource, not cache_data: every session reads the same arrays without
    the copy cache_data makes on each hit, and a rerun answers its filters
    from them in a millisecond or two (app/core/sales.py), so the per-filter
    answers need no cache of their own. Past its TTL the old copy is served
    while a background thread reads the new one: no rerun waits for it.
    """
    return SalesRollup.load(engine())


def dimensions() -> queries.Dimensions:
    return sales().dimensions


def kpis(filters: Filters) -> queries.Kpis:
    return sales().kpis(filters)


def monthly_revenue(filters: Filters) -> pd.DataFrame:
    return pd.DataFrame(sales().monthly_revenue(filters), columns=["month", "revenue"])


def top_products(filters: Filters) -> pd.DataFrame:
    rows = sales().top_products(filters)
    return pd.DataFrame(rows, columns=["product", "category", "units", "revenue"])


@cached
def saved_views() -> pd.DataFrame:
    return pd.DataFrame(
        queries.list_views(engine()), columns=["name", "owner", "filters", "created_at"]
    )


@cached
def audit_events() -> pd.DataFrame:
    return pd.DataFrame(queries.list_audit(engine()), columns=["at", "user", "action", "detail"])


@st.cache_resource(show_spinner=False)
def api_session() -> requests.Session:
    """One HTTP session per process: calls reuse kept-alive connections to the API
    (a bare requests.get builds a session and a connection per call)."""
    return requests.Session()


@cached
def forecast(filters: Filters, months: int) -> pd.DataFrame:
    """History and forecast from the API; raises ApiError (not cached) when it fails."""
    settings = get_settings()
    params = {
        "months": months,
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        "region": list(filters.regions),
        "category": list(filters.categories),
    }
    url = f"{str(settings.api_url).rstrip('/')}/api/v1/forecast"
    # The session's request id goes along: the API logs it with its own lines.
    request_id = logs.request_id.get()
    headers = {logs.REQUEST_ID_HEADER: request_id} if request_id else {}
    with api_call() as call:
        try:
            response = api_session().get(
                url, params=params, headers=headers, timeout=settings.api_timeout
            )
        except requests.Timeout:
            call["outcome"] = "timeout"
            log.warning("API at %s: no answer within %ss", url, settings.api_timeout)
            raise ApiError(f"the API did not answer within {settings.api_timeout:g} s") from None
        except requests.RequestException as error:
            log.warning("API at %s cannot be reached: %s", url, error)
            raise ApiError("the API cannot be reached") from None
        call["outcome"] = "ok" if response.status_code == 200 else "error_status"
    if response.status_code != 200:
        try:
            detail = response.json().get("error", "")
        except ValueError:
            detail = response.reason
        log.warning("API at %s answered %s: %s", url, response.status_code, detail)
        raise ApiError(f"the API answered {response.status_code}")
    body = response.json()
    # One frame from plain tuples, each "YYYY-MM" made a date in Python: the
    # cheap way from JSON to a chart (pd.to_datetime and a frame per part took
    # more of the core than the rest of a forecast miss; tests/bench/profile.py).
    rows = [
        (dt.date(int(point["month"][:4]), int(point["month"][5:7]), 1), point["revenue"], part)
        for part in ("history", "forecast")
        for point in body[part]
    ]
    return pd.DataFrame(rows, columns=["month", "revenue", "series"])


def save_view(name: str, owner: str, filters: Filters) -> None:
    """Persist a view for every session, with its audit event; raises queries.ViewExistsError."""
    queries.save_view(engine(), name, owner, filters)
    saved_views.clear()
    audit_events.clear()


class AuditBacklog:
    """Audit events written by one thread of their own, in order, with the time they happened.

    ``add`` never waits. An event the database does not take (``UNAVAILABLE``)
    is retried every ``retry`` seconds until it does: an outage delays events,
    it does not lose them. Only a process that ends before the database
    returns loses what is still waiting (each retry logs how many), and a
    backlog full at ``BACKLOG_LIMIT`` drops new events with an error logged.
    """

    def __init__(self, engine: Engine, retry: float, limit: int = BACKLOG_LIMIT):
        self._engine, self._retry = engine, retry
        self._queue: queue.Queue[tuple[str, str, str, dt.datetime]] = queue.Queue(limit)
        threading.Thread(target=self._write_forever, name="audit-backlog", daemon=True).start()

    def add(self, user: str, action: str, detail: str = "") -> None:
        try:
            self._queue.put_nowait((user, action, detail, dt.datetime.now(dt.UTC)))
        except queue.Full:
            log.error(
                "audit backlog full (%d events): dropped %s by %s", BACKLOG_LIMIT, action, user
            )

    def _write_forever(self) -> None:
        while True:
            event = self._queue.get()
            while not self._written(event):
                time.sleep(self._retry)
            audit_events.clear()

    def _written(self, event: tuple[str, str, str, dt.datetime]) -> bool:
        try:
            queries.record_audit(self._engine, *event)
        except UNAVAILABLE as error:
            log.warning(
                "audit: %d event(s) wait for the database, next try in %g s: %s",
                self._queue.qsize() + 1, self._retry, describe(error),
            )  # fmt: skip
            return False
        except SQLAlchemyError:
            log.exception("audit: %s by %s refused by the database, dropped", event[1], event[0])
        return True


@st.cache_resource(show_spinner=False)
def audit_backlog() -> AuditBacklog:
    """The process's one backlog, writing through its engine."""
    return AuditBacklog(engine(), get_settings().unavailable_retry)


def record(user: str, action: str, detail: str = "") -> None:
    """An audit event (a sign-in seen, an export), written soon without holding up the page."""
    audit_backlog().add(user, action, detail)


def default_filters() -> Filters:
    dims = dimensions()
    return Filters(
        start=max(dims.first_date, dims.last_date - dt.timedelta(days=364)), end=dims.last_date
    )
