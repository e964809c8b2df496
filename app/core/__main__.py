"""Operations on the database: ``python -m app.core COMMAND`` (``--help`` lists them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from app.core import migrate, pgbouncer, queries
from app.core.db import create_engine_for
from app.core.pgbouncer import Pool
from app.core.seed import seed
from app.core.settings import Settings, load_settings_or_exit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "check-config", help="validate settings: one line per problem and exit 2, or exit 0"
    )
    sub.add_parser("migrate", help="upgrade the schema to the newest revision")
    down = sub.add_parser("downgrade", help="downgrade the schema")
    down.add_argument("revision", nargs="?", default="base")
    sub.add_parser(
        "rollup",
        help="migrate, then rebuild the daily_sales rollup from the orders (after loading"
        " orders; the dashboard and the API show them within APP_CACHE_TTL)",
    )
    seeder = sub.add_parser("seed", help="migrate, then generate demo sales data")
    seeder.add_argument("--rows", type=int, help="orders to generate (default: APP_SEED_ROWS)")
    budget = sub.add_parser(
        "connections", help="check that PROCESSES pools fit in the database's max_connections"
    )
    budget.add_argument(
        "--processes", type=int, required=True, help="processes of the deployment with a pool"
    )
    pooler = sub.add_parser(
        "pgbouncer-config",
        help="write pgbouncer.ini and userlist.txt forwarding to APP_DATABASE_URL's database",
    )
    pooler.add_argument("--out", type=Path, required=True, help="directory to write them into")
    pooler.add_argument("--listen", default=Pool.listen, help="address:port PgBouncer listens on")
    pooler.add_argument("--pool-size", type=int, default=Pool.pool_size, help="server connections")
    pooler.add_argument("--reserve-pool", type=int, default=Pool.reserve_pool)
    pooler.add_argument("--max-client-conn", type=int, default=Pool.max_client_conn)
    args = parser.parse_args(argv)

    settings = load_settings_or_exit()
    if args.command == "check-config":
        print("configuration ok")
        return 0
    if args.command == "pgbouncer-config":
        return _pgbouncer_config(settings, args)
    engine = create_engine_for(settings, "migrate")
    try:
        if args.command == "connections":
            return _check_connections(engine, args.processes, settings.pool_bound)
        if args.command == "downgrade":
            migrate.downgrade(engine, args.revision)
            return 0
        migrate.upgrade(engine)
        if args.command == "seed":
            rows = args.rows or settings.seed_rows
            if rows < 1:
                parser.error("--rows: expected an integer >= 1")
            print(f"seeded {seed(engine, rows)} orders into {engine.url!r}")
        if args.command == "rollup":
            with engine.begin() as conn:
                queries.refresh_daily_sales(conn)
            print(f"rebuilt daily_sales from the orders in {engine.url!r}")
    except OperationalError as error:
        print(f"error: database {engine.url!r} unavailable: {error.orig}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _pgbouncer_config(settings: Settings, args: argparse.Namespace) -> int:
    pool = Pool(args.listen, args.pool_size, args.reserve_pool, args.max_client_conn)
    try:
        ini = pgbouncer.write(settings, pool, args.out)
    except pgbouncer.PoolerConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {ini} and its auth_file")
    return 0


def _check_connections(engine: Engine, processes: int, bound: int) -> int:
    """Print the most connections `processes` pools can hold against the server's limit."""
    most = processes * bound
    if engine.dialect.name != "postgresql":
        print(f"{engine.dialect.name}: {processes} processes, no server connection limit")
        return 0
    allowed = queries.connections_allowed(engine)
    fits = most <= allowed
    verdict = "fits" if fits else "DOES NOT FIT: lower APP_DB_POOL_SIZE/APP_DB_MAX_OVERFLOW"
    print(
        f"PostgreSQL connections: at most {most} ({processes} processes x {bound}: "
        f"APP_DB_POOL_SIZE + APP_DB_MAX_OVERFLOW) of the {allowed} the server allows "
        f"(max_connections less reserved): {verdict}"
    )
    return 0 if fits else 1


if __name__ == "__main__":
    sys.exit(main())
