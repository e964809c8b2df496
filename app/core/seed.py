"""Deterministic demo data: the same seed and row count give the same rows.

Orders span two fixed years so numbers do not drift with today's date.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.core.models import DailySales, Order, Product, Region
from app.core.queries import refresh_daily_sales

FIRST_DAY = dt.date(2024, 1, 1)
DAYS = 731  # 2024-01-01 .. 2025-12-31
REGIONS = ("North", "South", "East", "West", "Central")
CATEGORIES = {
    "Hardware": ("Drill", "Saw", "Sander", "Wrench set", "Ladder", "Toolbox"),
    "Garden": ("Hose", "Mower", "Rake", "Planter", "Trimmer", "Wheelbarrow"),
    "Kitchen": ("Kettle", "Blender", "Knife set", "Toaster", "Pan", "Scale"),
    "Office": ("Desk lamp", "Chair", "Monitor arm", "Shredder", "Notebook", "Stapler"),
}
BATCH = 5_000


def _products(rng: random.Random) -> list[dict]:
    rows = []
    for category, names in CATEGORIES.items():
        for name in names:
            price = Decimal(rng.randrange(500, 40_000)) / 100
            rows.append({"name": name, "category": category, "list_price": price})
    return [{"id": i, **row} for i, row in enumerate(rows, start=1)]


def _orders(rng: random.Random, rows: int, products: list[dict]) -> Iterator[dict]:
    # Demand grows through the period and peaks each December, so the trend
    # and the forecast have something to find.
    weights = [
        1.0 + day / DAYS + (0.6 if (FIRST_DAY + dt.timedelta(day)).month == 12 else 0)
        for day in range(DAYS)
    ]
    days = rng.choices(range(DAYS), weights=weights, k=rows)
    region_weights = (5, 3, 4, 4, 2)
    for order_id, day in enumerate(sorted(days), start=1):
        product = rng.choice(products)
        quantity = rng.randint(1, 8)
        discount = Decimal(rng.choice((100, 100, 100, 95, 90, 85))) / 100
        unit_price = (product["list_price"] * discount).quantize(Decimal("0.01"))
        yield {
            "id": order_id,
            "order_date": FIRST_DAY + dt.timedelta(days=day),
            "region_id": rng.choices(range(1, len(REGIONS) + 1), weights=region_weights)[0],
            "product_id": product["id"],
            "quantity": quantity,
            "unit_price": unit_price,
            "amount": unit_price * quantity,
        }


def seed(engine: Engine, rows: int, random_seed: int = 42) -> int:
    """Replace the sales data with `rows` generated orders; returns the count.

    Saved views and audit events are left alone: they belong to users.
    Skips the work when the data already has exactly `rows` orders.
    """
    with engine.begin() as conn:
        existing = conn.scalar(sa.select(sa.func.count()).select_from(Order))
        if existing == rows:
            return rows
        for model in (DailySales, Order, Product, Region):
            conn.execute(sa.delete(model))
        rng = random.Random(random_seed)  # noqa: S311 (reproducible demo data, not secrets)
        products = _products(rng)
        conn.execute(sa.insert(Region), [{"id": i, "name": n} for i, n in enumerate(REGIONS, 1)])
        conn.execute(sa.insert(Product), products)
        batch: list[dict] = []
        for order in _orders(rng, rows, products):
            batch.append(order)
            if len(batch) == BATCH:
                conn.execute(sa.insert(Order), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(Order), batch)
        refresh_daily_sales(conn)
    return rows
