"""The benchmark's fixtures: it loads the reference app, on the reference app's demo data."""

from __future__ import annotations

import pytest

from tests.reference.data import UNIT_ROWS, seeded_env


@pytest.fixture(scope="session")
def sales_sqlite_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """APP_* variables of an SQLite file seeded with the reference app's demo orders."""
    return seeded_env(f"sqlite:///{tmp_path_factory.mktemp('bench') / 'app.db'}", UNIT_ROWS)
