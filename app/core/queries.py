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
    """Store a named view and its audit event in one transaction: both or neither.

    Raises ViewExistsError if the name is taken.
    """
    now = dt.datetime.now(dt.UTC)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(SavedView).values(
                    name=name, owner=owner, filters=filters.to_json(), created_at=now
                )
            )
            conn.execute(_audit_row(owner, "view_saved", name, now))
    except IntegrityError:
        raise ViewExistsError(f"a view named {name!r} exists already") from None


def list_views(engine: Engine) -> list[dict]:
    query = sa.select(SavedView.name, SavedView.owner, SavedView.filters, SavedView.created_at)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(SavedView.created_at.desc())).mappings().all()
    return [dict(row) for row in rows]


def _audit_row(user: str, action: str, detail: str, at: dt.datetime) -> sa.Insert:
    return sa.insert(AuditEvent).values(user=user, action=action, detail=detail[:500], at=at)


def record_audit(
    engine: Engine, user: str, action: str, detail: str = "", at: dt.datetime | None = None
) -> None:
    """One audit event, at `at` (when it happened, if written later) or now."""
    with engine.begin() as conn:
        conn.execute(_audit_row(user, action, detail, at or dt.datetime.now(dt.UTC)))


def list_audit(engine: Engine, limit: int = 200) -> list[dict]:
    query = sa.select(AuditEvent.at, AuditEvent.user, AuditEvent.action, AuditEvent.detail)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(AuditEvent.id.desc()).limit(limit)).mappings().all()
    return [dict(row) for row in rows]


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at; None when it was never migrated."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))


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
