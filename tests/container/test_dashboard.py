"""The dashboard image run as in production and probed from the host only.

Read-only root, tmpfs /tmp, the migrated volume at /app/data, the database URL
and cookie secret from files, the port published on 127.0.0.1 (which proves
Streamlit binds 0.0.0.0 inside: a loopback bind would not answer).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.image import container, podman, unique, wait_container_http
from tests.support.status import status
from tests.support.tools import free_port


@pytest.fixture(scope="module")
def dashboard(app_image: str, read_only: tuple[str, ...], data_volume: str) -> Iterator[str]:
    """(base URL, container name) of a running dashboard container."""
    port = free_port()
    options = (*read_only, "--volume", f"{data_volume}:/app/data", "-p", f"127.0.0.1:{port}:8501")
    with container(unique("dashboard"), app_image, run_options=options) as name:
        url = f"http://127.0.0.1:{port}"
        wait_container_http(f"{url}/_stcore/health", name)
        yield url, name


def test_health_path_answers_on_the_published_port(dashboard):
    url, name = dashboard
    assert wait_container_http(f"{url}/_stcore/health", name).text == "ok"


def test_the_status_page_reads_the_database_in_the_volume(dashboard):
    """The platform's status page over the WebSocket: the script runs in the container
    and its query reaches the SQLite file on the volume (named in the secret file)."""
    url, name = dashboard
    shown = status(url)
    assert shown.run.status == "FINISHED_SUCCESSFULLY"
    assert not shown.run.exceptions, shown.run.exceptions
    assert shown.lines["database"] == "ok (sqlite)"
    assert shown.user == "anonymous"
    hostname = podman("exec", name, "cat", "/etc/hostname").stdout.strip()
    assert shown.replica.startswith(f"{hostname} pid 1"), shown.replica  # Streamlit is PID 1


def test_runs_as_a_non_root_user(dashboard):
    _, name = dashboard
    assert podman("exec", name, "id", "-u").stdout.strip() == "10001"


def test_server_is_pid_1_so_it_gets_the_stop_signal(dashboard):
    _, name = dashboard
    cmdline = podman("exec", name, "cat", "/proc/1/cmdline").stdout.split("\0")
    assert cmdline[1:4] == ["-m", "app.dashboard", "run"], cmdline


def test_cookie_secret_file_reaches_streamlit(dashboard, secrets):
    """Replicas share it; the entrypoint turns the mounted file into Streamlit's variable."""
    _, name = dashboard
    environ = podman("exec", name, "cat", "/proc/1/environ").stdout.split("\0")
    assert f"STREAMLIT_SERVER_COOKIE_SECRET={secrets.cookie_secret}" in environ


def test_image_healthcheck_passes(dashboard):
    _, name = dashboard
    result = podman("healthcheck", "run", name, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_root_filesystem_is_read_only_and_the_app_keeps_serving(dashboard):
    url, name = dashboard
    write = podman("exec", name, "touch", "/app/written-at-runtime", check=False)
    assert write.returncode != 0
    assert "Read-only file system" in write.stderr
    assert podman("inspect", "--format", "{{.State.Running}}", name).stdout.strip() == "true"
    assert status(url).database_ok
