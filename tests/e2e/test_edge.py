"""Requests through the real edge: sign-in, identity headers, WebSocket, health, stickiness."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from app.ops.stream_client import Session, StreamlitError
from tests.e2e.conftest import Edge, cookie_header, render_nginx, sign_in
from tests.support.tools import ROOT, free_port, require_tool

EMAIL = "ann@example.com"


def _run_page(url: str, headers: dict[str, str]) -> list[str]:
    async def run() -> list[str]:
        async with Session(url, headers=headers) as session:
            return (await session.run()).texts

    return asyncio.run(run())


def _sessions_seen(replica_url: str) -> int:
    """Sessions a replica has held, from its own /_stcore/metrics (asked directly)."""
    metrics = requests.get(f"{replica_url}/_stcore/metrics", timeout=10).text
    found = re.findall(r'^session_events_total\{type="connect"\} (\d+)', metrics, re.M)
    return int(found[0]) if found else 0


def test_the_production_config_passes_nginx_t(nginx_bin: str, tmp_path):
    """nginx -t on our files; only upstream addresses (names unresolvable here) are loopback."""
    upstreams = (ROOT / "nginx/upstreams.conf").read_text()
    for name in ("dashboard-1", "dashboard-2", "api", "oauth2-proxy"):
        upstreams = re.sub(rf"\b{name}:", "127.0.0.1:", upstreams)
    config = render_nginx(tmp_path / "nginx", free_port(), upstreams)
    result = subprocess.run(
        [nginx_bin, "-t", "-p", str(tmp_path), "-c", str(config), "-e", "stderr"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_gixy_finds_nothing():
    gixy = require_tool("gixy", "make .venv-scan/.scan, then put .venv-scan/bin on PATH")
    result = subprocess.run(
        [gixy, str(ROOT / "nginx/nginx.conf")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ["/", "/api/v1/forecast", "/some/page?x=1"])
def test_unauthenticated_requests_go_to_sign_in(edge: Edge, path: str):
    """nginx hands the 401 to oauth2-proxy's /oauth2/start, which sends the browser to the
    provider's sign-in; the state it carries brings the browser back to `path`."""
    response = requests.get(f"{edge.url}{path}", allow_redirects=False, timeout=10)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/oauth2/authorize"
    # The state is "nonce:path", the path URL-encoded.
    assert unquote(parse_qs(location.query)["state"][0].split(":", 1)[1]) == path


def test_an_unauthenticated_websocket_is_refused(edge: Edge):
    with pytest.raises(StreamlitError) as refused:
        _run_page(edge.url, {})
    assert refused.value.kind == "upgrade refused"


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/_stcore/health", "/api/healthz", "/api/readyz", "/oauth2/ping", "/oauth2/ready"],
)
def test_health_paths_answer_without_a_session(edge: Edge, path: str):
    response = requests.get(f"{edge.url}{path}", allow_redirects=False, timeout=10)
    assert response.status_code == 200, (path, response.status_code)


def test_security_headers_and_no_version(edge: Edge):
    response = requests.get(f"{edge.url}/", allow_redirects=False, timeout=10)
    assert response.headers["Server"] == "nginx"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_signed_in_the_page_and_websocket_show_the_user(edge: Edge):
    session = sign_in(edge.url, EMAIL)
    page = session.get(f"{edge.url}/", timeout=10)
    assert page.status_code == 200
    assert "<title>" in page.text
    texts = _run_page(edge.url, cookie_header(session))
    assert f"Signed in as {EMAIL}" in texts
    assert any(t.startswith("Revenue: ") for t in texts)
    assert session.get(f"{edge.url}/api/v1/forecast?months=3", timeout=10).status_code == 200


def test_a_forged_identity_header_never_reaches_the_app(edge: Edge):
    forged = {"X-Auth-Request-Email": "mallory@evil.example"}
    with pytest.raises(StreamlitError):
        _run_page(edge.url, forged)  # without a session: refused before the app
    session = sign_in(edge.url, "bob@example.com")
    texts = _run_page(edge.url, {**cookie_header(session), **forged})
    assert "Signed in as bob@example.com" in texts
    assert not any("mallory" in t for t in texts)


def test_one_browser_stays_on_one_replica_and_fails_over(edge: Edge):
    session = sign_in(edge.url, "carol@example.com")
    headers = cookie_header(session)
    assert "route=" in headers["Cookie"]
    before = {address: _sessions_seen(r.url) for address, r in edge.replicas.items()}
    for _ in range(4):  # reconnects of one browser
        _run_page(edge.url, headers)
    for _ in range(10):
        assert session.get(f"{edge.url}/", timeout=10).status_code == 200
    grown = {a: _sessions_seen(r.url) - before[a] for a, r in edge.replicas.items()}
    assert sorted(grown.values()) == [0, 4], grown

    pinned = next(a for a, n in grown.items() if n)
    edge.replicas[pinned].process.send_signal(signal.SIGKILL)
    edge.replicas[pinned].process.wait(timeout=10)
    statuses = [session.get(f"{edge.url}/", timeout=10).status_code for _ in range(10)]
    assert statuses == [200] * 10
    assert any(t.startswith("Revenue: ") for t in _run_page(edge.url, headers))
