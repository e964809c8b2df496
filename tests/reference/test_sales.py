"""The in-memory rollup answers exactly what an aggregate over every order answers.

The oracle is SQL written here, over `orders` itself (not the rollup): if the
rollup, its refresh or the slicing drifted from the orders, these fail.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.core import migrate
from app.core.db import create_engine_for
from app.core.queries import Filters
from app.core.sales import ExpiringRollup, SalesRollup
from app.core.seed import seed
from app.core.settings import load_settings
from tests.reference.data import UNIT_ROWS, seeded_env
from tests.support.tools import ROOT

FILTERS = [
    Filters(dt.date(2024, 1, 1), dt.date(2025, 12, 31)),
    Filters(dt.date(2025, 3, 17), dt.date(2025, 9, 2), ("North", "East")),
    Filters(dt.date(2024, 6, 1), dt.date(2024, 6, 1), (), ("Garden",)),
    Filters(dt.date(2024, 2, 1), dt.date(2025, 2, 1), ("South",), ("Office", "Kitchen")),
    Filters(dt.date(2024, 1, 1), dt.date(2025, 12, 31), ("Atlantis",)),  # unknown: nothing
    Filters(dt.date(2030, 1, 1), dt.date(2030, 12, 31)),  # after every order
]
ORACLE = """
SELECT o.order_date AS day, o.quantity, o.amount, r.name AS region, p.name AS product, p.category
FROM orders o JOIN regions r ON r.id = o.region_id JOIN products p ON p.id = o.product_id
"""


def _orders(engine: sa.Engine, filters: Filters) -> list[sa.Row]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(ORACLE)).all()
    return [
        row
        for row in rows
        if filters.start <= _date(row.day) <= filters.end
        and (not filters.regions or row.region in filters.regions)
        and (not filters.categories or row.category in filters.categories)
    ]


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@pytest.fixture(scope="module")
def engine(sales_sqlite_env: dict[str, str]):
    engine = create_engine_for(load_settings(sales_sqlite_env), "test")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("filters", FILTERS)
def test_the_rollup_answers_what_the_orders_sum_to(engine: sa.Engine, filters: Filters):
    rollup = SalesRollup.load(engine)
    orders = _orders(engine, filters)
    revenue = sum(float(row.amount) for row in orders)

    kpis = rollup.kpis(filters)
    assert (kpis.orders, kpis.units) == (len(orders), sum(row.quantity for row in orders))
    assert kpis.revenue == pytest.approx(revenue)

    months: dict[dt.date, float] = {}
    for row in orders:
        month = _date(row.day).replace(day=1)
        months[month] = months.get(month, 0.0) + float(row.amount)
    monthly = rollup.monthly_revenue(filters)
    assert [m["month"] for m in monthly] == sorted(months)
    assert [m["revenue"] for m in monthly] == pytest.approx([months[m] for m in sorted(months)])

    by_product: dict[str, list] = {}
    for row in orders:
        entry = by_product.setdefault(row.product, [row.category, 0, 0.0])
        entry[1] += row.quantity
        entry[2] += float(row.amount)
    top = rollup.top_products(filters)
    expected = sorted(by_product.items(), key=lambda item: -item[1][2])[:10]
    assert [p["product"] for p in top] == [name for name, _ in expected]
    assert [(p["category"], p["units"]) for p in top] == [(c, u) for _, (c, u, _) in expected]


def test_dimensions_come_from_the_rollup(engine: sa.Engine):
    dims = SalesRollup.load(engine).dimensions
    with engine.connect() as conn:
        first, last, count = conn.execute(
            sa.text("SELECT min(order_date), max(order_date), count(*) FROM orders")
        ).one()
        regions = tuple(conn.scalars(sa.text("SELECT name FROM regions ORDER BY id")))
    assert (dims.first_date, dims.last_date, dims.orders) == (_date(first), _date(last), count)
    assert dims.orders == UNIT_ROWS
    assert dims.regions == regions
    assert dims.categories == ("Garden", "Hardware", "Kitchen", "Office")


def test_new_orders_show_after_a_rollup_and_the_ttl(tmp_path: Path):
    """Orders loaded by hand show once `python -m app.core rollup` ran and the
    process's copy is older than its TTL, not before."""
    env = seeded_env(f"sqlite:///{tmp_path / 'app.db'}", 500)
    engine = create_engine_for(load_settings(env), "test")
    everything = Filters(dt.date(2000, 1, 1), dt.date(2100, 1, 1))
    fresh, kept = ExpiringRollup(engine, ttl=0.0), ExpiringRollup(engine, ttl=3600)
    assert kept.get().kpis(everything).orders == 500
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO orders (id, order_date, region_id, product_id, quantity,"
                " unit_price, amount) VALUES (100000, '2026-02-03', 1, 1, 2, 10, 20)"
            )
        )
    assert fresh.get().kpis(everything).orders == 500  # the rollup is not rebuilt yet
    done = subprocess.run(
        [sys.executable, "-m", "app.core", "rollup"],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert fresh.get().kpis(everything).orders == 501
    assert fresh.get().dimensions.last_date == dt.date(2026, 2, 3)
    assert kept.get().kpis(everything).orders == 500  # within its TTL: the copy it has
    engine.dispose()


def test_an_empty_database_has_an_empty_rollup(tmp_path: Path):
    engine = create_engine_for(
        load_settings({"APP_DATABASE_URL": f"sqlite:///{tmp_path}/e.db"}), "t"
    )
    migrate.upgrade(engine)
    rollup = SalesRollup.load(engine)
    assert rollup.dimensions.orders == 0
    assert rollup.kpis(FILTERS[0]).orders == 0
    assert rollup.monthly_revenue(FILTERS[0]) == rollup.top_products(FILTERS[0]) == []
    seed(engine, 50)  # the seed rebuilds the rollup in its own transaction
    assert SalesRollup.load(engine).dimensions.orders == 50
    engine.dispose()
