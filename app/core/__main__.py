"""Operations on the database: ``python -m app.core COMMAND`` (``--help`` lists them).

The platform's commands are here; the app adds its own (app/core/commands.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from app.core import migrate, pgbouncer
from app.core.commands import COMMANDS
from app.core.db import connections_allowed, create_engine_for
from app.core.pgbouncer import Pool
from app.core.settings import Settings, load_settings_or_exit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "check-config",
        help="validate settings (GUNICORN_* too): one line per problem and exit 2, or exit 0",
    )
    sub.add_parser("migrate", help="upgrade the schema to the newest revision")
    down = sub.add_parser("downgrade", help="downgrade the schema")
    down.add_argument("revision", nargs="?", default="base")
    revision = sub.add_parser(
        "revision",
        help="write the next migration from the tables' changes (make migration MESSAGE=...)",
    )
    revision.add_argument("--message", "-m", required=True, help="what the revision does")
    for name, command in COMMANDS.items():
        command.arguments(sub.add_parser(name, help=command.help))
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

    settings = load_settings_or_exit(server=args.command == "check-config")
    if args.command == "check-config":
        print("configuration ok")
        return 0
    if args.command == "pgbouncer-config":
        return _pgbouncer_config(settings, args)
    if args.command == "revision":
        print(f"wrote {migrate.new_revision(args.message)}: read it, then commit it")
        return 0
    engine = create_engine_for(settings, "migrate")
    try:
        if args.command == "connections":
            return _check_connections(engine, args.processes, settings.pool_bound)
        if args.command == "downgrade":
            migrate.downgrade(engine, args.revision)
            return 0
        migrate.upgrade(engine)
        if args.command in COMMANDS:
            print(COMMANDS[args.command].run(engine, settings, args))
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
    allowed = connections_allowed(engine)
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
