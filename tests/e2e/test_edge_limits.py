"""The edge's limits, through the real nginx and oauth2-proxy: long links, the proxy's own
refusals (JSON on API paths, a page elsewhere) and slow clients.

Outcomes go to docs/reliability.md's bad-input table (tests/support/reliability.py).
Timings are only ever checked against the configured value plus a large slack
(the machine may be loaded), never tightly.
"""

from __future__ import annotations

import re
import select
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from tests.support.edge import Edge
from tests.support.reliability import BadInputReport
from tests.support.tools import ROOT

NGINX_CONF = (ROOT / "nginx/nginx.conf").read_text()
SLACK = 30  # seconds on top of a configured timeout before a test calls it "never closed"
EDGE = "nginx edge"


def _configured(directive: str) -> int:
    """A size or time set in nginx.conf, in bytes or seconds (8k -> 8192, 10s -> 10)."""
    value = re.search(rf"^\s*{directive}\s+(?:\d+\s+)?(\d+)([ks]?);", NGINX_CONF, re.M)
    assert value, f"nginx.conf sets no {directive}"
    return int(value[1]) * (1024 if value[2] == "k" else 1)


def _link(length: int, path: str = "/") -> str:
    """A link of about `length` characters with many parameters (every one must survive)."""
    parameters, size = [], len(path) + 1
    while size < length:
        parameters.append(f"p{len(parameters)}={'v' * 90}")
        size += len(parameters[-1]) + 1
    return f"{path}?{'&'.join(parameters)}"


# --- long links -------------------------------------------------------------------------


def test_a_6_kb_link_signs_in_and_comes_back_whole(edge: Edge, bad_input_report: BadInputReport):
    """A signed-out user following a 6 KB link gets the sign-in page, not a 502, and after
    signing in lands on exactly that link, every parameter included."""
    link = _link(6 * 1024)
    refused = requests.get(f"{edge.url}{link}", allow_redirects=False, timeout=30)
    bad_input_report.record(
        f"link of 6 KB, signed out ({edge.shape})", f"{edge.shape} edge", [refused.status_code]
    )
    assert refused.status_code == 302, refused.text[:300]
    location = urlsplit(refused.headers["Location"])
    assert location.path == "/oauth2/authorize"
    assert unquote(parse_qs(location.query)["state"][0].split(":", 1)[1]) == link

    session = requests.Session()
    form = session.get(f"{edge.url}{link}", timeout=30)
    assert "<form" in form.text, form.text[:300]
    landed = session.post(form.url, data={"sub": "long@example.com"}, timeout=30)
    assert landed.status_code == 200, landed.text[:300]
    assert landed.url == f"{edge.url}{link}"


def test_a_link_beyond_the_bound_is_a_414_never_a_502(
    nginx_edge: Edge, bad_input_report: BadInputReport
):
    """Past large_client_header_buffers nginx answers 414 itself: a short page on the
    dashboard, JSON naming the problem on the API."""
    bound = _configured("large_client_header_buffers")
    page = requests.get(f"{nginx_edge.url}{_link(bound + 1024)}", timeout=30)
    api = requests.get(f"{nginx_edge.url}{_link(bound + 1024, API)}", timeout=30)
    bad_input_report.record("link over 8 KB, dashboard", EDGE, [page.status_code])
    bad_input_report.record("link over 8 KB, API", EDGE, [api.status_code])
    assert page.status_code == 414
    assert page.headers["Content-Type"].startswith("text/html")
    assert "request line too long" in page.text
    assert api.status_code == 414
    assert api.json() == {"error": "request line too long", "status": 414}


# --- the proxy's own refusals -------------------------------------------------------------

API = "/api/any/route"  # nginx refuses before any route of the app's is asked
REFUSALS = {
    # class: (method, path, extra headers, status, JSON error or None for the HTML page)
    "method other than GET, API": ("POST", API, {}, 405, "method not allowed"),
    "TRACE, API": ("TRACE", API, {}, 405, "method not allowed"),
    "body sent to the API": ("GET", API, {"Content-Length": "5"}, 413, "request body too large"),
    "body over 50 MB, dashboard": ("PUT", "/", {"Content-Length": str(60 << 20)}, 413, None),
    "TRACE, dashboard": ("TRACE", "/", {}, 405, None),
}


def _raw(address: tuple[str, int], method: str, path: str, headers: dict[str, str]) -> bytes:
    """One request written by hand (announcing a body it never sends), the answer read whole."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_the_proxy_refuses_in_json_on_the_api_and_with_a_page_elsewhere(
    nginx_edge: Edge, bad_input_report: BadInputReport, kind: str
):
    method, path, headers, status, error = REFUSALS[kind]
    address = urlsplit(nginx_edge.url)
    answer = _raw((address.hostname, address.port), method, path, headers)
    head, _, body = answer.partition(b"\r\n\r\n")
    code = int(head.split()[1])
    bad_input_report.record(kind, EDGE, [code])
    assert code == status, answer[:300]
    content_type = re.search(rb"(?im)^content-type: *([^;\r]+)", head)[1].decode()
    if error:
        assert content_type == "application/json"
        assert body.decode().strip() == f'{{"error": "{error}", "status": {status}}}'
    else:
        assert content_type == "text/html"


# --- slow clients -------------------------------------------------------------------------


def _trickle(address: tuple[str, int], head: bytes, limit: float) -> tuple[bool, bytes]:
    """Send `head`, then one byte a second until the server drops the connection (a
    send fails) or `limit` seconds pass. Returns (dropped, what the server answered)."""
    answer = b""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(head)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                if select.select([sock], [], [], 1.0)[0]:
                    answer += sock.recv(65536)  # b"" once the server stops writing
                sock.send(b"a")
            except OSError:  # reset or broken pipe: the server closed it
                return True, answer
    return False, answer


def _status(answer: bytes) -> int | str:
    return int(answer.split()[1]) if answer.startswith(b"HTTP/") else "closed without an answer"


SLOW = {
    # class: (what is sent before the trickle, the nginx setting that must end it)
    "header trickled at 1 byte/s": (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
        "client_header_timeout",
    ),
    "body trickled at 1 byte/s, health path": (
        b"POST /api/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n",
        "lingering_time",
    ),
    "body trickled at 1 byte/s, API": (
        b"GET /api/any/route HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n",
        "lingering_time",
    ),
    "body trickled at 1 byte/s, signed out": (
        b"PUT /_stcore/upload_file/s/f HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Length: 100000\r\n\r\n",
        "lingering_time",
    ),
}


def test_slow_clients_are_dropped_within_the_configured_time(
    nginx_edge: Edge, bad_input_report: BadInputReport
):
    """A header or body trickled in at 1 byte/s: the server closes the connection within
    the nginx setting that bounds it, plus SLACK seconds (the bound, not a timing)."""
    address = urlsplit(nginx_edge.url)
    with ThreadPoolExecutor(len(SLOW)) as pool:
        futures = {
            kind: pool.submit(
                _trickle, (address.hostname, address.port), head, _configured(setting) + SLACK
            )
            for kind, (head, setting) in SLOW.items()
        }
        outcomes = {kind: future.result() for kind, future in futures.items()}
    for kind, (dropped, answer) in outcomes.items():
        bad_input_report.record(kind, EDGE, [_status(answer) if dropped else "still open"])
    assert {kind: dropped for kind, (dropped, _) in outcomes.items()} == dict.fromkeys(SLOW, True)
