"""The same image started as the API (gunicorn), probed from the host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.support.image import container, logs, podman, unique, wait_container_http
from tests.support.tools import free_port

API_HEALTH = ("--env", "HEALTHCHECK_URL=http://127.0.0.1:8000/healthz")


@pytest.fixture(scope="module")
def api(app_image: str, read_only: tuple[str, ...], data_volume: str) -> Iterator[tuple[str, str]]:
    """(base URL, container name) of the API on the migrated SQLite volume."""
    port = free_port()
    options = (
        *read_only,
        *API_HEALTH,
        "-v",
        f"{data_volume}:/app/data",
        "-p",
        f"127.0.0.1:{port}:8000",
    )
    with container(unique("api"), app_image, "api", run_options=options) as name:
        url = f"http://127.0.0.1:{port}"
        wait_container_http(f"{url}/healthz", name)
        yield url, name


def test_liveness_and_readiness_answer_200(api):
    url, _ = api
    assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{url}/readyz", timeout=5).json() == {"status": "ready"}


def test_healthcheck_passes_with_the_api_url(api):
    _, name = api
    result = podman("healthcheck", "run", name, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_stops_gracefully_on_sigterm(app_image: str, read_only: tuple[str, ...]):
    """gunicorn is PID 1 and drains on SIGTERM; a shell in between would be SIGKILLed (137)."""
    port = free_port()
    options = (*read_only, "-p", f"127.0.0.1:{port}:8000")
    with container(unique("api-stop"), app_image, "api", run_options=options) as name:
        wait_container_http(f"http://127.0.0.1:{port}/healthz", name)
        podman("stop", "--time", "30", name, timeout=60)
        state = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        assert state == "0", logs(name)
        assert "Handling signal: term" in logs(name)


def test_bad_configuration_is_a_clear_message_not_a_trace(app_image: str):
    result = podman(
        "run", "--rm", "--read-only", "--env", "APP_DB_POOL_SIZE=none", app_image, "check-config",
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "APP_DB_POOL_SIZE" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
