"""Requests through the real edge: the contract both shapes keep (health open, sign-in
for everything else, the signed-in user's e-mail and name, forged identities and
unsigned WebSockets refused), then what only nginx or only the sidecar has.

What the app sees is read from the platform's status page (tests/support/status.py),
so these hold for any app on the platform."""

from __future__ import annotations

import ipaddress
import re
import shutil
import signal
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from app.ops.stream_client import StreamlitError
from tests.support import servers
from tests.support.edge import NAMED_USER, Edge, cookie_header, cookie_jar, render_nginx, sign_in
from tests.support.status import status
from tests.support.tools import ROOT, free_port, require_tool

FORGED = {"X-Forwarded-Email": "mallory@evil.example", "X-Forwarded-Preferred-Username": "mallory"}


def _sessions_seen(replica_url: str) -> int:
    """Sessions a replica has held, from its own /_stcore/metrics (asked directly)."""
    metrics = requests.get(f"{replica_url}/_stcore/metrics", timeout=10).text
    found = re.findall(r'^session_events_total\{type="connect"\} (\d+)', metrics, re.M)
    return int(found[0]) if found else 0


# --- the contract, in both shapes ----------------------------------------------


@pytest.mark.parametrize("path", ["/_stcore/health", "/oauth2/ping", "/oauth2/ready"])
def test_health_paths_answer_without_a_session(edge: Edge, path: str):
    response = requests.get(f"{edge.url}{path}", allow_redirects=False, timeout=10)
    assert response.status_code == 200, (path, response.status_code)


@pytest.mark.parametrize(
    "path", ["/", "/_stcore/host-config", "/_stcore/health/x", "/a?x=1", "/a?x=1&y=%2F2"]
)
def test_unauthenticated_requests_go_to_sign_in(edge: Edge, path: str):
    """No session: to the provider's sign-in, with a state that brings the browser
    back to `path` (nginx hands its 401 to oauth2-proxy's /oauth2/start)."""
    response = requests.get(f"{edge.url}{path}", allow_redirects=False, timeout=10)
    assert response.status_code == 302, (path, response.status_code)
    location = urlsplit(response.headers["Location"])
    assert location.path == "/oauth2/authorize"
    # The state is "nonce:path", the path URL-encoded.
    assert unquote(parse_qs(location.query)["state"][0].split(":", 1)[1]) == path


def test_an_unauthenticated_websocket_is_refused(edge: Edge):
    with pytest.raises(StreamlitError) as refused:
        status(edge.url, {})
    assert refused.value.kind == "upgrade refused"


def test_the_signed_in_user_reaches_streamlit_with_email_and_name(edge: Edge):
    email, name = NAMED_USER
    session = sign_in(edge.url, email)
    page = session.get(f"{edge.url}/", timeout=10)
    assert page.status_code == 200
    assert "<title>" in page.text
    shown = status(edge.url, cookie_header(session))
    assert (shown.user, shown.name) == (email, name)
    assert shown.database_ok, shown.lines


@pytest.mark.parametrize(
    ("email", "name"),
    [
        NAMED_USER,
        # The provider states no preferred_username: the forged one must not fill the gap.
        ("bob@example.com", "-"),
    ],
)
def test_a_forged_identity_never_reaches_the_app(edge: Edge, email: str, name: str):
    with pytest.raises(StreamlitError):
        status(edge.url, FORGED)  # without a session: refused before the app
    session = sign_in(edge.url, email)
    shown = status(edge.url, {**cookie_header(session), **FORGED})
    assert (shown.user, shown.name) == (email, name)
    assert not any("mallory" in t for t in shown.run.texts)


# --- nginx only: its config, the API, security headers, stickiness ----------------


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


def test_gixy_finds_nothing(tmp_path):
    """In the edge as compose runs it, and with the production profile's HTTPS
    servers (nginx/https/, included from where that profile mounts it)."""
    gixy = require_tool("gixy", "make .venv-scan/.scan, then put .venv-scan/bin on PATH")
    config = tmp_path / "nginx/nginx.conf"
    shutil.copytree(ROOT / "nginx", config.parent)
    text = config.read_text()
    assert "include /etc/nginx/https/*.conf;" in text
    with_https = tmp_path / "nginx/with-https.conf"
    with_https.write_text(text.replace("/etc/nginx/https/", f"{config.parent}/https/"))
    for checked in (config, with_https):
        result = subprocess.run([gixy, str(checked)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ["/healthz", "/api/healthz", "/api/readyz"])
def test_nginx_and_api_health_answer_without_a_session(nginx_edge: Edge, path: str):
    response = requests.get(f"{nginx_edge.url}{path}", allow_redirects=False, timeout=10)
    assert response.status_code == 200, (path, response.status_code)


def test_the_api_needs_sign_in_and_answers_once_signed_in(nginx_edge: Edge):
    """Any path under /api/ but its health paths: the platform's own JSON 404 once signed in."""
    path = f"{nginx_edge.url}/api/no-such-route"
    assert requests.get(path, allow_redirects=False, timeout=10).status_code == 302
    session = sign_in(nginx_edge.url, "ann@example.com")
    answer = session.get(path, timeout=10)
    assert (answer.status_code, answer.json()) == (404, {"error": "not found"})


def test_security_headers_and_no_version(nginx_edge: Edge):
    response = requests.get(f"{nginx_edge.url}/", allow_redirects=False, timeout=10)
    assert response.headers["Server"] == "nginx"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def _csp(response: requests.Response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


def test_every_answer_carries_the_security_headers(nginx_edge: Edge, bad_input_report):
    """The page, the API's JSON, nginx's own JSON refusal and the sign-in redirect: a
    Content-Security-Policy under which no inline script but Streamlit's own runs,
    Permissions-Policy, COOP; API JSON is never cached; no HSTS over plain HTTP."""
    session = sign_in(nginx_edge.url, "headers@example.com")
    answers = {
        "page": session.get(f"{nginx_edge.url}/", timeout=10),
        "API": session.get(f"{nginx_edge.url}/api/no-such-route", timeout=10),
        "refusal": session.post(f"{nginx_edge.url}/api/healthz", timeout=10),
        "sign-in": requests.get(f"{nginx_edge.url}/", allow_redirects=False, timeout=10),
    }
    for what, answer in answers.items():
        csp = _csp(answer)
        assert csp["default-src"] == ["'self'"], what
        assert csp["object-src"] == ["'none'"], what
        assert csp["frame-ancestors"] == ["'self'"], what
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(csp["script-src"]), what
        assert "camera=()" in answer.headers["Permissions-Policy"], what
        assert answer.headers["Cross-Origin-Opener-Policy"] == "same-origin", what
        assert "Strict-Transport-Security" not in answer.headers, what
    for what in ("API", "refusal"):
        assert answers[what].headers["Content-Type"] == "application/json", what
        assert answers[what].headers["Cache-Control"] == "no-store", what
    bad_input_report.record(
        "security headers: a page, API JSON, a JSON refusal, the sign-in redirect",
        "nginx edge",
        ["CSP, Permissions-Policy, COOP on all; no-store on JSON; no HSTS over HTTP"],
    )


def test_the_csp_lets_streamlits_own_inline_script_run_by_its_hash():
    """Streamlit's index.html has inline scripts: each one's hash is in script-src (a
    Streamlit upgrade that changes them fails here, not in a user's browser)."""
    import base64
    import hashlib

    import streamlit

    html = (Path(streamlit.__file__).parent / "static/index.html").read_text()
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)
    assert inline
    headers = (ROOT / "nginx/snippets/security-headers.conf").read_text()
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in headers, script


def test_over_tls_nginx_sends_hsts_and_marks_every_cookie_secure(
    nginx_bin: str, nginx_edge: Edge, tmp_path, bad_input_report
):
    """The same config with a TLS listener added (as a TLS server block would have):
    HSTS on its answers, and the replica's "route" and Streamlit's XSRF cookie Secure.
    (oauth2-proxy marks its own cookie: cookie_secure in oauth2-proxy.cfg.)"""
    openssl = require_tool("openssl", "apt-get install openssl")
    key, cert = tmp_path / "tls.key", tmp_path / "tls.crt"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )  # fmt: skip
    upstreams = (nginx_edge.nginx_log.parent / "nginx/upstreams.conf").read_text()
    plain, tls = free_port(), free_port()
    config = render_nginx(tmp_path / "nginx", plain, upstreams)
    text = config.read_text().replace(
        f"listen 127.0.0.1:{plain};",
        f"listen 127.0.0.1:{plain};\n        listen 127.0.0.1:{tls} ssl;\n"
        f"        ssl_certificate {cert};\n        ssl_certificate_key {key};",
        1,
    )
    config.write_text(text)
    argv = [nginx_bin, "-p", str(tmp_path), "-c", str(config), "-e", "stderr", "-g", "daemon off;"]
    session = sign_in(nginx_edge.url, "tls@example.com")
    cookie = "; ".join(f"{k}={v}" for k, v in cookie_jar(session).items() if k != "route")

    def cookies(base: str, verify: bool | str = True) -> tuple[requests.Response, list[str]]:
        """The page (nginx sets "route") and the health path (Streamlit sets its XSRF
        cookie there) at `base`: the page's answer, and every cookie both set."""
        page = requests.get(f"{base}/", headers={"Cookie": cookie}, verify=verify, timeout=10)
        health = requests.get(f"{base}/_stcore/health", verify=verify, timeout=10)
        assert page.status_code == health.status_code == 200
        return page, [*page.raw.headers.getlist("Set-Cookie"), *health.raw.headers.getlist(
            "Set-Cookie")]  # fmt: skip

    with servers.running(argv, tmp_path / "nginx.log", f"http://127.0.0.1:{plain}/healthz"):
        over_tls, tls_cookies = cookies(f"https://127.0.0.1:{tls}", str(cert))
        over_http, http_cookies = cookies(f"http://127.0.0.1:{plain}")
    assert over_tls.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert "Strict-Transport-Security" not in over_http.headers
    assert {c.split("=")[0] for c in tls_cookies} == {"route", "_streamlit_xsrf"}, tls_cookies
    assert all("; Secure" in c for c in tls_cookies), tls_cookies
    assert not any("Secure" in c for c in http_cookies), http_cookies
    bad_input_report.record(
        "HSTS and Secure cookies, nginx terminating TLS",
        "nginx edge (a TLS listener added)",
        ["HSTS and Secure route, _streamlit_xsrf over TLS; neither over HTTP"],
    )


def test_one_browser_stays_on_one_replica_and_fails_over(nginx_edge: Edge):
    session = sign_in(nginx_edge.url, "carol@example.com")
    headers = cookie_header(session)
    assert "route=" in headers["Cookie"]
    before = {address: _sessions_seen(r.url) for address, r in nginx_edge.replicas.items()}
    replicas = {status(nginx_edge.url, headers).replica for _ in range(4)}  # reconnects
    assert len(replicas) == 1, replicas
    for _ in range(10):
        assert session.get(f"{nginx_edge.url}/", timeout=10).status_code == 200
    grown = {a: _sessions_seen(r.url) - before[a] for a, r in nginx_edge.replicas.items()}
    assert sorted(grown.values()) == [0, 4], grown

    pinned = next(a for a, n in grown.items() if n)
    nginx_edge.replicas[pinned].process.send_signal(signal.SIGKILL)
    nginx_edge.replicas[pinned].process.wait(timeout=10)
    statuses = [session.get(f"{nginx_edge.url}/", timeout=10).status_code for _ in range(10)]
    assert statuses == [200] * 10
    moved = status(nginx_edge.url, headers)
    assert moved.database_ok
    assert moved.replica not in replicas


# --- the sidecar only ---------------------------------------------------------------


def _listening(port: int) -> set[str]:
    """The local addresses that listen on TCP `port`, from the kernel's own tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)  # 32-bit words in host (little-endian) order
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(str(ipaddress.ip_address(words)))
    return found


def test_streamlit_listens_on_loopback_only(sidecar_edge: Edge):
    """The rendered --server.address wins over the image's 0.0.0.0: only oauth2-proxy,
    in the same pod, can reach Streamlit."""
    ((address, _),) = sidecar_edge.replicas.items()
    assert _listening(int(address.rsplit(":", 1)[1])) == {"127.0.0.1"}
