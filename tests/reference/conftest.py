"""The reference app's tests (yours replace this folder): its fixtures, seeded with its demo data.

The platform's tests (every other folder) need none of this: they run any
app's migrations and read the platform's status page (tests/support/status.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reference.data import FULL_ROWS, UNIT_ROWS, seeded_env
from tests.support import servers
from tests.support.postgres import PostgresServer


@pytest.fixture(scope="session")
def sales_sqlite_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """APP_* variables of an SQLite file seeded with UNIT_ROWS orders, read-only for tests."""
    return seeded_env(f"sqlite:///{tmp_path_factory.mktemp('sales') / 'app.db'}", UNIT_ROWS)


@pytest.fixture(scope="session")
def sales_pg_env(postgres: PostgresServer) -> dict[str, str]:
    """APP_* variables of a PostgreSQL database seeded with the full dataset."""
    return seeded_env(postgres.create_database("sales"), FULL_ROWS)


@pytest.fixture(scope="module")
def api_url(sales_sqlite_env: dict, tmp_path_factory) -> Iterator[str]:
    """The real API (gunicorn) on the seeded SQLite file."""
    log = tmp_path_factory.mktemp("api") / "api.log"
    with servers.api(sales_sqlite_env, log) as server:
        yield server.url
