"""The reference app's own commands (yours replace them): ``python -m app.core seed|rollup``.

The platform's CLI (app/core/__main__.py) has the commands every app needs
(check-config, migrate, downgrade, connections, pgbouncer-config) and adds
these: each ``Command`` has its argparse help, a function to add its
arguments, and a function run on the engine after the schema is migrated.
The image's entrypoint and the chart run them by name (``seed`` for the demo
data when asked: ``DEMO_DATA=true``, ``migrations.seed``; ``rollup`` on the
chart's ``rollup.schedule``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from app.core.settings import Settings


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[Engine, Settings, argparse.Namespace], str]  # returns what it did
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value!r}")
    return int(value)


def _seed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rows", type=_positive, help="orders to generate (default: APP_SEED_ROWS)"
    )


def _seed(engine: Engine, settings: Settings, args: argparse.Namespace) -> str:
    from app.core.seed import seed

    rows = args.rows or settings.seed_rows
    return f"seeded {seed(engine, rows)} orders into {engine.url!r}"


def _rollup(engine: Engine, settings: Settings, args: argparse.Namespace) -> str:
    from app.core.queries import refresh_daily_sales

    with engine.begin() as conn:
        refresh_daily_sales(conn)
    return f"rebuilt daily_sales from the orders in {engine.url!r}"


COMMANDS = {
    "seed": Command(
        "migrate, then generate the reference app's demo sales data", _seed, _seed_arguments
    ),
    "rollup": Command(
        "migrate, then rebuild the daily_sales rollup from the orders (after loading"
        " orders; the dashboard and the API show them within APP_CACHE_TTL)",
        _rollup,
    ),
}
