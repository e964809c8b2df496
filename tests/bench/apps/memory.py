"""The orders, read once per process into a DataFrame: the in-memory pandas app's data,
and what the render floor computes its fixed answers from.

Python imports a module once, so the read happens at the app's first run
and never again. `answers` keeps every result it computed: a cache with no
expiry, no size bound and no copy, the best any cache can do.
"""

from __future__ import annotations

import functools

import pandas as pd
import sqlalchemy as sa

from app.core.db import create_engine_for
from app.core.models import Order, Product, Region
from app.core.queries import Dimensions, Filters, Kpis
from app.core.settings import get_settings


def _orders() -> pd.DataFrame:
    engine = create_engine_for(get_settings(), "dashboard")
    query = (
        sa.select(
            Order.order_date.label("date"),
            Region.name.label("region"),
            Product.category,
            Product.name.label("product"),
            Order.quantity,
            Order.amount,
        )
        .join(Region, Order.region_id == Region.id)
        .join(Product, Order.product_id == Product.id)
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=list(query.selected_columns.keys()))
    engine.dispose()  # nothing stays open: the app holds no connection
    frame["date"] = pd.to_datetime(frame["date"])
    frame["month"] = frame["date"].dt.to_period("M").dt.to_timestamp()
    frame["amount"] = frame["amount"].astype(float)
    return frame


ORDERS = _orders()
DIMENSIONS = Dimensions(
    tuple(ORDERS["region"].unique()),
    tuple(sorted(ORDERS["category"].unique())),
    ORDERS["date"].min().date(),
    ORDERS["date"].max().date(),
    len(ORDERS),
)


@functools.cache
def answers(filters: Filters) -> tuple[Kpis, pd.DataFrame, pd.DataFrame]:
    """KPIs, monthly revenue (month, revenue, series) and top products for `filters`."""
    mask = ORDERS["date"].between(pd.Timestamp(filters.start), pd.Timestamp(filters.end))
    if filters.regions:
        mask &= ORDERS["region"].isin(filters.regions)
    if filters.categories:
        mask &= ORDERS["category"].isin(filters.categories)
    orders = ORDERS[mask]
    revenue, count = float(orders["amount"].sum()), len(orders)
    kpis = Kpis(revenue, count, int(orders["quantity"].sum()), revenue / count if count else 0.0)
    series = orders.groupby("month", as_index=False)["amount"].sum()
    series = series.rename(columns={"amount": "revenue"}).assign(series="history")
    top = orders.groupby(["product", "category"], as_index=False)[["quantity", "amount"]].sum()
    top = top.nlargest(10, "amount").rename(columns={"quantity": "units", "amount": "revenue"})
    return kpis, series, top
