"""The app's tables: the reference app's sales data and saved views.

Yours go here too: add a class on ``Base``, then ``make migration MESSAGE=...``
writes its Alembic revision. The platform's own table, the audit trail, is in
app/core/audit.py.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Region(Base):
    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128), unique=True)
    category: Mapped[str] = mapped_column(sa.String(64), index=True)
    list_price: Mapped[float] = mapped_column(sa.Numeric(10, 2))


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_date: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    quantity: Mapped[int]
    unit_price: Mapped[float] = mapped_column(sa.Numeric(10, 2))
    amount: Mapped[float] = mapped_column(sa.Numeric(12, 2))


class DailySales(Base):
    """Orders summed per day, region and product: what the dashboard and the API read.

    Far smaller than `orders` (at most days x regions x products rows), it is
    read whole once per cache TTL and sliced in memory (app/core/sales.py).
    Rebuilt from `orders` by the seed and `python -m app.core rollup`.
    """

    __tablename__ = "daily_sales"
    COLUMNS = ("day", "region_id", "product_id", "orders", "units", "revenue")
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), primary_key=True)
    orders: Mapped[int]
    units: Mapped[int]
    revenue: Mapped[float] = mapped_column(sa.Numeric(14, 2))


class SavedView(Base):
    """A named set of dashboard filters, shared by every session."""

    __tablename__ = "saved_views"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    owner: Mapped[str] = mapped_column(sa.String(254))
    filters: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=_utcnow)
