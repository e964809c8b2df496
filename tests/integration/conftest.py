"""PostgreSQL-backed fixtures: the full 200k-row dataset, seeded once per session."""

import pytest

from tests.support.data import FULL_ROWS, seeded_env
from tests.support.postgres import PostgresServer


@pytest.fixture(scope="session")
def pg_env(postgres: PostgresServer) -> dict[str, str]:
    """APP_* variables of a migrated database seeded with the full dataset."""
    return seeded_env(postgres.create_database("sales"), FULL_ROWS)
