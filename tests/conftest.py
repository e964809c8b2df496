"""Fixtures shared by all layers. Layer-specific ones live in each layer's conftest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.settings import Settings, load_settings
from tests.support.data import UNIT_ROWS, seeded_env
from tests.support.postgres import PostgresServer

# The image fixture (app_image) is shared: one build serves every layer that runs it.
pytest_plugins = ["tests.support.image", "tests.support.chart", "tests.support.browser"]


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (fails in CI, skips elsewhere, if missing)."""
    server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def sqlite_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """APP_* variables for a seeded SQLite file shared by the session's read-only tests."""
    path = tmp_path_factory.mktemp("sqlite") / "app.db"
    return seeded_env(f"sqlite:///{path}", UNIT_ROWS)


@pytest.fixture
def settings_for(tmp_path: Path):
    """Build Settings from an APP_* mapping (no process environment involved)."""

    def build(env: dict[str, str]) -> Settings:
        return load_settings({"APP_DATA_DIR": str(tmp_path), **env})

    return build
