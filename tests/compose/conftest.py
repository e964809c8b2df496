"""The compose stack as a user starts it: `make up` with podman and podman-compose
in a clean copy of this checkout (its own secrets/), local stand-ins for the
public images (scripts/build-standins.sh), a unique project name and free
ports on 127.0.0.1. Every test talks to the published port only, as a browser
does, except where it asks podman about the containers themselves."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.image import HOST_CERTS, base_image, podman, podman_env, require_podman, unique
from tests.support.tools import ROOT, free_port, require_tool

HINT = (
    "scripts/install-test-deps.sh (podman, runc, the CNI dnsname plugin, oauth2-proxy), "
    "make test (podman-compose)"
)
SECRETS = (
    "POSTGRES_PASSWORD",
    "APP_DATABASE_URL",
    "STREAMLIT_SERVER_COOKIE_SECRET",
    "OAUTH2_PROXY_CLIENT_SECRET",
    "OAUTH2_PROXY_COOKIE_SECRET",
)


@dataclass
class Stack:
    checkout: Path
    project: str
    env: dict[str, str]
    make_vars: list[str]
    url: str
    dashboard_port: int
    up_output: str = ""  # what the last `make up` printed

    def make(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """`make ARGS` in the copy, with this stack's variables; output captured."""
        return subprocess.run(
            ["make", "--no-print-directory", *args, *self.make_vars],
            cwd=self.checkout, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def up(self) -> None:
        result = self.make("up")
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
        self.up_output = result.stdout

    def down(self, *flags: str) -> None:
        result = self.make("down", f"DOWN_FLAGS={' '.join(flags)}", timeout=180)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def containers(self) -> dict[str, str]:
        """Container name by compose service, for every container of the project."""
        listed = podman(
            "ps", "--all", "--filter", f"label=io.podman.compose.project={self.project}",
            "--format", '{{.Names}} {{index .Labels "com.docker.compose.service"}}',
        )  # fmt: skip
        return dict(reversed(line.split()) for line in listed.stdout.splitlines())

    def sql(self, query: str) -> str:
        """One query as the app's database user, through psql in the postgres
        container (over TCP with the password, as any image's psql can)."""
        password = (self.checkout / "secrets" / "POSTGRES_PASSWORD").read_text().strip()
        result = podman(
            "exec", "--env", f"PGPASSWORD={password}", self.containers()["postgres"],
            "psql", "--host=127.0.0.1", "--username=app", "--dbname=app", "--tuples-only",
            "--no-align", f"--command={query}",
        )  # fmt: skip
        return result.stdout.strip()

    def secret_values(self) -> dict[str, str]:
        return {name: (self.checkout / "secrets" / name).read_text().strip() for name in SECRETS}


def copy_checkout(target: Path) -> Path:
    """The tracked and untracked-but-not-ignored files, as a fresh clone of this
    working tree would have them (no secrets/, no .env), timestamps kept so the
    virtual environment's make targets stay up to date."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    for name in filter(None, listed.split("\0")):
        source, dest = ROOT / name, target / name
        if source.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest, follow_symlinks=False)
    return target


def _remove_leftovers(project: str) -> None:
    """Whatever `make down` left of this project (a failed start): its containers,
    pod, volume and network, all named after the unique project."""
    listed = podman(
        "ps", "--all", "--quiet", "--filter", f"label=io.podman.compose.project={project}"
    )
    for container in listed.stdout.split():
        podman("rm", "--force", "--time", "5", container, check=False)
    podman("pod", "rm", "--force", f"pod_{project}", check=False)
    podman("volume", "rm", "--force", f"{project}_postgres-data", check=False)
    podman("network", "rm", "--force", f"{project}_default", check=False)


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
        _remove_leftovers(project)
        podman("image", "rm", f"localhost/{project}-app:test", check=False)
