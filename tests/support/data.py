"""A database for the platform's tests: migrated to the app's schema, no data.

Whatever the app's tables are, the platform's tests need only its migrations;
the reference app's tests seed its demo data themselves (tests/reference/).
"""

from __future__ import annotations

from app.core import migrate
from app.core.db import create_engine_for
from app.core.settings import load_settings


def migrated_env(url: str, **extra: str) -> dict[str, str]:
    """Migrate the database at `url`; return the APP_* environment for it."""
    env = {"APP_DATABASE_URL": url, **extra}
    engine = create_engine_for(load_settings(env), "test-setup")
    migrate.upgrade(engine)
    engine.dispose()
    return env
