"""Per-filter aggregate queries over the orders: what a page without a rollup runs.

The naive app's queries. They were app.core's before the reference moved to
the daily_sales rollup (app/core/sales.py); the naive app keeps them so its
work per query stays what a user's first version of the page would do: an
aggregate over every order matching the filters, on every rerun.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.core.models import Order, Product, Region
from app.core.queries import Dimensions, Filters, Kpis


def _where(query: sa.Select, filters: Filters) -> sa.Select:
    query = query.where(Order.order_date.between(filters.start, filters.end))
    if filters.regions:
        query = query.where(Region.name.in_(filters.regions))
    if filters.categories:
        query = query.where(Product.category.in_(filters.categories))
    return query


def _joined(*columns: sa.ColumnElement) -> sa.Select:
    return (
        sa.select(*columns)
        .select_from(Order)
        .join(Region, Order.region_id == Region.id)
        .join(Product, Order.product_id == Product.id)
    )


def dimensions(engine: Engine) -> Dimensions:
    with engine.connect() as conn:
        regions = tuple(conn.scalars(sa.select(Region.name).order_by(Region.id)))
        categories = tuple(
            conn.scalars(sa.select(Product.category).distinct().order_by(Product.category))
        )
        first, last, orders = conn.execute(
            sa.select(sa.func.min(Order.order_date), sa.func.max(Order.order_date), sa.func.count())
        ).one()
    today = dt.date.today()
    return Dimensions(regions, categories, first or today, last or today, orders)


def kpis(engine: Engine, filters: Filters) -> Kpis:
    query = _where(
        _joined(
            sa.func.coalesce(sa.func.sum(Order.amount), 0),
            sa.func.count(Order.id),
            sa.func.coalesce(sa.func.sum(Order.quantity), 0),
        ),
        filters,
    )
    with engine.connect() as conn:
        revenue, orders, units = conn.execute(query).one()
    revenue = float(revenue)
    return Kpis(revenue, int(orders), int(units), revenue / orders if orders else 0.0)


def monthly_revenue(engine: Engine, filters: Filters) -> list[dict]:
    """Revenue per calendar month: [{"month": date(first day), "revenue": float}]."""
    year = sa.extract("year", Order.order_date)
    month = sa.extract("month", Order.order_date)
    query = _where(_joined(year, month, sa.func.sum(Order.amount)), filters)
    query = query.group_by(year, month).order_by(year, month)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [{"month": dt.date(int(y), int(m), 1), "revenue": float(r)} for y, m, r in rows]


def top_products(engine: Engine, filters: Filters, limit: int = 10) -> list[dict]:
    revenue = sa.func.sum(Order.amount).label("revenue")
    query = _where(
        _joined(Product.name, Product.category, sa.func.sum(Order.quantity), revenue), filters
    )
    query = query.group_by(Product.name, Product.category).order_by(revenue.desc()).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {"product": n, "category": c, "units": int(u), "revenue": float(r)} for n, c, u, r in rows
    ]
