"""The reference app's demo data in the tests: row counts and a migrated, seeded database."""

from __future__ import annotations

from app.core import migrate
from app.core.db import create_engine_for
from app.core.seed import seed
from app.core.settings import load_settings

# Small on purpose for AppTest and the API; the PostgreSQL tests seed the full 200k.
UNIT_ROWS = 5_000
# The dataset size the reference app promises on PostgreSQL.
FULL_ROWS = 200_000


def seeded_env(url: str, rows: int, **extra: str) -> dict[str, str]:
    """Migrate and seed the database at `url`; return the APP_* environment for it."""
    env = {"APP_DATABASE_URL": url, **extra}
    engine = create_engine_for(load_settings(env), "test-setup")
    migrate.upgrade(engine)
    seed(engine, rows)
    engine.dispose()
    return env
