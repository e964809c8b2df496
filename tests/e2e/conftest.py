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
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support import servers
from tests.support.chart import CHART, named
from tests.support.tools import ROOT, TOOLS_BIN, free_port, missing, require_tool

INSTALL_HINT = "scripts/install-test-deps.sh (apt nginx; oauth2-proxy built with Go)"
SHAPES = ("nginx", "sidecar")
# A user whose provider states a preferred_username: it arrives as the name.
NAMED_USER = ("dora@example.com", "dora.m")
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


@dataclass
class Edge:
    shape: str
    url: str  # what the browser opens
    replicas: dict[str, servers.Server]  # dashboards by address
    api_url: str | None  # the API where the edge exposes it
    nginx_log: Path | None
    proxy_metrics_url: str  # oauth2-proxy's Prometheus metrics
    proxy_log: Path
    api: servers.Server | None  # the API process (nginx shape)
    stub_status_url: str | None  # nginx's counters (nginx shape)


@contextlib.contextmanager
def process(argv: list[str], log: Path, health: str) -> Iterator[subprocess.Popen]:
    # Append mode: nginx reopens /dev/stdout for its access log (O_APPEND) beside
    # its error log on stderr; both must append or one overwrites the other.
    with log.open("a") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        servers.wait_http(health, process, log)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def render_nginx(target: Path, port: int, upstreams: str, status_port: int | None = None) -> Path:
    """Our nginx/ directory with only upstreams.conf and the listen ports replaced
    (the edge's; stub_status's on `status_port`, a free one if not given)."""
    shutil.copytree(ROOT / "nginx", target)
    (target / "upstreams.conf").write_text(upstreams)
    config = target / "nginx.conf"
    text = config.read_text()
    for production, test_port in (("8080", port), ("8081", status_port or free_port())):
        text, count = re.subn(rf"listen {production};", f"listen 127.0.0.1:{test_port};", text)
        assert count == 1, f"nginx.conf no longer has the 'listen {production};' the test replaces"
    config.write_text(text)
    return config


def loopback_upstreams(dashboards: list[str], api: str, oauth2_proxy: str) -> str:
    production = (ROOT / "nginx/upstreams.conf").read_text()
    names = {
        "dashboard-1:8501": dashboards[0],
        "dashboard-2:8501": dashboards[1],
        "api:8000": api,
        "oauth2-proxy:4180": oauth2_proxy,
    }
    for name, address in names.items():
        assert name in production, f"upstreams.conf no longer names {name}"
        production = production.replace(name, address)
    return production


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    return require_tool("nginx", INSTALL_HINT, ("/usr/sbin",))


@pytest.fixture(scope="session")
def oauth2_proxy_bin() -> str:
    """The oauth2-proxy binary, at exactly the release the chart and compose pin."""
    binary = require_tool("oauth2-proxy", INSTALL_HINT, (str(TOOLS_BIN),))
    pinned = yaml.safe_load((CHART / "values.yaml").read_text())["oauth2Proxy"]["image"]["tag"]
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=False
    ).stdout
    if f"oauth2-proxy {pinned} " not in version:
        missing(f"oauth2-proxy {pinned} (found: {version.strip() or 'no version'})", INSTALL_HINT)
    return binary


@pytest.fixture(scope="session")
def issuer() -> Iterator[str]:
    """The test OpenID provider; NAMED_USER is predefined, any other typed-in e-mail
    signs in with the e-mail claim alone."""
    from oidc_provider_mock import User, run_server_in_thread

    email, name = NAMED_USER
    user = User(sub=email, claims={"email": email, "preferred_username": name})
    with run_server_in_thread(port=free_port(), user_claims=[user]) as server:
        yield f"http://127.0.0.1:{server.server_port}"


# The secrets the edge's oauth2-proxy reads (tests grep every log for them).
CLIENT_SECRET = "edge-test-client-secret"
COOKIE_SECRET = "0123456789abcdef0123456789abcdef"


@contextlib.contextmanager
def oauth2_proxy(
    binary: str, args: list[str], port: int, public_url: str, tmp: Path
) -> Iterator[str]:
    """oauth2-proxy on `port` with `args`, its secrets read from files (written as
    `make secrets` writes them: no trailing newline), its callback at `public_url`
    and the test-only flags; yields the URL of its metrics."""
    client_secret, cookie_secret = (
        tmp / "OAUTH2_PROXY_CLIENT_SECRET",
        tmp / "OAUTH2_PROXY_COOKIE_SECRET",
    )
    client_secret.write_text(CLIENT_SECRET)
    cookie_secret.write_text(COOKIE_SECRET)
    metrics = f"127.0.0.1:{free_port()}"
    argv = [
        binary,
        *args,
        f"--client-secret-file={client_secret}",
        f"--cookie-secret-file={cookie_secret}",
        f"--redirect-url={public_url}/oauth2/callback",
        # Test-only: plain HTTP, and the mock provider's unverified e-mails.
        f"--http-address=127.0.0.1:{port}",
        "--cookie-secure=false",
        "--cookie-name=_edge_test_session",
        "--insecure-oidc-allow-unverified-email",
        f"--metrics-address={metrics}",
    ]
    with process(argv, tmp / "oauth2-proxy.log", f"http://127.0.0.1:{port}/oauth2/ping"):
        yield f"http://{metrics}/metrics"


@pytest.fixture(scope="session")
def nginx_edge(
    sqlite_env: dict, nginx_bin: str, oauth2_proxy_bin: str, issuer: str, tmp_path_factory
) -> Iterator[Edge]:
    tmp = tmp_path_factory.mktemp("nginx-edge")
    nginx_port, proxy_port = free_port(), free_port()
    url = f"http://127.0.0.1:{nginx_port}"
    with contextlib.ExitStack() as stack:
        api = stack.enter_context(servers.api(sqlite_env, tmp / "api.log"))
        env = {**sqlite_env, "APP_API_URL": api.url}
        replicas = [
            stack.enter_context(servers.dashboard(env, tmp / f"dashboard-{i}.log")) for i in (1, 2)
        ]
        oauth2_args = [
            f"--config={ROOT / 'oauth2-proxy/oauth2-proxy.cfg'}",
            f"--oidc-issuer-url={issuer}",
            "--client-id=edge-test",
        ]
        # Its callback is nginx's: the browser comes back through the edge.
        proxy_metrics = stack.enter_context(
            oauth2_proxy(oauth2_proxy_bin, oauth2_args, proxy_port, url, tmp)
        )
        addresses = [r.url.removeprefix("http://") for r in replicas]
        status_port = free_port()
        config = render_nginx(
            tmp / "nginx",
            nginx_port,
            loopback_upstreams(
                addresses, api.url.removeprefix("http://"), f"127.0.0.1:{proxy_port}"
            ),
            status_port,
        )
        nginx_log = tmp / "nginx.log"
        stack.enter_context(
            process(
                [nginx_bin, "-p", str(tmp), "-c", str(config), "-e", "stderr", "-g", "daemon off;"],
                nginx_log,
                f"{url}/healthz",
            )
        )
        yield Edge(
            "nginx",
            url,
            dict(zip(addresses, replicas, strict=True)),
            f"{url}/api",
            nginx_log,
            proxy_metrics,
            tmp / "oauth2-proxy.log",
            api,
            f"http://127.0.0.1:{status_port}/stub_status",
        )


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
    with contextlib.ExitStack() as stack:
        dashboard = stack.enter_context(
            servers.dashboard(
                sqlite_env,
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
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proxy_metrics = stack.enter_context(
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
        )


# Runs after every other e2e test: it reads the logs of the whole run.
LAST = "test_no_secret_or_session_cookie_in_any_log"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.name == LAST)


@pytest.fixture(scope="session", params=SHAPES)
def edge(request: pytest.FixtureRequest) -> Edge:
    """Each edge shape in turn."""
    return request.getfixturevalue(f"{request.param}_edge")
