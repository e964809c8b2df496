"""A bad configuration of each kind, given to each service as the image starts it.

docker/entrypoint.sh runs here on the host, with the project's virtual
environment first on PATH (it calls `python3`, `streamlit` and `gunicorn` as
the image does): the dashboard and the API must both refuse to start, with
one `configuration error:` line naming the setting and exit status 2, before
any server listens. A configuration that passes would start a server and
outlive the timeout: the test then fails. The image itself, run with podman,
must refuse the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.image import podman, unique
from tests.support.tools import ROOT, free_port

ENTRYPOINT = ROOT / "docker/entrypoint.sh"
# kind -> (environment, the setting its one line names); "{empty}" is a directory.
BAD = {
    "malformed value": ({"APP_DB_POOL_SIZE": "many"}, "APP_DB_POOL_SIZE"),
    "unknown mode": ({"APP_ENV": "prod"}, "APP_ENV"),
    "unsupported database": ({"APP_DATABASE_URL": "mysql://app@db/app"}, "APP_DATABASE_URL"),
    "secrets dir missing": ({"APP_SECRETS_DIR": "/nonexistent/secrets"}, "APP_SECRETS_DIR"),
    "production without database URL": (
        {"APP_ENV": "production", "APP_SECRETS_DIR": "{empty}"},
        "APP_DATABASE_URL",
    ),
}


def start(service: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    empty = tmp_path / "secrets"
    empty.mkdir(exist_ok=True)
    port = free_port()
    environ = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        **{key: value.replace("{empty}", str(empty)) for key, value in env.items()},
    }
    return subprocess.run(
        [
            "bash",
            str(ENTRYPOINT),
            service,
            *(["--server.port", str(port)] * (service == "dashboard")),
        ],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("service", ["dashboard", "api"])
@pytest.mark.parametrize("kind", list(BAD))
def test_refuses_to_start_with_one_line(service: str, kind: str, tmp_path: Path, reliability):
    env, setting = BAD[kind]
    result = start(service, env, tmp_path)
    lines = (result.stdout + result.stderr).splitlines()
    refused = result.returncode == 2 and len(lines) == 1
    reliability[f"bad configuration: {kind} ({service})"] = [
        f"exit {result.returncode}, {len(lines)} line(s) naming {setting}",
        "refuses to start: exit 2, one line naming the setting",
        "met" if refused and setting in lines[0] else "MISSED",
    ]
    assert result.returncode == 2, lines
    assert lines == [lines[0]], lines
    assert lines[0].startswith(f"configuration error: {setting}:"), lines


def test_the_api_refuses_a_bad_server_setting_with_one_line(tmp_path: Path):
    # gunicorn's own settings go through the same check: no traceback from int().
    result = start("api", {"GUNICORN_WORKERS": "abc"}, tmp_path)
    lines = (result.stdout + result.stderr).splitlines()
    assert result.returncode == 2, lines
    assert lines == [lines[0]], lines
    assert lines[0].startswith("configuration error: GUNICORN_WORKERS:"), lines


@pytest.mark.parametrize("service", ["dashboard", "api"])
@pytest.mark.parametrize(
    ("kind", "options", "setting"),
    [
        # The image sets APP_ENV=production: no URL at all is the bare image's default.
        ("image without database URL", (), "APP_DATABASE_URL"),
        ("image with a malformed value", ("--env", "APP_DB_POOL_SIZE=many"), "APP_DB_POOL_SIZE"),
    ],
)
def test_the_image_refuses_to_start_with_one_line(
    app_image: str, service: str, kind: str, options: tuple[str, ...], setting: str, reliability
):
    name = unique(f"bad-{service}")
    try:
        # Detached, then its own log: podman's messages stay out of what is counted.
        podman("run", "-d", "--name", name, "--read-only", "--tmpfs", "/tmp", *options,
               app_image, service)  # fmt: skip
        status = int(podman("wait", name, timeout=120).stdout.strip())
        logged = podman("logs", name)
    finally:
        podman("rm", "--force", name, check=False)
    lines = (logged.stdout + logged.stderr).splitlines()
    reliability[f"bad configuration: {kind} ({service})"] = [
        f"exit {status}, {len(lines)} line(s) naming {setting}",
        "the container exits at once: exit 2, one line naming the setting",
        "met" if status == 2 and len(lines) == 1 and setting in lines[0] else "MISSED",
    ]
    assert status == 2, lines
    assert lines == [lines[0]], lines
    assert lines[0].startswith(f"configuration error: {setting}:"), lines
