"""Fixtures shared by all layers. Layer-specific ones live in each layer's conftest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.settings import Settings, load_settings
from tests.support.data import migrated_env
from tests.support.postgres import PostgresServer
from tests.support.tools import ROOT

REFERENCE_TESTS = ROOT / "tests/reference"

# The image fixture (app_image) is shared: one build serves every layer that runs it.
pytest_plugins = [
    "tests.support.image",
    "tests.support.chart",
    "tests.support.browser",
    "tests.support.reliability",
    "tests.support.leftovers",
    "tests.support.tracked",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The reference app's tests, the ones yours replace, are marked ``reference``:
    every test in tests/reference/, and the few that need another layer's fixtures
    say so themselves (``@pytest.mark.reference``)."""
    for item in items:
        if REFERENCE_TESTS in item.path.parents:
            item.add_marker(pytest.mark.reference)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (fails in CI, skips elsewhere, if missing)."""
    server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def sqlite_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """APP_* variables of a migrated SQLite file shared by the session's tests."""
    path = tmp_path_factory.mktemp("sqlite") / "app.db"
    return migrated_env(f"sqlite:///{path}")


@pytest.fixture(scope="session")
def pg_env(postgres: PostgresServer) -> dict[str, str]:
    """APP_* variables of a migrated PostgreSQL database shared by the session's tests."""
    return migrated_env(postgres.create_database("app"))


@pytest.fixture
def settings_for(tmp_path: Path):
    """Build Settings from an APP_* mapping (no process environment involved)."""

    def build(env: dict[str, str]) -> Settings:
        return load_settings({"APP_DATA_DIR": str(tmp_path), **env})

    return build
