"""Containers of the image under test: a migrated data volume and secrets passed as files."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.image import podman, unique


@dataclass(frozen=True)
class Secrets:
    """A directory of secret files as the container sees it at /run/secrets."""

    host_dir: Path
    database_url: str
    cookie_secret: str

    @property
    def values(self) -> tuple[str, ...]:
        return (self.database_url, self.cookie_secret)

    def run_options(self) -> tuple[str, ...]:
        return (
            "--volume",
            f"{self.host_dir}:/run/secrets:ro",
            "--env",
            "APP_SECRETS_DIR=/run/secrets",
            "--env",
            "STREAMLIT_SERVER_COOKIE_SECRET_FILE=/run/secrets/STREAMLIT_SERVER_COOKIE_SECRET",
        )


@pytest.fixture(scope="session")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Secrets:
    """Random secret values; the database URL one names the SQLite file, so it must be read."""
    directory = tmp_path_factory.mktemp("secrets")
    token = uuid.uuid4().hex
    secrets = Secrets(directory, f"sqlite:////app/data/orders-{token}.db", f"cookie-{token}")
    (directory / "APP_DATABASE_URL").write_text(secrets.database_url + "\n")
    (directory / "STREAMLIT_SERVER_COOKIE_SECRET").write_text(secrets.cookie_secret)
    # The container user (uid 10001) must read what root wrote.
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)
    return secrets


@pytest.fixture(scope="session")
def read_only(secrets: Secrets) -> tuple[str, ...]:
    """Run options of production: read-only root, tmpfs /tmp, secrets from files."""
    return ("--read-only", "--tmpfs", "/tmp", *secrets.run_options())


@pytest.fixture(scope="session")
def data_volume(app_image: str, read_only: tuple[str, ...]) -> Iterator[str]:
    """A named volume at /app/data migrated by the image's own `migrate` command."""
    volume = unique("data")
    podman("volume", "create", volume)
    try:
        podman(
            "run", "--rm", *read_only, "--volume", f"{volume}:/app/data", app_image, "migrate",
            timeout=300,
        )  # fmt: skip
        yield volume
    finally:
        podman("volume", "rm", "--force", volume, check=False)
