"""Every read and write the dashboard and the API make, as plain functions of an engine.

Reads return plain data (dataclasses, lists of dicts) so callers can cache them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.core.models import AuditEvent, Order, Product, Region, SavedView


@dataclass(frozen=True)
class Filters:
    """What the dashboard's filters select; empty tuples mean "all"."""

    start: dt.date
    end: dt.date
    regions: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def to_json(self) -> dict:
        data = asdict(self)
        return {
            **data,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "regions": list(self.regions),
            "categories": list(self.categories),
        }


@dataclass(frozen=True)
class Dimensions:
    regions: tuple[str, ...]
    categories: tuple[str, ...]
    first_date: dt.date
    last_date: dt.date
    orders: int


@dataclass(frozen=True)
class Kpis:
    revenue: float
    orders: int
    units: int
    average_order: float = field(default=0.0)


class ViewExistsError(ValueError):
    """A saved view with that name exists already."""


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


def save_view(engine: Engine, name: str, owner: str, filters: Filters) -> None:
    """Store a named view; raises ViewExistsError if the name is taken."""
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(SavedView).values(
                    name=name,
                    owner=owner,
                    filters=filters.to_json(),
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
    except IntegrityError:
        raise ViewExistsError(f"a view named {name!r} exists already") from None


def list_views(engine: Engine) -> list[dict]:
    query = sa.select(SavedView.name, SavedView.owner, SavedView.filters, SavedView.created_at)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(SavedView.created_at.desc())).mappings().all()
    return [dict(row) for row in rows]


def record_audit(engine: Engine, user: str, action: str, detail: str = "") -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(AuditEvent).values(
                user=user, action=action, detail=detail[:500], at=dt.datetime.now(dt.UTC)
            )
        )


def list_audit(engine: Engine, limit: int = 200) -> list[dict]:
    query = sa.select(AuditEvent.at, AuditEvent.user, AuditEvent.action, AuditEvent.detail)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(AuditEvent.id.desc()).limit(limit)).mappings().all()
    return [dict(row) for row in rows]


def ping(engine: Engine, timeout: float) -> None:
    """Raise unless the database answers a trivial query.

    On PostgreSQL the query is cut off after `timeout` seconds; opening a new
    connection is bounded by the engine's connect timeout.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
        conn.execute(sa.text("SELECT 1"))


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
