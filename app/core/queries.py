"""The reference app's reads and writes, as plain functions of an engine.

Reads return plain data (dataclasses, lists of dicts) so callers can cache them.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
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


class ViewNameError(ValueError):
    """A name no view may have; the message says why, fit for the user."""


VIEW_NAME_CHARS = 80  # SavedView.name's column
# Characters that change the order text is read in rather than what it says:
# bidi marks, embeddings, overrides and isolates. A name is shown to every user.
TEXT_DIRECTION = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def check_view_name(name: str) -> str:
    """`name` without surrounding spaces, or ViewNameError: empty, too long, or holding
    a control character (C0, DEL, C1: PostgreSQL refuses NUL outright), a line or
    paragraph separator, or a text-direction character."""
    name = name.strip()
    if not name:
        raise ViewNameError("give the view a name")
    if len(name) > VIEW_NAME_CHARS:
        raise ViewNameError(f"a view name has at most {VIEW_NAME_CHARS} characters")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in TEXT_DIRECTION for c in name):
        raise ViewNameError("a view name cannot hold control or text-direction characters")
    return name


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

    Raises ViewNameError for a name no view may have (``check_view_name``),
    ViewExistsError if the name is taken.
    """
    name = check_view_name(name)
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


def list_views(engine: Engine, limit: int, offset: int = 0) -> list[dict]:
    """The newest views, `limit` of them after skipping `offset`: one page, never all."""
    query = sa.select(SavedView.name, SavedView.owner, SavedView.filters, SavedView.created_at)
    query = query.order_by(SavedView.created_at.desc(), SavedView.id.desc())
    with engine.connect() as conn:
        rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
    return [dict(row) for row in rows]


def count_views(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(SavedView)).scalar_one()
