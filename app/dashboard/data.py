"""Everything the dashboard reads, each behind a cache; writes clear what they stale.

The page scripts rerun on every widget change, so nothing in them touches the
database or the API directly: they call these functions. One engine per
process (``st.cache_resource``); every read is ``st.cache_data`` with a TTL
and a bound on entries, keyed by its arguments.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import requests
import streamlit as st
from sqlalchemy.engine import Engine

from app.core import queries
from app.core.db import create_engine_for
from app.core.queries import Filters
from app.core.settings import get_settings

APPLICATION_NAME = "dashboard"
cached = st.cache_data(
    ttl=get_settings().cache_ttl, max_entries=get_settings().cache_max_entries, show_spinner=False
)


class ApiError(Exception):
    """The API did not give a usable answer; the message is fit for the user."""


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The process's one pooled engine, shared by every session."""
    return create_engine_for(get_settings(), APPLICATION_NAME)


@cached
def dimensions() -> queries.Dimensions:
    return queries.dimensions(engine())


@cached
def kpis(filters: Filters) -> queries.Kpis:
    return queries.kpis(engine(), filters)


@cached
def monthly_revenue(filters: Filters) -> pd.DataFrame:
    return pd.DataFrame(queries.monthly_revenue(engine(), filters), columns=["month", "revenue"])


@cached
def top_products(filters: Filters) -> pd.DataFrame:
    rows = queries.top_products(engine(), filters)
    return pd.DataFrame(rows, columns=["product", "category", "units", "revenue"])


@cached
def saved_views() -> pd.DataFrame:
    return pd.DataFrame(
        queries.list_views(engine()), columns=["name", "owner", "filters", "created_at"]
    )


@cached
def audit_events() -> pd.DataFrame:
    return pd.DataFrame(queries.list_audit(engine()), columns=["at", "user", "action", "detail"])


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
    try:
        response = requests.get(url, params=params, timeout=settings.api_timeout)
    except requests.Timeout:
        raise ApiError(f"the API at {url} did not answer within {settings.api_timeout}s") from None
    except requests.RequestException:
        raise ApiError(f"the API at {url} cannot be reached") from None
    if response.status_code != 200:
        try:
            detail = response.json().get("error", "")
        except ValueError:
            detail = response.reason
        raise ApiError(f"the API answered {response.status_code}: {detail}")
    body = response.json()
    frames = [pd.DataFrame(body[part]).assign(series=part) for part in ("history", "forecast")]
    frame = pd.concat(frames, ignore_index=True)
    if frame.empty:
        return pd.DataFrame(columns=["month", "revenue", "series"])
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def save_view(name: str, owner: str, filters: Filters) -> None:
    """Persist a view for every session, with its audit event; raises queries.ViewExistsError."""
    queries.save_view(engine(), name, owner, filters)
    saved_views.clear()
    audit_events.clear()


def record(user: str, action: str, detail: str = "") -> None:
    queries.record_audit(engine(), user, action, detail)
    audit_events.clear()


def default_filters() -> Filters:
    dims = dimensions()
    return Filters(
        start=max(dims.first_date, dims.last_date - dt.timedelta(days=364)), end=dims.last_date
    )
