"""The reference app's reads and writes, as plain functions of an engine.

Reads return plain data (dataclasses, lists of dicts) so callers can cache them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.core.audit import audit_row
from app.core.models import DailySales, Order, Product, Region, SavedView


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


def refresh_daily_sales(conn: sa.Connection) -> None:
    """Rebuild the daily_sales rollup from the orders, in the caller's transaction.

    Run it after loading orders: the seed does, and `python -m app.core rollup`.
    """
    conn.execute(sa.delete(DailySales))
    totals = sa.select(
        Order.order_date,
        Order.region_id,
        Order.product_id,
        sa.func.count(),
        sa.func.sum(Order.quantity),
        sa.func.sum(Order.amount),
    ).group_by(Order.order_date, Order.region_id, Order.product_id)
    conn.execute(sa.insert(DailySales).from_select(DailySales.COLUMNS, totals))


@dataclass(frozen=True)
class DailySalesRows:
    """The whole rollup as read: regions (id, name), products (id, name, category)
    and rows (day, region id, product id, orders, units, revenue)."""

    regions: list[sa.Row]
    products: list[sa.Row]
    rows: list[sa.Row]


def daily_sales(engine: Engine) -> DailySalesRows:
    """Every row of the rollup, with the names its ids stand for, in one transaction."""
    columns = [getattr(DailySales, name) for name in DailySales.COLUMNS]
    with engine.connect() as conn:
        return DailySalesRows(
            conn.execute(sa.select(Region.id, Region.name).order_by(Region.id)).all(),
            conn.execute(
                sa.select(Product.id, Product.name, Product.category).order_by(Product.id)
            ).all(),
            conn.execute(sa.select(*columns)).all(),
        )


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
            conn.execute(audit_row(owner, "view_saved", name, now))
    except IntegrityError:
        raise ViewExistsError(f"a view named {name!r} exists already") from None


def list_views(engine: Engine) -> list[dict]:
    query = sa.select(SavedView.name, SavedView.owner, SavedView.filters, SavedView.created_at)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(SavedView.created_at.desc())).mappings().all()
    return [dict(row) for row in rows]
