"""Operations on the database: ``python -m app.core {migrate,downgrade,seed,check-config}``."""

from __future__ import annotations

import argparse
import sys

from app.core.settings import load_settings_or_exit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "check-config", help="validate settings: one line per problem and exit 2, or exit 0"
    )
    sub.add_parser("migrate", help="upgrade the schema to the newest revision")
    down = sub.add_parser("downgrade", help="downgrade the schema")
    down.add_argument("revision", nargs="?", default="base")
    seeder = sub.add_parser("seed", help="migrate, then generate demo sales data")
    seeder.add_argument("--rows", type=int, help="orders to generate (default: APP_SEED_ROWS)")
    args = parser.parse_args(argv)

    settings = load_settings_or_exit()
    if args.command == "check-config":
        print("configuration ok")
        return 0
    # Imported here: check-config runs before every server start, and these are slow.
    from sqlalchemy.exc import OperationalError

    from app.core import migrate
    from app.core.db import create_engine_for
    from app.core.seed import seed

    engine = create_engine_for(settings, "migrate")
    try:
        if args.command == "downgrade":
            migrate.downgrade(engine, args.revision)
            return 0
        migrate.upgrade(engine)
        if args.command == "seed":
            rows = args.rows or settings.seed_rows
            if rows < 1:
                parser.error("--rows: expected an integer >= 1")
            print(f"seeded {seed(engine, rows)} orders into {engine.url!r}")
    except OperationalError as error:
        print(f"error: database {engine.url!r} unavailable: {error.orig}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
