"""The image against a real PostgreSQL, its URL passed as a secret file.

The container shares the host's network to reach the server on 127.0.0.1;
gunicorn is bound to a loopback port for the same reason (nothing listens
beyond loopback). Binding to 0.0.0.0 is proven by test_api.py instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.image import container, podman, unique, wait_container_http
from tests.support.postgres import PostgresServer
from tests.support.tools import free_port

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A server of this module alone: the test stops and restarts it."""
    server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    yield server
    server.destroy()


def _secrets_dir(path: Path, database_url: str) -> Path:
    path.mkdir(mode=0o755)
    path.chmod(0o755)  # the container user (uid 10001) reads what root wrote
    (path / "APP_DATABASE_URL").write_text(database_url)
    (path / "APP_DATABASE_URL").chmod(0o644)
    return path


def _ready_status(url: str, want: int, attempts: int = 20) -> requests.Response:
    """/readyz until it answers `want` (bounded), e.g. while the pool reconnects."""
    for _ in range(attempts):
        response = requests.get(f"{url}/readyz", timeout=10)
        if response.status_code == want:
            break
        time.sleep(0.5)
    return response


def test_migrate_then_api_readiness_follows_the_database(
    app_image: str, own_postgres: PostgresServer, tmp_path: Path
):
    secrets = _secrets_dir(tmp_path / "secrets", own_postgres.create_database("sales"))
    port = free_port()
    options = (
        "--read-only", "--tmpfs", "/tmp", "--network", "host",
        "--volume", f"{secrets}:/run/secrets:ro", "--env", "APP_SECRETS_DIR=/run/secrets",
        "--env", f"GUNICORN_BIND=127.0.0.1:{port}",
    )  # fmt: skip
    podman("run", "--rm", *options, app_image, "migrate", timeout=300)

    with container(unique("api-pg"), app_image, "api", run_options=options) as name:
        url = f"http://127.0.0.1:{port}"
        wait_container_http(f"{url}/healthz", name)
        assert _ready_status(url, 200).status_code == 200  # migrated: the schema is there

        own_postgres.stop()
        try:
            down = _ready_status(url, 503)
            assert down.status_code == 503
            assert down.json()["reason"].startswith("database")
            assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
        finally:
            own_postgres.start()
        assert _ready_status(url, 200).status_code == 200
