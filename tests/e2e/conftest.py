"""The whole edge on loopback: real nginx (our config), real oauth2-proxy (our
config plus test-only flags), a test OpenID provider (oidc-provider-mock), two
dashboard replicas and the API on a seeded SQLite file."""

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
import requests

from tests.support import servers
from tests.support.tools import ROOT, TOOLS_BIN, free_port, require_tool

INSTALL_HINT = "scripts/install-test-deps.sh (apt nginx; oauth2-proxy built with Go)"


@dataclass
class Edge:
    url: str  # nginx
    replicas: dict[str, servers.Server]  # dashboard replicas by upstream address
    nginx_log: Path


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


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    return require_tool("nginx", INSTALL_HINT, ("/usr/sbin",))


@pytest.fixture(scope="session")
def edge(sqlite_env: dict, nginx_bin: str, tmp_path_factory) -> Iterator[Edge]:
    from oidc_provider_mock import run_server_in_thread

    oauth2_proxy = require_tool("oauth2-proxy", INSTALL_HINT, (str(TOOLS_BIN),))
    tmp = tmp_path_factory.mktemp("edge")
    nginx_port, proxy_port = free_port(), free_port()
    with contextlib.ExitStack() as stack:
        api = stack.enter_context(servers.api(sqlite_env, tmp / "api.log"))
        env = {**sqlite_env, "APP_API_URL": api.url}
        replicas = [
            stack.enter_context(servers.dashboard(env, tmp / f"dashboard-{i}.log")) for i in (1, 2)
        ]
        idp = stack.enter_context(run_server_in_thread(port=free_port()))
        issuer = f"http://127.0.0.1:{idp.server_port}"
        stack.enter_context(
            process(
                [
                    oauth2_proxy,
                    f"--config={ROOT / 'oauth2-proxy/oauth2-proxy.cfg'}",
                    # Test-only: plain-HTTP issuer and cookies, a mock provider's unverified emails.
                    f"--http-address=127.0.0.1:{proxy_port}",
                    f"--oidc-issuer-url={issuer}",
                    "--client-id=edge-test",
                    "--client-secret=edge-test-secret",
                    "--cookie-secret=0123456789abcdef0123456789abcdef",
                    "--cookie-secure=false",
                    "--cookie-name=_edge_test_session",
                    f"--redirect-url=http://127.0.0.1:{nginx_port}/oauth2/callback",
                    "--insecure-oidc-allow-unverified-email",
                ],
                tmp / "oauth2-proxy.log",
                f"http://127.0.0.1:{proxy_port}/oauth2/ping",
            )
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
                f"http://127.0.0.1:{nginx_port}/healthz",
            )
        )
        yield Edge(
            f"http://127.0.0.1:{nginx_port}", dict(zip(addresses, replicas, strict=True)), nginx_log
        )


def sign_in(url: str, email: str) -> requests.Session:
    """Walk the real flow: (nginx →) oauth2-proxy → provider's login form → back to /."""
    session = requests.Session()
    form = session.get(f"{url}/", timeout=30)
    assert "<form" in form.text, f"no login form at {form.url}"
    landed = session.post(form.url, data={"sub": email}, timeout=30)
    assert landed.status_code == 200, landed.text[:300]
    return session


def cookie_header(session: requests.Session) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies)}
