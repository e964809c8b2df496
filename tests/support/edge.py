"""The edge on loopback for tests: signing in through the real flow, as a browser
without JavaScript does, and the parts the edges are built from (nginx with our
config, the real pinned oauth2-proxy, a test OpenID provider, the dashboards
and the API). tests/e2e's fixtures and the fault suite build their edges here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from app.ops import signin
from tests.support import servers
from tests.support.chart import CHART
from tests.support.tools import ROOT, TOOLS_BIN, free_port, missing, require_tool

INSTALL_HINT = (
    "scripts/install-test-deps.sh --edge (apt nginx, valkey-server or redis-server; "
    "oauth2-proxy built with Go)"
)
# A user whose provider states a preferred_username: it arrives as the name.
NAMED_USER = ("dora@example.com", "dora.m")

# Every session cookie a sign-in got in this test run (the log test looks for them).
ISSUED_COOKIES: set[str] = set()
NOT_CREDENTIALS = {"route"}  # nginx's replica choice


def sign_in(url: str, email: str) -> requests.Session:
    """Walk the real flow as the ops tools do (app/ops/signin.py): the edge →
    oauth2-proxy → the provider's login form → back to /."""
    session = signin.sign_in(url, email).session
    ISSUED_COOKIES.update(v for k, v in cookie_jar(session).items() if k not in NOT_CREDENTIALS)
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
    proxy_metrics_url: str  # oauth2-proxy's Prometheus metrics
    proxy_log: Path
    api: servers.Server | None  # the API process (nginx shape)
    stub_status_url: str | None  # nginx's counters (nginx shape)
    proxy: subprocess.Popen  # the oauth2-proxy process


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


@contextlib.contextmanager
def serve_issuer() -> Iterator[str]:
    """The test OpenID provider (oidc-provider-mock) on a free port; NAMED_USER is
    predefined, any other typed-in e-mail signs in with the e-mail claim alone."""
    from oidc_provider_mock import User, run_server_in_thread

    email, name = NAMED_USER
    user = User(sub=email, claims={"email": email, "preferred_username": name})
    with run_server_in_thread(port=free_port(), user_claims=[user]) as server:
        yield f"http://127.0.0.1:{server.server_port}"


# The secrets the edge's oauth2-proxy reads (tests grep every log for them).
CLIENT_SECRET = "edge-test-client-secret"
COOKIE_SECRET = "0123456789abcdef0123456789abcdef"
STORE_PASSWORD = "edge-test-session-store-password"


def session_store_binary() -> str:
    """Debian's valkey-server (trixie), else its redis-server (bookworm): one protocol,
    one configuration language."""
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name, path=f"{os.environ.get('PATH', '')}{os.pathsep}/usr/bin")
        if found:
            return found
    missing("valkey-server or redis-server", INSTALL_HINT)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def session_store(tmp: Path) -> Iterator[tuple[str, Path]]:
    """oauth2-proxy's session store on a free loopback port, its password read from a
    file as compose's valkey reads it; yields its URL (no password in it) and the file."""
    password = tmp / "OAUTH2_PROXY_REDIS_PASSWORD"
    password.write_text(STORE_PASSWORD)  # as `make secrets` writes it: no newline
    port = free_port()
    config = tmp / "session-store.conf"
    config.touch(mode=0o600)
    config.write_text(
        f'bind 127.0.0.1\nport {port}\nsave ""\nappendonly no\ndir {tmp}\n'
        f'requirepass "{password.read_text()}"\n'
    )
    argv = [session_store_binary(), str(config)]
    with servers.running(argv, tmp / "session-store.log", f"tcp://127.0.0.1:{port}"):
        yield f"redis://127.0.0.1:{port}/0", password


def redis_config(config: Path, password_file: Path, out: Path) -> Path:
    """oauth2-proxy's `config` with the store's password added, written as compose's
    one-shot service and the chart's init container write it (the image's entrypoint)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "OAUTH2_PROXY_CONFIG": str(config),
        "OAUTH2_PROXY_REDIS_PASSWORD_FILE": str(password_file),
    }
    subprocess.run([servers.ENTRYPOINT, "oauth2-proxy-config", str(out)], env=env, check=True)
    return out


@contextlib.contextmanager
def oauth2_proxy(
    binary: str, args: list[str], port: int, public_url: str, tmp: Path
) -> Iterator[tuple[str, subprocess.Popen]]:
    """oauth2-proxy on `port` with `args`, its secrets read from files (written as
    `make secrets` writes them: no trailing newline), its callback at `public_url`
    and the test-only flags; yields the URL of its metrics and its process."""
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
    health = f"http://127.0.0.1:{port}/oauth2/ping"
    with servers.running(argv, tmp / "oauth2-proxy.log", health) as proxy:
        yield f"http://{metrics}/metrics", proxy


@dataclass
class Front:
    """oauth2-proxy and nginx (our config) running in front of some upstreams."""

    url: str
    proxy_metrics_url: str
    proxy: subprocess.Popen
    nginx_log: Path
    stub_status_url: str


@contextlib.contextmanager
def signed_in_front(
    nginx_bin: str,
    oauth2_proxy_bin: str,
    issuer: str,
    dashboards: list[str],
    api: str,
    tmp: Path,
    client_id: str = "edge-test",
    proxy_port: int | None = None,
) -> Iterator[Front]:
    """oauth2-proxy (signing in at `issuer`, sessions in a store of its own, as compose
    runs it) and nginx with our config in front of two `dashboards` and the `api`
    (host:port each; name one replica twice for one); oauth2-proxy on `proxy_port`."""
    nginx_port, status_port = free_port(), free_port()
    proxy_port = proxy_port or free_port()
    url = f"http://127.0.0.1:{nginx_port}"
    with contextlib.ExitStack() as stack:
        store_url, password = stack.enter_context(session_store(tmp))
        config = redis_config(ROOT / "oauth2-proxy/oauth2-proxy.cfg", password, tmp / "o2p.cfg")
        oauth2_args = [
            f"--config={config}",
            f"--oidc-issuer-url={issuer}",
            f"--client-id={client_id}",
            # As compose sets them (OAUTH2_PROXY_SESSION_STORE_TYPE, ..._REDIS_CONNECTION_URL).
            "--session-store-type=redis",
            f"--redis-connection-url={store_url}",
        ]
        # Its callback is nginx's: the browser comes back through the edge.
        proxy_metrics, proxy = stack.enter_context(
            oauth2_proxy(oauth2_proxy_bin, oauth2_args, proxy_port, url, tmp)
        )
        upstreams = loopback_upstreams(dashboards, api, f"127.0.0.1:{proxy_port}")
        config = render_nginx(tmp / "nginx", nginx_port, upstreams, status_port)
        nginx_log = tmp / "nginx.log"
        stack.enter_context(
            servers.running(
                [nginx_bin, "-p", str(tmp), "-c", str(config), "-e", "stderr", "-g", "daemon off;"],
                nginx_log,
                f"{url}/healthz",
            )
        )
        yield Front(
            url, proxy_metrics, proxy, nginx_log, f"http://127.0.0.1:{status_port}/stub_status"
        )


@contextlib.contextmanager
def serve_nginx_edge(
    env: dict[str, str],
    nginx_bin: str,
    oauth2_proxy_bin: str,
    issuer: str,
    tmp: Path,
    script: str = servers.REFERENCE_SCRIPT,
) -> Iterator[Edge]:
    """The compose edge: nginx (our config), oauth2-proxy, two dashboards (running
    `script`) and the API on `env`; the dashboards check each session's sign-in with
    oauth2-proxy, as in compose."""
    proxy_port = free_port()
    with contextlib.ExitStack() as stack:
        api = stack.enter_context(servers.api(env, tmp / "api.log"))
        env = {
            "APP_SESSION_CHECK_URL": f"http://127.0.0.1:{proxy_port}/oauth2/auth",
            **env,
            "APP_API_URL": api.url,
        }
        replicas = [
            stack.enter_context(servers.dashboard(env, tmp / f"dashboard-{i}.log", script=script))
            for i in (1, 2)
        ]
        addresses = [r.url.removeprefix("http://") for r in replicas]
        front = stack.enter_context(
            signed_in_front(
                nginx_bin,
                oauth2_proxy_bin,
                issuer,
                addresses,
                api.url.removeprefix("http://"),
                tmp,
                proxy_port=proxy_port,
            )
        )
        yield Edge(
            "nginx",
            front.url,
            dict(zip(addresses, replicas, strict=True)),
            f"{front.url}/api",
            front.nginx_log,
            front.proxy_metrics_url,
            tmp / "oauth2-proxy.log",
            api,
            front.stub_status_url,
            front.proxy,
        )
