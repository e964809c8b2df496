"""A compose stack started by `make up` in a copy of the checkout, and what tests ask of it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.image import podman
from tests.support.tools import ROOT

SECRETS = (
    "POSTGRES_PASSWORD",
    "APP_DATABASE_URL",
    "STREAMLIT_SERVER_COOKIE_SECRET",
    "OAUTH2_PROXY_CLIENT_SECRET",
    "OAUTH2_PROXY_COOKIE_SECRET",
    "OAUTH2_PROXY_REDIS_PASSWORD",
)


@dataclass
class Stack:
    checkout: Path
    project: str
    env: dict[str, str]
    make_vars: list[str]
    url: str
    dashboard_port: int
    up_output: str = ""  # what the last `make up` printed, both streams

    def make(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """`make ARGS` in the copy, with this stack's variables; output captured."""
        return subprocess.run(
            ["make", "--no-print-directory", *args, *self.make_vars],
            cwd=self.checkout, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def up(self) -> None:
        result = self.make("up")
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
        self.up_output = result.stdout + result.stderr

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


SMOKE_OK = "OK: 0 of the checks failed"


def states(stack: Stack) -> dict[str, str]:
    """Each service's state: its own health check run now, else running or exited."""
    found = {}
    for service, name in stack.containers().items():
        state = podman(
            "inspect", "--format",
            "{{.State.Status}} {{.State.ExitCode}} {{if .Config.Healthcheck}}check{{end}}", name,
        ).stdout.split()  # fmt: skip
        if state[0] == "running" and state[-1] == "check":
            checked = podman("healthcheck", "run", name, check=False).returncode == 0
            found[service] = "healthy" if checked else "unhealthy"
        else:
            found[service] = " ".join(state[:2])
    return found


def smoke(stack: Stack) -> str:
    """`make smoke` through the published port, signed-in checks included: it passes."""
    result = stack.make(
        "smoke", f"URL={stack.url}", f"SMOKE_ARGS=--auth --api-url {stack.url}/api", timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert SMOKE_OK in result.stdout
    return result.stdout


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


def remove_leftovers(project: str) -> None:
    """Whatever `make down` left of this project (a failed start): its containers,
    pod, volumes and network, all named after the unique project."""
    listed = podman(
        "ps", "--all", "--quiet", "--filter", f"label=io.podman.compose.project={project}"
    )
    for container in listed.stdout.split():
        podman("rm", "--force", "--time", "5", container, check=False)
    podman("pod", "rm", "--force", f"pod_{project}", check=False)
    volumes = podman(
        "volume", "ls", "--quiet", "--filter", f"label=io.podman.compose.project={project}"
    )
    for volume in {f"{project}_postgres-data", *volumes.stdout.split()}:
        podman("volume", "rm", "--force", volume, check=False)
    podman("network", "rm", "--force", f"{project}_default", check=False)
