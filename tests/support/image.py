"""The app image, built once per test session with podman from docker/Dockerfile.

The base is the local stand-in made by scripts/build-base-image.sh (no registry
here), or any image named in TEST_PYTHON_IMAGE (e.g. the official
python:3.13-slim-trixie on a machine that can pull). podman runs with the
project's own containers.conf unless CONTAINERS_CONF is already set.

Use the session fixture ``app_image`` (the image reference), and ``podman()``
to drive containers. Everything a test creates gets a name from ``unique()``
and is removed in a ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.tools import ROOT, TOOLS_BIN, missing, require_tool, wait_until

PODMAN_HINT = "apt-get install podman runc (Debian/Ubuntu), or see https://podman.io"
TOOLS_HINT = "scripts/install-test-deps.sh --compose (builds the pinned oauth2-proxy with Go)"
BASE_HINT = "apt-get install debootstrap, run as root, or set TEST_PYTHON_IMAGE to a pullable base"
CONTAINERS_CONF = ROOT / "tests/container/containers.conf"
LOCAL_BASE = "localhost/python-base:trixie"
HOST_CERTS = Path("/etc/ssl/certs")


def podman_env() -> dict[str, str]:
    return {"CONTAINERS_CONF": str(CONTAINERS_CONF), **os.environ}


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `podman ARGS` with the harness's settings; text output captured."""
    return subprocess.run(
        ["podman", *args],
        env=podman_env(),
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )


# Names this test session gives podman objects carry its token: a concurrent run's
# objects are told apart from ours (tests/support/leftovers.py).
SESSION = uuid.uuid4().hex[:6]
SESSION_PREFIX = f"stt-{SESSION}-"


def unique(prefix: str) -> str:
    """A container/volume/image name no other test session uses."""
    return f"{SESSION_PREFIX}{prefix}-{uuid.uuid4().hex[:6]}"


def require_podman() -> None:
    require_tool("podman", PODMAN_HINT)
    if "CONTAINERS_CONF" not in os.environ:
        require_tool("runc", PODMAN_HINT)  # our containers.conf selects it


def base_image() -> str:
    """The PYTHON_IMAGE build argument: TEST_PYTHON_IMAGE, or the local stand-in."""
    if chosen := os.environ.get("TEST_PYTHON_IMAGE"):
        return chosen
    if podman("image", "exists", LOCAL_BASE, check=False).returncode != 0:
        if os.geteuid() != 0:
            missing(f"{LOCAL_BASE} (debootstrap needs root to make it)", BASE_HINT)
        require_tool("debootstrap", BASE_HINT, ("/usr/sbin", "/sbin"))
        subprocess.run(
            [str(ROOT / "scripts/build-base-image.sh"), LOCAL_BASE],
            env=podman_env(),
            check=True,
            timeout=600,
        )
    return LOCAL_BASE


def build(tag: str, context: Path = ROOT) -> str:
    """Build docker/Dockerfile in `context` as `tag`; returns the tag."""
    # Docker format keeps HEALTHCHECK; host network and CA bundle let pip reach
    # the package index from inside the build on sandboxed machines.
    args = ["build", "--format", "docker", "--network", "host", "--tag", tag]
    if HOST_CERTS.is_dir():
        args += ["--volume", f"{HOST_CERTS}:{HOST_CERTS}:ro"]
    args += ["--build-arg", f"PYTHON_IMAGE={base_image()}"]
    args += ["--file", str(context / "docker/Dockerfile"), str(context)]
    result = podman(*args, check=False, timeout=900)
    if result.returncode != 0:
        pytest.fail(f"podman build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return tag


def remove_image(tag: str) -> None:
    podman("image", "rm", "--force", tag, check=False)


@pytest.fixture(scope="session")
def app_image() -> Iterator[str]:
    """The image built from this checkout, removed at the end of the session."""
    require_podman()
    tag = f"localhost/{unique('app')}:test"
    try:
        yield build(tag)
    finally:
        remove_image(tag)


@pytest.fixture(scope="session")
def standin_images() -> dict[str, str]:
    """Local stand-ins for the public images compose and the chart name
    (scripts/build-standins.sh), as the variables that select them:
    POSTGRES_IMAGE, NGINX_IMAGE, OAUTH2_PROXY_IMAGE."""
    require_podman()
    if not (TOOLS_BIN / "oauth2-proxy").exists():
        missing("oauth2-proxy (the pinned binary its stand-in image holds)", TOOLS_HINT)
    built = subprocess.run(
        [str(ROOT / "scripts/build-standins.sh")],
        env={**podman_env(), "BASE_IMAGE": base_image()}, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    if built.returncode != 0:
        pytest.fail(
            f"scripts/build-standins.sh failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}"
        )
    # The .env lines it prints select the stand-ins.
    return dict(
        line.split("=", 1)
        for line in built.stdout.splitlines()
        if "=" in line and not line.startswith("#")
    )


@contextlib.contextmanager
def container(name: str, image: str, *args: str, run_options: tuple[str, ...] = ()):
    """`podman run -d --name NAME OPTIONS IMAGE ARGS`; removed (with its logs shown) after."""
    podman("run", "--detach", "--name", name, *run_options, image, *args)
    try:
        yield name
    finally:
        podman("rm", "--force", "--time", "5", name, check=False)


def logs(name: str) -> str:
    result = podman("logs", name, check=False)
    return result.stdout + result.stderr


def wait_container_http(url: str, name: str, timeout: float = 90) -> requests.Response:
    """First 200 from `url` (a port published by container `name`), or fail with its logs."""

    def answered() -> requests.Response | None:
        state = podman("inspect", "--format", "{{.State.Running}}", name, check=False)
        if state.stdout.strip() != "true":
            pytest.fail(f"container {name} stopped:\n{logs(name)}")
        with contextlib.suppress(requests.RequestException):
            response = requests.get(url, timeout=3)
            if response.status_code == 200:
                return response
        return None

    try:
        return wait_until(answered, f"a 200 from {url}", timeout, interval=0.5)
    except AssertionError as error:
        pytest.fail(f"{error}\n{logs(name)}")
