"""The compose stack as a user starts it: `make up` with podman and podman-compose
in a clean copy of this checkout (its own secrets/), local stand-ins for the
public images (scripts/build-standins.sh), a unique project name and free
ports on 127.0.0.1. Every test talks to the published port only, as a browser
does, except where it asks podman about the containers themselves."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.compose import Stack, copy_checkout, remove_leftovers
from tests.support.image import HOST_CERTS, base_image, podman, podman_env, require_podman, unique
from tests.support.tools import free_port, require_tool

HINT = (
    "scripts/install-test-deps.sh --compose (podman, runc, the CNI dnsname plugin, oauth2-proxy), "
    "make test (podman-compose)"
)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, standin_images: dict) -> Iterator[Stack]:
    """`make up` of a clean copy of the checkout with the stand-ins; `make down`
    with its volume removed (and anything left removed) at the end."""
    require_podman()
    require_tool("podman-compose", HINT, (str(Path(sys.executable).parent),))
    base = base_image()
    project = unique("compose")
    http_port, dashboard_port = free_port(), free_port()
    build_flags = "--network host"
    if HOST_CERTS.is_dir():  # pip inside the build reaches the index through the host's CAs
        build_flags += f" -v {HOST_CERTS}:{HOST_CERTS}:ro"
    stack = Stack(
        checkout=copy_checkout(tmp_path_factory.mktemp("checkout")),
        project=project,
        env={**podman_env(), **standin_images, "COMPOSE_PROJECT_NAME": project},
        make_vars=[
            "CONTAINER_ENGINE=podman",
            f"VENV={Path(sys.executable).parent.parent}",  # this run's venv, podman-compose in it
            f"BUILD_FLAGS={build_flags}",
            f"IMAGE=localhost/{project}-app:test",
            f"PYTHON_IMAGE={base}",
            f"HTTP_PORT={http_port}",
            f"IDP_PORT={free_port()}",
            f"API_PORT={free_port()}",
            f"DASHBOARD_PORT={dashboard_port}",
            "UP_TIMEOUT=300",
        ],
        url=f"http://localhost:{http_port}",
        dashboard_port=dashboard_port,
    )
    try:
        stack.up()
        yield stack
    finally:
        stack.make("down", "DOWN_FLAGS=--volumes", timeout=180)
        remove_leftovers(project)
        podman("image", "rm", f"localhost/{project}-app:test", check=False)
