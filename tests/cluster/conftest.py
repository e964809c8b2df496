"""Fixtures of the cluster layer: the local Kubernetes (cluster/), the images
it runs (built here, imported into its containerd), a PostgreSQL inside it and
the test OpenID provider the oauth2-proxy sidecars sign in against."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.support import cluster as local_cluster
from tests.support.cluster import EDGES, Image, Provider, environ, install_site, remove_site
from tests.support.tools import free_port


@pytest.fixture(scope="session")
def cluster() -> Iterator[local_cluster.Cluster]:
    yield from local_cluster.start()


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
        stack.enter_context(environ("AUTHLIB_INSECURE_TRANSPORT", "1"))
        server = stack.enter_context(run_server_in_thread(port=free_port()))
        host_address = f"127.0.0.1:{server.server_port}"
        in_cluster = stack.enter_context(cluster.expose_to_pods(9400, host_address))
        yield Provider(f"http://{host_address}", in_cluster)


@pytest.fixture(scope="session", params=list(EDGES))
def site(request, cluster, cluster_app_image, oauth2_proxy_image, postgres_image,
         identity_provider, tmp_path_factory) -> Iterator[dict]:  # fmt: skip
    """The production-like release behind each edge (tests/support/cluster.py),
    installed once per edge for every module that uses it; pytest finishes one
    edge's tests before it installs the other."""
    installed = install_site(
        cluster, request.param, cluster_app_image, oauth2_proxy_image, postgres_image,
        identity_provider, tmp_path_factory.mktemp(request.param),
    )  # fmt: skip
    yield installed
    remove_site(cluster, installed)
