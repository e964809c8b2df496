"""A real OCI registry on loopback, and cosign signatures in it.

The registry is distribution (the reference registry; Docker Hub and GHCR
speak its API): Debian's ``docker-registry``, which
``scripts/install-test-deps.sh --pipeline`` installs and links as
.tools/bin/registry. What pushes to it: the release workflow under act
(tests/pipeline) and ``make push``; what pulls from it: the local cluster's
containerd (cluster/up.sh runs the cluster's own on a fixed port, inside the
cluster's network namespace). cosign signs and verifies with a key pair:
keyless signing needs GitHub's OIDC token, Fulcio and Rekor, none of which is
reachable here, so signing uses a signing config with no transparency log and
verifying ignores the log (``COSIGN_*`` variables are cosign's flags).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.tools import TOOLS_BIN, free_port, require_tool, wait_until

HINT = "scripts/install-test-deps.sh --pipeline (Debian's docker-registry; cosign built with Go)"
# Every manifest kind podman, buildx and cosign push.
MANIFESTS = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


@dataclass
class Registry:
    """A running registry: images are named ``{host}/repository:tag``."""

    host: str

    def digest(self, repository: str, reference: str) -> str | None:
        """The manifest digest a tag (or digest) names, or None when absent."""
        response = requests.head(
            f"http://{self.host}/v2/{repository}/manifests/{reference}",
            headers={"Accept": MANIFESTS},
            timeout=10,
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"]

    def tags(self, repository: str) -> list[str]:
        response = requests.get(f"http://{self.host}/v2/{repository}/tags/list", timeout=10)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return sorted(response.json().get("tags") or [])


def answers(host: str) -> bool:
    """Whether a registry answers on host:port."""
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"http://{host}/v2/", timeout=2).status_code == 200
    return False


def write_config(path: Path, data: Path, address: str) -> Path:
    """A minimal registry configuration: files under `data`, deletes allowed."""
    path.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage:\n  filesystem: {{rootdirectory: {data}}}\n  delete: {{enabled: true}}\n"
        f"http: {{addr: '{address}', secret: pipeline-tests-only}}\n"
    )
    return path


@contextlib.contextmanager
def running(directory: Path) -> Iterator[Registry]:
    """A registry on 127.0.0.1 and a free port, its blobs in `directory`, for a block."""
    binary = require_tool("registry", HINT, (str(TOOLS_BIN),))
    host = f"127.0.0.1:{free_port()}"
    config = write_config(directory / "config.yml", directory / "data", host)
    log = (directory / "registry.log").open("w")
    # v3 exports traces to localhost:4318 by default: noise, and a connection attempt.
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "none"}
    process = subprocess.Popen(
        [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    try:
        try:
            up = f"registry on {host}"
            wait_until(lambda: process.poll() is not None or answers(host), up, 30)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{(directory / 'registry.log').read_text()}") from None
        if process.poll() is not None:
            raise AssertionError(f"registry exited:\n{(directory / 'registry.log').read_text()}")
        yield Registry(host)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


# --- cosign --------------------------------------------------------------------


@dataclass
class KeyPair:
    """A cosign key pair: the private key (encrypted with `password`) and the public one."""

    private: Path
    public: Path
    password: str


def cosign() -> str:
    return require_tool("cosign", HINT, (str(TOOLS_BIN),))


def _cosign(*args: str, env: dict[str, str], cwd: Path | None = None):
    return subprocess.run(
        [cosign(), *args], env={**os.environ, **env}, cwd=cwd, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip


def key_pair(directory: Path, password: str = "pipeline-tests-only") -> KeyPair:  # noqa: S107
    """`cosign generate-key-pair` in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    made = _cosign("generate-key-pair", env={"COSIGN_PASSWORD": password}, cwd=directory)
    assert made.returncode == 0, made.stderr
    return KeyPair(directory / "cosign.key", directory / "cosign.pub", password)


def sign(reference: str, keys: KeyPair, directory: Path) -> subprocess.CompletedProcess:
    """Sign `reference` (name@digest) with the key, recording nothing in a transparency log."""
    config = directory / "signing-config.json"
    if not config.exists():
        made = _cosign("signing-config", "create", "--out", str(config), env={})
        assert made.returncode == 0, made.stderr
    return _cosign(
        "sign", "--yes", "--key", str(keys.private), "--signing-config", str(config), reference,
        env={"COSIGN_PASSWORD": keys.password},
    )  # fmt: skip


def verify(reference: str, public_key: Path) -> subprocess.CompletedProcess:
    """`cosign verify` against the public key; no transparency log here to check."""
    return _cosign(
        "verify", "--key", str(public_key), "--insecure-ignore-tlog=true", reference, env={}
    )
