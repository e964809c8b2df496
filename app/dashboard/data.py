"""Everything the reference app reads, each behind a cache; writes clear what they stale.

The page scripts rerun on every widget change, so nothing in them touches the
database or the API directly: they call these functions, which use the
platform's one engine per process (``session.engine()``). The sales figures
come from one rollup per process, read again once per TTL and sliced in
memory for each filter (``sales``); the API's forecast and saved views are
``st.cache_data`` with a TTL and a bound on entries, keyed by their
arguments. A read that fails raises (``UNAVAILABLE`` when the database does
not answer: the platform shows its retrying notice) and is never cached.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import requests
import streamlit as st

from app.core import logs, queries
from app.core.queries import Filters
from app.core.sales import SalesRollup
from app.core.settings import get_settings
from app.dashboard import session
from app.dashboard.observability import api_call

log = logging.getLogger(__name__)
cached = st.cache_data(
    ttl=get_settings().cache_ttl, max_entries=get_settings().cache_max_entries, show_spinner=False
)


class ApiError(Exception):
    """The API did not give a usable answer; the message is fit for the user (no address)."""


@st.cache_resource(ttl=get_settings().cache_ttl, refresh_mode="background", show_spinner=False)
def sales() -> SalesRollup:
    """The sales rollup, read once per TTL per process and shared by every session.

    A resource, not cache_data: every session reads the same arrays without
    the copy cache_data makes on each hit, and a rerun answers its filters
    from them in a millisecond or two (app/core/sales.py), so the per-filter
    answers need no cache of their own. Past its TTL the old copy is served
    while a background thread reads the new one: no rerun waits for it.
    """
    return SalesRollup.load(session.engine())


def dimensions() -> queries.Dimensions:
    return sales().dimensions


def kpis(filters: Filters) -> queries.Kpis:
    return sales().kpis(filters)


def monthly_revenue(filters: Filters) -> pd.DataFrame:
    return pd.DataFrame(sales().monthly_revenue(filters), columns=["month", "revenue"])


def top_products(filters: Filters) -> pd.DataFrame:
    rows = sales().top_products(filters)
    return pd.DataFrame(rows, columns=["product", "category", "units", "revenue"])


# Saved views are shown a page at a time: one page view costs the same with
# ten views or a hundred thousand.
VIEWS_PER_PAGE = 50


@cached
def saved_views(page: int = 1) -> pd.DataFrame:
    """Page `page` (from 1) of the saved views, newest first."""
    views = queries.list_views(session.engine(), VIEWS_PER_PAGE, (page - 1) * VIEWS_PER_PAGE)
    return pd.DataFrame(views, columns=["name", "owner", "filters", "created_at"])


@cached
def saved_view_count() -> int:
    return queries.count_views(session.engine())


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
            response = session.api_session().get(
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
    # more of the core than the rest of a forecast miss in a py-spy profile).
    rows = [
        (dt.date(int(point["month"][:4]), int(point["month"][5:7]), 1), point["revenue"], part)
        for part in ("history", "forecast")
        for point in body[part]
    ]
    return pd.DataFrame(rows, columns=["month", "revenue", "series"])


def save_view(name: str, owner: str, filters: Filters) -> None:
    """Persist a view for every session, with its audit event; raises
    queries.ViewNameError or queries.ViewExistsError."""
    queries.save_view(session.engine(), name, owner, filters)
    saved_views.clear()
    saved_view_count.clear()
    session.audit_events.clear()


def default_filters() -> Filters:
    dims = dimensions()
    return Filters(
        start=max(dims.first_date, dims.last_date - dt.timedelta(days=364)), end=dims.last_date
    )
