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
from collections import Counter
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
    "body over 50 MB, upload": (
        "PUT",
        "/_stcore/upload_file/s/f",
        {"Content-Length": str(60 << 20)},
        413,
        None,
    ),
    "body sent to a dashboard page": ("POST", "/", {"Content-Length": "5"}, 405, None),
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


# --- bodies in flight: per address and in total -------------------------------------

UPLOADS_PER_ADDRESS, UPLOADS_IN_ALL = 8, 64  # nginx.conf, location /_stcore/upload_file/


def _upload_started(address: tuple[str, int], source: str, cookie: str, n: int) -> socket.socket:
    """A signed-in upload whose 100 KB body has sent one byte: held open by nginx."""
    sock = socket.create_connection(address, timeout=30, source_address=(source, 0))
    sock.sendall(
        f"PUT /_stcore/upload_file/s/f{n} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Content-Length: 100000\r\n\r\na".encode()
    )
    return sock


def _answered(sock: socket.socket, seconds: float) -> int | None:
    """The status the server sent on `sock` within `seconds`, or None (still open)."""
    if not select.select([sock], [], [], seconds)[0]:
        return None
    head = sock.recv(65536)
    return int(head.split()[1]) if head.startswith(b"HTTP/") else None


def test_bodies_in_flight_are_bounded_per_address_and_in_all(
    nginx_edge: Edge, bad_input_report: BadInputReport
):
    """Uploads (the one path that takes a body) trickled by signed-in clients: one
    address holds at most 8, everyone together 64; the next is refused at once (429)
    while those stay held. Each would otherwise stay open as long as a byte comes
    every 10 s (client_body_timeout)."""
    from tests.support.edge import cookie_header, sign_in

    cookie = cookie_header(sign_in(nginx_edge.url, "uploads@example.com"))["Cookie"]
    address = urlsplit(nginx_edge.url)
    target = (address.hostname, address.port)
    sources = [f"127.0.0.{n}" for n in range(30, 30 + UPLOADS_IN_ALL // UPLOADS_PER_ADDRESS)]
    held: list[socket.socket] = []
    try:
        for source in sources:
            held += [_upload_started(target, source, cookie, n) for n in range(UPLOADS_PER_ADDRESS)]
        time.sleep(1)  # nginx has read every one's headers
        still_open = sum(_answered(sock, 0) is None for sock in held)
        one_more_here = _upload_started(target, sources[0], cookie, 99)
        one_more_elsewhere = _upload_started(target, "127.0.0.99", cookie, 99)
        per_address, in_all = _answered(one_more_here, 10), _answered(one_more_elsewhere, 10)
        for sock in (one_more_here, one_more_elsewhere):
            sock.close()
    finally:
        for sock in held:
            sock.close()
    bad_input_report.record(
        f"uploads held open, one address: the {UPLOADS_PER_ADDRESS + 1}th", EDGE, [per_address]
    )
    bad_input_report.record(f"uploads held open by all: the {UPLOADS_IN_ALL + 1}th", EDGE, [in_all])
    assert still_open == UPLOADS_IN_ALL
    assert per_address == 429
    assert in_all == 429


def test_a_signed_in_upload_that_stalls_is_dropped_at_the_body_timeout(
    nginx_edge: Edge, bad_input_report: BadInputReport
):
    from tests.support.edge import cookie_header, sign_in

    cookie = cookie_header(sign_in(nginx_edge.url, "stall@example.com"))["Cookie"]
    address = urlsplit(nginx_edge.url)
    limit = _configured("client_body_timeout")
    sock = _upload_started((address.hostname, address.port), "127.0.0.98", cookie, 1)
    started = time.monotonic()
    try:
        answer = _answered(sock, limit + SLACK)
        closed = answer is not None or sock.recv(1) == b""
    finally:
        sock.close()
    took = time.monotonic() - started
    bad_input_report.record("upload body stalled, signed in", EDGE, [answer or "closed"])
    assert closed, f"still open after {took:.0f} s"


# --- the API's links through nginx, fuzzed, signed in -----------------------------------

FUZZ_REQUESTS = 2_000
FUZZ_SEED = 23  # the same requests on every run
# nginx allows one address 20 requests/s, bursts of 200 (nginx.conf): the fuzz
# spreads over loopback addresses of its own (all of 127.0.0.0/8 is this host),
# leaving 127.0.0.1's budget to the other tests.
FUZZ_ADDRESSES = [f"127.0.0.{n}" for n in range(2, 22)]
# Dot segments only where they stay under /api/ (one that climbs out is a dashboard path).
PATH_PIECES = [
    "v1", "forecast", "v1/forecast", "", "/", "//", "/./", "v1/..", "x/%2e%2e", ".", "%2F",
    "%2f", "%00", "%FF", "%C3%A9", "%", "%zz", ";x", "x" * 300, "\xff", "\xc3\xa9", "\x01",
    "\x7f", "\x1b[31m", "\xef\xbb\xbf", "~", "@", "*",
]  # fmt: skip
QUERY_VALUES = [
    "6", "2025-01-01", "North", "", "%", "%zz", "%FF", "%00", "\xff", "\xc3\xa9", "\x01", "'",
    "x" * 4600, "<" * 2000, "%3C" * 900, "1;DROP TABLE orders",
]  # fmt: skip
QUERY_NAMES = ["months", "start", "end", "region", "category", "a", "", "%zz", "\xff"]


def _fuzzed_request(rng, cookie: str) -> bytes:
    """One request for a path nginx routes to the API: a raw request line (bytes no
    browser sends included), sometimes with a pile of headers or one long header."""
    path = rng.choice(["/api/", "//api/", "/api//", "/x/../api/", "/./api/", "/api/./"])
    path += "/".join(rng.choice(PATH_PIECES) for _ in range(rng.randint(0, 4)))
    if rng.random() < 0.7:
        pairs = (
            f"{rng.choice(QUERY_NAMES)}={rng.choice(QUERY_VALUES)}"
            for _ in range(rng.randint(1, 4))
        )
        path += "?" + "&".join(pairs)
    path = path[:7_900]  # under nginx's 8 KB request line: past it, a 414 (tested above)
    headers = ["Host: 127.0.0.1", f"Cookie: {cookie}", "Connection: close"]
    if rng.random() < 0.1:
        headers += [f"X-Many-{i}: {i}" for i in range(rng.choice((101, 500, 2_000)))]
    if rng.random() < 0.1:
        name = rng.choice(("X-Long", "X-Forwarded-For", "User-Agent"))
        headers.append(f"{name}: {'a' * rng.choice((4_000, 8_100))}")
    method = rng.choice(("GET", "GET", "GET", "HEAD"))
    lines = [f"{method} {path} HTTP/1.1", *headers]
    return ("".join(f"{line}\r\n" for line in lines) + "\r\n").encode("latin-1")


def _send(address: tuple[str, int], source: str, request: bytes) -> tuple[int, str]:
    """The status and Content-Type of the answer to one raw request."""
    with socket.create_connection(address, timeout=30, source_address=(source, 0)) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head = answer.partition(b"\r\n\r\n")[0]
    kind = re.search(rb"(?im)^content-type: *([^;\r]+)", head)
    return int(head.split()[1]), kind[1].decode() if kind else ""


def test_fuzzed_api_links_through_nginx_are_json_and_never_a_502(
    nginx_edge: Edge, bad_input_report: BadInputReport
):
    """2,000 requests for /api/ paths through nginx with a session: doubled slashes,
    dot segments, raw bytes, control characters, long queries, piles of headers.
    Every answer must be JSON (the API's, or nginx's own refusal), none a 5xx."""
    import random

    from tests.support.edge import cookie_header, sign_in

    cookie = cookie_header(sign_in(nginx_edge.url, "fuzz@example.com"))["Cookie"]
    rng = random.Random(FUZZ_SEED)
    fuzzed = [_fuzzed_request(rng, cookie) for _ in range(FUZZ_REQUESTS)]
    address = urlsplit(nginx_edge.url)
    target = (address.hostname, address.port)
    with ThreadPoolExecutor(len(FUZZ_ADDRESSES)) as pool:
        answers = list(
            pool.map(
                lambda i: _send(target, FUZZ_ADDRESSES[i % len(FUZZ_ADDRESSES)], fuzzed[i]),
                range(len(fuzzed)),
            )
        )
    codes = [code for code, _ in answers]
    not_json = Counter((code, kind) for code, kind in answers if kind != "application/json")
    bad_input_report.record(
        "fuzz through nginx, signed in: /api/ links (//, dot segments, raw bytes, "
        "long queries, piles of headers)",
        EDGE,
        codes,
        split=False,
    )
    print(f"{len(answers)} answers: {Counter(codes)}; not JSON: {not_json}")
    assert not not_json, not_json
    assert not [code for code in codes if code >= 500], Counter(codes)


# --- where sign-in and sign-out send the browser: rd ---------------------------------

HOPS = 10  # redirects a browser follows here before calling it a loop (Chromium: 20)
RD = {
    "a path of the app": "/_platform",
    "//evil.example": "//evil.example",
    "an absolute URL elsewhere": "https://evil.example/",
    "percent-encoded //": "%2F%2Fevil.example",
    "a backslash": "/%5Cevil.example",
    "a path of 7 KB": "/" + "a" * 7_000,
}


def _follow(
    session: requests.Session, url: str, allowed: set[str]
) -> tuple[list[str], requests.Response]:
    """Follow redirects by hand, at most HOPS: the addresses visited (each must be on
    `allowed` hosts) and the first answer that is not a redirect."""
    visited = []
    for _ in range(HOPS):
        visited.append(url)
        assert urlsplit(url).netloc in allowed, f"left for {url[:120]} after {visited[:-1]}"
        answer = session.get(url, allow_redirects=False, timeout=30)
        if not answer.is_redirect:
            return visited, answer
        url = requests.compat.urljoin(url, answer.headers["Location"])
    raise AssertionError(f"still redirecting after {HOPS} hops: {[v[:100] for v in visited]}")


def _sign_in_form(answer: requests.Response) -> bool:
    return 'name="sub"' in answer.text


@pytest.mark.parametrize("kind", list(RD))
def test_every_rd_of_sign_in_and_sign_out_ends_at_a_page(
    edge: Edge, issuer: str, bad_input_report: BadInputReport, kind: str
):
    """/oauth2/start?rd=...: to the provider's form, then after signing in once to a
    page that is no second form; /oauth2/sign_out?rd=... (signed in): to a page. Never
    a loop (nginx used to send a refused rd back to /oauth2/start or sign_out itself),
    never off this host and the provider's."""
    allowed = {urlsplit(edge.url).netloc, urlsplit(issuer).netloc}
    rd = RD[kind]
    browser = requests.Session()
    hops, form = _follow(browser, f"{edge.url}/oauth2/start?rd={rd}", allowed)
    assert _sign_in_form(form), (form.status_code, form.text[:200])
    back = browser.post(form.url, data={"sub": "rd@example.com"}, allow_redirects=False, timeout=30)
    assert back.is_redirect
    more, landed = _follow(
        browser, requests.compat.urljoin(form.url, back.headers["Location"]), allowed
    )
    assert not _sign_in_form(landed), "signed in, and sent to sign in again"
    out, signed_out = _follow(browser, f"{edge.url}/oauth2/sign_out?rd={rd}", allowed)
    bad_input_report.record(
        f"rd: {kind} ({edge.shape})",
        f"{edge.shape} edge",
        [f"start {len(hops) + len(more)} hops to {landed.status_code}",
         f"sign_out {len(out)} hops to {signed_out.status_code}"],
    )  # fmt: skip
    assert landed.status_code < 500
    assert signed_out.status_code < 500
