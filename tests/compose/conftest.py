"""The compose stack as a user starts it: `make up` with podman and podman-compose
in a clean copy of this checkout (its own secrets/), local stand-ins for the
public images (scripts/build-standins.sh), a unique project name and free
ports on 127.0.0.1. Every test talks to the published port only, as a browser
does, except where it asks podman about the containers themselves."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.acme import ACME_PORT, ListenerCA, Pebble, pebble_image
from tests.support.compose import Stack, copy_checkout, remove_leftovers
from tests.support.image import HOST_CERTS, base_image, podman, podman_env, require_podman, unique
from tests.support.tools import ROOT, free_port, require_tool, wait_until

HINT = (
    "scripts/install-test-deps.sh --compose (podman, runc, the CNI dnsname plugin, oauth2-proxy, "
    "Pebble), make test (podman-compose)"
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


# The production profile's test (test_production.py): the names a real
# deployment has in DNS, here on the test's own compose network, and in
# Chromium mapped to 127.0.0.1 where their ports are published.
DOMAIN = "app.streamlit.test"
IDP_HOST = "idp.test"
PEBBLE_HOST = "pebble.test"
# A user the test provider vouches for (email_verified): no dev-only flag lets
# unverified addresses in.
PERSON = "pat@example.com"
# docker/idp, as the dev override builds it.
IDP_IMAGE = "localhost/streamlit-template-idp:dev"
# Pebble's certificates live 90 s: certbot renews them within half that
# (ARI's window, or half the life of a certificate under 10 days).
CERT_SECONDS = 90


@dataclass
class Production:
    stack: Stack
    https_port: int
    http_port: int  # the public plain-HTTP port (80 for real)
    idp_port: int
    pebble: Pebble
    root: str  # Pebble's root (PEM): what a browser trusts

    @property
    def url(self) -> str:
        return f"https://{DOMAIN}:{self.https_port}"


def production_env(stack_ports: dict[str, int], acme_ca: Path) -> str:
    """The .env lines docker/README.md's production section has the user write,
    with this test's names and ports (real ones: 80, 443, Let's Encrypt)."""
    return "\n".join([
        "STACK=production",
        f"TLS_DOMAIN={DOMAIN}",
        f"PUBLIC_URL=https://{DOMAIN}:{stack_ports['https']}",
        "ACME_EMAIL=ops@example.com",
        f"OAUTH2_PROXY_OIDC_ISSUER_URL=http://{IDP_HOST}:{stack_ports['idp']}",
        "OAUTH2_PROXY_CLIENT_ID=streamlit-template",
        # The test's own: loopback ports, Pebble as the CA, checks every few seconds.
        "PUBLISH_ADDRESS=127.0.0.1",
        f"PUBLIC_HTTP_PORT={stack_ports['http']}",
        f"PUBLIC_HTTPS_PORT={stack_ports['https']}",
        f"HTTP_PORT={stack_ports['loopback']}",
        f"ACME_SERVER=https://{PEBBLE_HOST}:{ACME_PORT}/dir",
        f"ACME_CA_BUNDLE={acme_ca}",
        "ACME_CHECK_SECONDS=5",
        "TLS_RELOAD_CHECK_SECONDS=2",
    ]) + "\n"  # fmt: skip


def build_idp(base: str) -> str:
    args = ["build", "--format", "docker", "--network", "host", "--tag", IDP_IMAGE]
    if HOST_CERTS.is_dir():
        args += ["--volume", f"{HOST_CERTS}:{HOST_CERTS}:ro"]
    podman(*args, "--build-arg", f"PYTHON_IMAGE={base}", str(ROOT / "docker/idp"), timeout=600)
    return IDP_IMAGE


@pytest.fixture(scope="session")
def production(
    tmp_path_factory: pytest.TempPathFactory, standin_images: dict
) -> Iterator[Production]:
    """docker/README.md's production sequence (`make up` with STACK=production in
    .env) in a clean copy of the checkout, against a test OpenID provider and
    Pebble on the project's network; everything removed at the end."""
    require_podman()
    require_tool("podman-compose", HINT, (str(Path(sys.executable).parent),))
    pebble_image()
    base = base_image()
    project = unique("production")
    network = f"{project}_default"
    ports = {name: free_port() for name in ("https", "http", "loopback", "idp", "pebble")}
    folder = tmp_path_factory.mktemp("acme")
    build_flags = "--network host"
    if HOST_CERTS.is_dir():
        build_flags += f" -v {HOST_CERTS}:{HOST_CERTS}:ro"
    checkout = copy_checkout(tmp_path_factory.mktemp("checkout"))
    stack = Stack(
        checkout=checkout,
        project=project,
        env={**podman_env(), **standin_images, "COMPOSE_PROJECT_NAME": project},
        make_vars=[
            "CONTAINER_ENGINE=podman",
            f"VENV={Path(sys.executable).parent.parent}",
            f"BUILD_FLAGS={build_flags}",
            f"IMAGE=localhost/{project}-app:test",
            f"PYTHON_IMAGE={base}",
            "UP_TIMEOUT=300",
        ],
        url=f"https://{DOMAIN}:{ports['https']}",
        dashboard_port=0,
    )
    pebble = None
    try:
        # The world around the server: its network (compose joins it), the
        # identity provider, reachable from oauth2-proxy and from the browser.
        podman("network", "create", network)
        idp = build_idp(base)
        claims = {"sub": PERSON, "email": PERSON, "email_verified": True}
        podman(
            "run", "--detach", "--name", f"{project}-idp", "--network", network,
            "--network-alias", IDP_HOST, "--publish", f"127.0.0.1:{ports['idp']}:{ports['idp']}",
            "--read-only", "--entrypoint", "oidc-provider-mock", idp,
            "--host", "0.0.0.0",  # noqa: S104 (every address of its own container)
            "--port", str(ports["idp"]), "--user-claims", json.dumps(claims),
        )  # fmt: skip
        # The CA certbot is told to trust (ACME_CA_BUNDLE): Pebble's listener's.
        listener = ListenerCA.make(folder, [PEBBLE_HOST, "localhost"])
        # The documented sequence: .env, the provider's client secret, make up.
        (checkout / ".env").write_text(production_env(ports, listener.ca))
        (checkout / "secrets").mkdir()
        (checkout / "secrets/OAUTH2_PROXY_CLIENT_SECRET").write_text("provider-given-secret")
        stack.up()
        # DNS points the domain at the server: Pebble reaches nginx's port 80 (8090 inside).
        nginx = stack.containers()["nginx"]
        address = podman(
            "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", nginx
        ).stdout.strip()
        pebble = Pebble.start(
            f"{project}-pebble", network, PEBBLE_HOST, listener, {DOMAIN: address},
            http_port=8090, validity=CERT_SECONDS, management_port=ports["pebble"],
        )  # fmt: skip
        root = wait_until(lambda: _root(pebble), "Pebble's root on its management port", 60)
        yield Production(stack, ports["https"], ports["http"], ports["idp"], pebble, root)
    finally:
        stack.make("down", "DOWN_FLAGS=--volumes", timeout=180)
        if pebble:
            pebble.stop()
        podman("rm", "--force", "--time", "5", f"{project}-pebble", f"{project}-idp", check=False)
        remove_leftovers(project)
        podman("image", "rm", f"localhost/{project}-app:test", check=False)


def _root(pebble: Pebble) -> str | None:
    try:
        return pebble.root()
    except requests.RequestException:
        return None
