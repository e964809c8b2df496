"""The chart's sign-in sidecar run for real: oauth2-proxy with the arguments and
config the chart renders, in front of a dashboard with the Streamlit config the
chart renders, signing in at the test OpenID provider.

The rendered oauth2-proxy arguments are used as they are, except (asserted
below, so a new chart argument cannot slip past the test):
- paths and addresses of this machine instead of the pod's (config file,
  upstream port, issuer, callback, listen address);
- the secret files' values given inline: the oauth2-proxy built here (v7.6.0)
  predates --cookie-secret-file; the chart's image (v7.12.0) has it;
- test-only flags for plain HTTP and the mock provider's unverified e-mails.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from app.ops.stream_client import Session, StreamlitError
from tests.e2e.conftest import INSTALL_HINT, TOOLS_BIN, cookie_header, process, sign_in
from tests.support import servers
from tests.support.chart import named
from tests.support.tools import ROOT, free_port, require_tool

# Rendered flags the test replaces (name -> why), by flag name.
REPLACED = {
    "--config": "the rendered cfg, written here",
    "--upstream": "the dashboard's port here",
    "--oidc-issuer-url": "the mock provider",
    "--redirect-url": "the callback on this machine",
    "--client-secret-file": "inline value",
    "--cookie-secret-file": "inline value (v7.6.0)",
}


@dataclass
class Sidecar:
    url: str
    dashboard: servers.Server


def _flag(arg: str) -> str:
    return arg.split("=", 1)[0]


@pytest.fixture(scope="module")
def sidecar(render, sqlite_env: dict, tmp_path_factory) -> Iterator[Sidecar]:
    from oidc_provider_mock import run_server_in_thread

    oauth2_proxy = require_tool("oauth2-proxy", INSTALL_HINT, (str(TOOLS_BIN),))
    objects = render("gateway")
    config = named(objects, "ConfigMap", "-config")["data"]
    spec = named(objects, "Deployment", "-dashboard")["spec"]["template"]["spec"]
    dashboard_container, proxy_container = spec["containers"]
    rendered_args = proxy_container["args"]
    assert {_flag(a) for a in rendered_args} >= set(REPLACED)

    tmp = tmp_path_factory.mktemp("sidecar")
    # The dashboard's working directory: the rendered config.toml and the app.
    (tmp / ".streamlit").mkdir()
    (tmp / ".streamlit/config.toml").write_text(config["config.toml"])
    (tmp / "app").symlink_to(ROOT / "app")
    (tmp / "oauth2-proxy.cfg").write_text(config["oauth2-proxy.cfg"])
    proxy_port = free_port()
    with contextlib.ExitStack() as stack:
        dashboard = stack.enter_context(
            servers.dashboard(
                sqlite_env,
                tmp / "dashboard.log",
                # As the pod runs it: loopback only (the rendered argument).
                extra_args=tuple(a for a in dashboard_container["args"] if a.startswith("--")),
                cwd=tmp,
            )
        )
        idp = stack.enter_context(run_server_in_thread(port=free_port()))
        kept = [a for a in rendered_args if _flag(a) not in REPLACED]
        argv = [
            oauth2_proxy,
            *kept,
            f"--config={tmp / 'oauth2-proxy.cfg'}",
            f"--upstream={dashboard.url}",
            f"--oidc-issuer-url=http://127.0.0.1:{idp.server_port}",
            f"--redirect-url=http://127.0.0.1:{proxy_port}/oauth2/callback",
            "--client-secret=sidecar-test-secret",
            "--cookie-secret=0123456789abcdef0123456789abcdef",
            # Test-only: plain HTTP, the mock's unverified e-mails.
            f"--http-address=127.0.0.1:{proxy_port}",
            "--cookie-secure=false",
            "--cookie-name=_sidecar_test_session",
            "--insecure-oidc-allow-unverified-email",
        ]
        url = f"http://127.0.0.1:{proxy_port}"
        stack.enter_context(process(argv, tmp / "oauth2-proxy.log", f"{url}/oauth2/ping"))
        yield Sidecar(url, dashboard)


def _texts(url: str, headers: dict[str, str]) -> list[str]:
    async def run() -> list[str]:
        async with Session(url, headers=headers, timeout=60) as session:
            return (await session.run()).texts

    return asyncio.run(run())


def test_streamlit_listens_on_loopback_only(sidecar: Sidecar):
    """The rendered --server.address reached Streamlit: no other interface answers."""
    assert sidecar.dashboard.url.startswith("http://127.0.0.1:")
    assert requests.get(f"{sidecar.dashboard.url}/_stcore/health", timeout=5).status_code == 200


def test_smoke_checks_pass_in_the_sidecar_shape(sidecar: Sidecar):
    result = subprocess.run(
        [sys.executable, "-m", "app.ops.smoke", "--url", sidecar.url, "--auth",
         "--deadline", "30"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("dashboard-health", "auth-alive", "auth-ready", "sign-in-redirect"):
        assert f"PASS {check}" in result.stdout


def test_health_is_open_and_everything_else_needs_sign_in(sidecar: Sidecar):
    assert requests.get(f"{sidecar.url}/_stcore/health", timeout=10).text == "ok"
    for path in ("/", "/_stcore/host-config", "/_stcore/health/x"):
        response = requests.get(f"{sidecar.url}{path}", timeout=10, allow_redirects=False)
        assert response.status_code in (302, 403), (path, response.status_code)


def test_signed_in_user_reaches_streamlit_and_a_forged_header_does_not(sidecar: Sidecar):
    session = sign_in(sidecar.url, "dora@example.com")
    headers = cookie_header(session)
    assert "Signed in as dora@example.com" in _texts(sidecar.url, headers)
    forged = {**headers, "X-Forwarded-Email": "mallory@example.com"}
    texts = _texts(sidecar.url, forged)
    assert "Signed in as dora@example.com" in texts
    assert not any("mallory" in text for text in texts)


def test_unsigned_websocket_is_refused(sidecar: Sidecar):
    async def run() -> None:
        async with Session(sidecar.url, timeout=10) as session:
            await session.run()

    with pytest.raises(StreamlitError, match=r"upgrade refused"):
        asyncio.run(run())
