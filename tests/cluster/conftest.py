"""Fixtures of the cluster layer: the local Kubernetes (cluster/), the images
it runs (built here, imported into its containerd), a PostgreSQL inside it and
the test OpenID provider the oauth2-proxy sidecars sign in against."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support import cluster as local_cluster
from tests.support.chart import merge
from tests.support.tools import ROOT, free_port

# The app's Kubernetes resources on a 2-core node with 3 dashboard replicas.
SMALL = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


@pytest.fixture(scope="session")
def cluster() -> Iterator[local_cluster.Cluster]:
    yield from local_cluster.start()


@dataclass
class Image:
    repository: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


@pytest.fixture(scope="session")
def cluster_app_image(cluster, app_image: str) -> Image:
    """The app image built from this checkout, imported into the cluster."""
    cluster.load(app_image)
    repository, tag = app_image.rsplit(":", 1)
    return Image(repository, tag)


@pytest.fixture(scope="session")
def oauth2_proxy_image(cluster, standin_images: dict) -> Image:
    """The pinned oauth2-proxy's stand-in image (the sidecar), imported."""
    cluster.load(standin_images["OAUTH2_PROXY_IMAGE"])
    return Image(*standin_images["OAUTH2_PROXY_IMAGE"].rsplit(":", 1))


@pytest.fixture(scope="session")
def postgres_image(cluster, standin_images: dict) -> str:
    """The PostgreSQL stand-in (docker/standins/postgres), imported."""
    cluster.load(standin_images["POSTGRES_IMAGE"])
    return standin_images["POSTGRES_IMAGE"]


def deploy_postgres(cluster, namespace: str, image: str) -> None:
    """cluster/manifests/postgres.yaml in `namespace`, ready before returning."""
    manifest = (ROOT / "cluster/manifests/postgres.yaml").read_text()
    path = Path(cluster.kubeconfig).parent / f"postgres-{namespace}.yaml"
    path.write_text(manifest.replace("POSTGRES_IMAGE", image))
    cluster.kubectl("apply", "--namespace", namespace, "--filename", str(path))
    cluster.kubectl(
        "rollout", "status", "deployment/postgresql", "--namespace", namespace, "--timeout=180s",
        timeout=200,
    )  # fmt: skip


@dataclass
class Provider:
    """The test OpenID provider: browsers reach `browser_url`, pods `cluster_url`."""

    browser_url: str
    cluster_url: str


@pytest.fixture(scope="session")
def identity_provider(cluster) -> Iterator[Provider]:
    """oidc-provider-mock on this host's loopback, reachable from pods through a
    forwarder on the node address. The provider names itself after the host it
    is asked by, so oauth2-proxy skips discovery and is given each endpoint
    where its caller reaches it (as the compose dev override does)."""
    from oidc_provider_mock import run_server_in_thread

    with contextlib.ExitStack() as stack:
        # Pods call it at the node address, which authlib would refuse over
        # plain HTTP (it allows only localhost): a test provider, test-only.
        stack.enter_context(_environ("AUTHLIB_INSECURE_TRANSPORT", "1"))
        server = stack.enter_context(run_server_in_thread(port=free_port()))
        host_address = f"127.0.0.1:{server.server_port}"
        in_cluster = stack.enter_context(cluster.expose_to_pods(9400, host_address))
        yield Provider(f"http://{host_address}", in_cluster)


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def write_values(path: Path, *layers: dict) -> Path:
    """A values file for `make deploy` (it takes several, later ones win)."""
    merged: dict = {}
    for layer in layers:
        merged = merge(merged, layer)
    path.write_text(yaml.safe_dump(merged))
    return path


def local_values() -> dict:
    """What every install here adds to a chart profile: images imported into the
    node (never pulled) and requests small enough for 3 replicas on 2 cores."""
    return {
        "image": {"pullPolicy": "Never"},
        "dashboard": {"resources": SMALL},
        "api": {"resources": SMALL},
        "migrations": {"resources": SMALL},
    }


def make_deploy(
    cluster,
    image: Image,
    values: list[Path],
    release: str,
    namespace: str,
    smoke_url: str = "",
    timeout: str = "5m",
) -> subprocess.CompletedProcess:
    """The user's command, `make deploy`, against the local cluster."""
    return cluster.run(
        "make", "deploy",
        f"VALUES={' '.join(str(path) for path in values)}",
        f"IMAGE_REPOSITORY={image.repository}", f"IMAGE_TAG={image.tag}",
        f"RELEASE={release}", f"NAMESPACE={namespace}",
        f"SMOKE_URL={smoke_url}", f"DEPLOY_TIMEOUT={timeout}",
        check=False, timeout=1200,
    )  # fmt: skip
