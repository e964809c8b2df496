"""The reference app's demo data: the same seed gives the same rows (on SQLite)."""

from pathlib import Path

import sqlalchemy as sa

from app.core import migrate
from app.core.db import create_engine_for
from app.core.models import Order
from app.core.seed import seed
from app.core.settings import load_settings


def _engine(path: Path):
    return create_engine_for(load_settings({"APP_DATABASE_URL": f"sqlite:///{path}"}), "test")


def _fingerprint(engine) -> tuple:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count(), sa.func.sum(Order.amount), sa.func.max(Order.order_date))
        ).one()


def test_the_same_seed_gives_the_same_rows(tmp_path: Path):
    first, second = _engine(tmp_path / "a.db"), _engine(tmp_path / "b.db")
    for engine in (first, second):
        migrate.upgrade(engine)
        assert seed(engine, 3_000) == 3_000
    assert _fingerprint(first) == _fingerprint(second)
    assert _fingerprint(first)[0] == 3_000


def test_reseeding_with_another_size_replaces_the_orders(tmp_path: Path):
    engine = _engine(tmp_path / "app.db")
    migrate.upgrade(engine)
    seed(engine, 1_000)
    seed(engine, 2_000)
    assert _fingerprint(engine)[0] == 2_000
