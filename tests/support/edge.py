"""The edge on loopback for tests: signing in through the real flow, as a browser
without JavaScript does, and the parts of the nginx shape (nginx with our config,
the real oauth2-proxy, a test OpenID provider, two dashboards and the API).

tests/e2e's fixtures and the fault suite build their edges from these.
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

import requests
import yaml

from tests.support import servers
from tests.support.chart import CHART
from tests.support.tools import ROOT, TOOLS_BIN, free_port, missing, require_tool

INSTALL_HINT = "scripts/install-test-deps.sh (apt nginx; oauth2-proxy built with Go)"
# A user whose provider states a preferred_username: it arrives as the name.
NAMED_USER = ("dora@example.com", "dora.m")


def nginx_binary() -> str:
    return require_tool("nginx", INSTALL_HINT, ("/usr/sbin",))


def oauth2_proxy_binary() -> str:
    """The oauth2-proxy binary, at exactly the release the chart and compose pin."""
    binary = require_tool("oauth2-proxy", INSTALL_HINT, (str(TOOLS_BIN),))
    pinned = yaml.safe_load((CHART / "values.yaml").read_text())["oauth2Proxy"]["image"]["tag"]
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=False
    ).stdout
    if f"oauth2-proxy {pinned} " not in version:
        missing(f"oauth2-proxy {pinned} (found: {version.strip() or 'no version'})", INSTALL_HINT)
    return binary


def sign_in(url: str, email: str) -> requests.Session:
    """Walk the real flow: the edge → oauth2-proxy → the provider's login form → back to /."""
    session = requests.Session()
    form = session.get(f"{url}/", timeout=30)
    assert "<form" in form.text, f"no login form at {form.url}"
    landed = session.post(form.url, data={"sub": email}, timeout=30)
    assert landed.status_code == 200, landed.text[:300]
    return session


def cookie_jar(session: requests.Session) -> dict[str, str]:
    """The session's cookies by name (all of them, whatever their Secure flag)."""
    return {cookie.name: cookie.value for cookie in session.cookies}


def cookie_header(session: requests.Session) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookie_jar(session).items())}


@dataclass
class Edge:
    shape: str
    url: str  # what the browser opens
    replicas: dict[str, servers.Server]  # dashboards by address
    api_url: str | None  # the API where the edge exposes it
    nginx_log: Path | None
    api: servers.Server | None = None  # the API process, where the edge runs its own
    oauth2_proxy: subprocess.Popen | None = None


@contextlib.contextmanager
def process(argv: list[str], log: Path, health: str) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
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


def render_nginx(target: Path, port: int, upstreams: str) -> Path:
    """Our nginx/ directory with only upstreams.conf and the listen port replaced."""
    shutil.copytree(ROOT / "nginx", target)
    (target / "upstreams.conf").write_text(upstreams)
    config = target / "nginx.conf"
    text, count = re.subn(r"listen 8080;", f"listen 127.0.0.1:{port};", config.read_text())
    assert count == 1, "nginx.conf no longer has the 'listen 8080;' the test replaces"
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


@contextlib.contextmanager
def oauth2_proxy(
    binary: str, args: list[str], port: int, public_url: str, tmp: Path
) -> Iterator[subprocess.Popen]:
    """oauth2-proxy on `port` with `args`, its secrets read from files (written as
    `make secrets` writes them: no trailing newline), its callback at `public_url`
    and the test-only flags."""
    client_secret, cookie_secret = (
        tmp / "OAUTH2_PROXY_CLIENT_SECRET",
        tmp / "OAUTH2_PROXY_COOKIE_SECRET",
    )
    client_secret.write_text("edge-test-client-secret")
    cookie_secret.write_text("0123456789abcdef0123456789abcdef")
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
    ]
    with process(argv, tmp / "oauth2-proxy.log", f"http://127.0.0.1:{port}/oauth2/ping") as proxy:
        yield proxy


@contextlib.contextmanager
def serve_issuer() -> Iterator[str]:
    """The test OpenID provider (oidc-provider-mock) on a free port; NAMED_USER is
    predefined, any other typed-in e-mail signs in with the e-mail claim alone."""
    from oidc_provider_mock import User, run_server_in_thread

    email, name = NAMED_USER
    user = User(sub=email, claims={"email": email, "preferred_username": name})
    with run_server_in_thread(port=free_port(), user_claims=[user]) as server:
        yield f"http://127.0.0.1:{server.server_port}"


@contextlib.contextmanager
def serve_nginx_edge(
    env: dict[str, str], nginx_bin: str, oauth2_proxy_bin: str, issuer: str, tmp: Path
) -> Iterator[Edge]:
    """The compose edge: nginx (our config), oauth2-proxy, two dashboards and the API on `env`."""
    nginx_port, proxy_port = free_port(), free_port()
    url = f"http://127.0.0.1:{nginx_port}"
    with contextlib.ExitStack() as stack:
        api = stack.enter_context(servers.api(env, tmp / "api.log"))
        env = {**env, "APP_API_URL": api.url}
        replicas = [
            stack.enter_context(servers.dashboard(env, tmp / f"dashboard-{i}.log")) for i in (1, 2)
        ]
        oauth2_args = [
            f"--config={ROOT / 'oauth2-proxy/oauth2-proxy.cfg'}",
            f"--oidc-issuer-url={issuer}",
            "--client-id=edge-test",
        ]
        # Its callback is nginx's: the browser comes back through the edge.
        proxy = stack.enter_context(
            oauth2_proxy(oauth2_proxy_bin, oauth2_args, proxy_port, url, tmp)
        )
        addresses = [r.url.removeprefix("http://") for r in replicas]
        config = render_nginx(
            tmp / "nginx",
            nginx_port,
            loopback_upstreams(
                addresses, api.url.removeprefix("http://"), f"127.0.0.1:{proxy_port}"
            ),
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
            api,
            proxy,
        )
