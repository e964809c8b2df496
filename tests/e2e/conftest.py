"""The edge on loopback, in both shapes that ship, with the real pinned oauth2-proxy
(our config plus test-only flags, secrets read from files) and a test OpenID
provider (oidc-provider-mock):

- ``nginx``: the compose edge. Real nginx (our config) with auth_request to
  oauth2-proxy, two dashboard replicas and the API on a seeded SQLite file.
- ``sidecar``: the chart's. oauth2-proxy with the arguments and config the
  chart renders, in front of one dashboard run with the Streamlit config the
  chart renders.

``edge`` is each shape in turn: the contract tests run against both.
``nginx_edge`` and ``sidecar_edge`` are the shapes alone, for what only one has.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.support import servers
from tests.support.chart import named
from tests.support.edge import (
    Edge,
    nginx_binary,
    oauth2_proxy,
    oauth2_proxy_binary,
    serve_issuer,
    serve_nginx_edge,
)
from tests.support.tools import ROOT, free_port

SHAPES = ("nginx", "sidecar")
# Rendered sidecar flags the sidecar shape replaces (name -> why); the rest are
# used as they are. The fixture asserts each is rendered, so none slips past.
REPLACED = {
    "--config": "the rendered cfg, written here",
    "--upstream": "the dashboard's port here",
    "--oidc-issuer-url": "the mock provider",
    "--redirect-url": "the callback on this machine",
    "--client-secret-file": "the secret file written here",
    "--cookie-secret-file": "the secret file written here",
}


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    return nginx_binary()


@pytest.fixture(scope="session")
def oauth2_proxy_bin() -> str:
    return oauth2_proxy_binary()


@pytest.fixture(scope="session")
def issuer() -> Iterator[str]:
    with serve_issuer() as url:
        yield url


@pytest.fixture(scope="session")
def nginx_edge(
    sqlite_env: dict, nginx_bin: str, oauth2_proxy_bin: str, issuer: str, tmp_path_factory
) -> Iterator[Edge]:
    tmp = tmp_path_factory.mktemp("nginx-edge")
    with serve_nginx_edge(sqlite_env, nginx_bin, oauth2_proxy_bin, issuer, tmp) as edge:
        yield edge


def _flag(arg: str) -> str:
    return arg.split("=", 1)[0]


@pytest.fixture(scope="session")
def sidecar_edge(
    render, sqlite_env: dict, oauth2_proxy_bin: str, issuer: str, tmp_path_factory
) -> Iterator[Edge]:
    objects = render("gateway")
    config = named(objects, "ConfigMap", "-config")["data"]
    spec = named(objects, "Deployment", "-dashboard")["spec"]["template"]["spec"]
    dashboard_container, proxy_container = spec["containers"]
    rendered_args = proxy_container["args"]
    assert {_flag(a) for a in rendered_args} >= set(REPLACED)

    tmp = tmp_path_factory.mktemp("sidecar-edge")
    # The dashboard's working directory: the rendered config.toml and the app.
    (tmp / ".streamlit").mkdir()
    (tmp / ".streamlit/config.toml").write_text(config["config.toml"])
    (tmp / "app").symlink_to(ROOT / "app")
    (tmp / "oauth2-proxy.cfg").write_text(config["oauth2-proxy.cfg"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # The dashboard asks the sidecar about each session's sign-in, on its port here.
    check = {e["name"]: e.get("value") for e in dashboard_container["env"]}["APP_SESSION_CHECK_URL"]
    env = {**sqlite_env, "APP_SESSION_CHECK_URL": check.replace(":4180/", f":{port}/")}
    with contextlib.ExitStack() as stack:
        dashboard = stack.enter_context(
            servers.dashboard(
                env,
                tmp / "dashboard.log",
                # As the pod runs it: the image's entrypoint passes 0.0.0.0,
                # then the rendered arguments (loopback only).
                extra_args=(
                    "--server.address=0.0.0.0",
                    *(a for a in dashboard_container["args"] if a.startswith("--")),
                ),
                cwd=tmp,
            )
        )
        oauth2_args = [
            *(a for a in rendered_args if _flag(a) not in REPLACED),
            f"--config={tmp / 'oauth2-proxy.cfg'}",
            f"--upstream={dashboard.url}",
            f"--oidc-issuer-url={issuer}",
        ]
        proxy_metrics, proxy = stack.enter_context(
            oauth2_proxy(oauth2_proxy_bin, oauth2_args, port, url, tmp)
        )
        address = dashboard.url.removeprefix("http://")
        # The API is cluster-internal in the chart: not behind the sidecar.
        yield Edge(
            "sidecar",
            url,
            {address: dashboard},
            None,
            None,
            proxy_metrics,
            tmp / "oauth2-proxy.log",
            None,
            None,
            proxy,
        )


# Runs after every other e2e test: it reads the logs of the whole run.
LAST = "test_no_secret_or_session_cookie_in_any_log"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.name == LAST)


@pytest.fixture(scope="session", params=SHAPES)
def edge(request: pytest.FixtureRequest) -> Edge:
    """Each edge shape in turn."""
    return request.getfixturevalue(f"{request.param}_edge")
