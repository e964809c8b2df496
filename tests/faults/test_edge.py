"""Parts of the edge killed for real, on an nginx edge of this module's own.

nginx with our config, the real oauth2-proxy, the test OpenID provider, two
dashboard replicas and the API (tests/support/edge.py). The tests run in this
file's order and each leaves its part broken: a replica killed, then the
identity provider stopped, then the API killed, then oauth2-proxy killed.
A signed-in user is signed in before anything breaks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

import pytest
import requests

from app.ops.stream_client import StreamlitError
from tests.support.edge import (
    Edge,
    cookie_header,
    nginx_binary,
    oauth2_proxy_binary,
    serve_issuer,
    serve_nginx_edge,
    sign_in,
)
from tests.support.reliability import seconds
from tests.support.status import Status, status

# Health paths nginx answers without a session, and what each reports on.
HEALTH = ("/healthz", "/_stcore/health")
FAILOVER_BOUND = 10.0  # seconds: nginx moves the browser at its next request


class Broken:
    """The module's edge and the means to stop its provider; a user signed in beforehand."""

    def __init__(self, edge: Edge, stop_issuer: contextlib.ExitStack):
        self.edge, self.stop_issuer = edge, stop_issuer
        self.user = sign_in(edge.url, "faults-edge@example.com")
        self.headers = cookie_header(self.user)


@pytest.fixture(scope="module")
def broken(sqlite_env: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broken]:
    nginx, proxy = nginx_binary(), oauth2_proxy_binary()
    with contextlib.ExitStack() as issuer_stack:
        issuer = issuer_stack.enter_context(serve_issuer())
        tmp = tmp_path_factory.mktemp("faults-edge")
        with serve_nginx_edge(sqlite_env, nginx, proxy, issuer, tmp) as edge:
            yield Broken(edge, issuer_stack)


def test_a_killed_replica_moves_its_browser(broken: Broken, reliability: dict):
    edge = broken.edge
    # The replica this browser is on, as the platform's status page names it.
    pinned = _replica(edge, status(edge.url, broken.headers))
    edge.replicas[pinned].process.send_signal(signal.SIGKILL)
    edge.replicas[pinned].process.wait(timeout=10)
    killed = time.monotonic()
    statuses, works = [], None
    while time.monotonic() - killed < FAILOVER_BOUND and works is None:
        statuses.append(broken.user.get(f"{edge.url}/", timeout=10).status_code)
        with contextlib.suppress(StreamlitError):
            if status(edge.url, broken.headers).database_ok:
                works = time.monotonic() - killed
    took = FAILOVER_BOUND if works is None else works
    reliability["dashboard replica killed (SIGKILL) behind nginx"] = [
        f"the signed-in browser's page worked again {seconds(took)} after; pages answered "
        f"{'/'.join(map(str, sorted(set(statuses))))}; with the same sign-in cookie",
        f"page works again < {FAILOVER_BOUND:g} s, no sign-in again",
        "met" if works is not None and set(statuses) == {200} else "MISSED",
    ]
    assert works is not None, statuses
    assert set(statuses) == {200}


def _replica(edge: Edge, shown: Status) -> str:
    """The address of the replica whose process served `shown`."""
    pid = int(shown.replica.rsplit(" ", 1)[1])
    (address,) = [a for a, r in edge.replicas.items() if r.process.pid == pid]
    return address


def _hops(url: str, limit: int = 5) -> tuple[list[int], str | None]:
    """Follow a new visitor's redirects by hand: the statuses, and the address that
    refused a connection (None if every hop answered)."""
    statuses = []
    for _ in range(limit):
        try:
            response = requests.get(url, allow_redirects=False, timeout=10)
        except requests.ConnectionError:
            return statuses, url
        statuses.append(response.status_code)
        if not response.is_redirect:
            break
        url = requests.compat.urljoin(url, response.headers["Location"])
    return statuses, None


def test_identity_provider_down_keeps_signed_in_users(broken: Broken, reliability: dict):
    edge = broken.edge
    broken.stop_issuer.close()  # the provider's server thread stops
    works = status(edge.url, broken.headers).database_ok
    statuses, refused_at = _hops(f"{edge.url}/")
    to_provider = refused_at is not None and not refused_at.startswith(edge.url)
    reliability["identity provider down"] = [
        f"signed-in user's page {'works' if works else 'FAILS'}; a new visitor gets "
        f"{'/'.join(map(str, statuses))} from the edge, then the provider's sign-in address "
        f"{'refuses the connection' if to_provider else 'answers'} (the browser's own error page)",
        "signed-in users keep working; new sign-ins are sent to the provider, nothing else",
        "met" if works and to_provider and set(statuses) == {302} else "MISSED",
    ]
    assert works
    assert to_provider, (statuses, refused_at)
    assert set(statuses) == {302}


def test_api_down_is_named_on_the_page_without_addresses(broken: Broken, reliability: dict):
    edge = broken.edge
    os.killpg(edge.api.process.pid, signal.SIGKILL)  # gunicorn's workers with it
    edge.api.process.wait(timeout=10)
    started = time.monotonic()
    shown = status(edge.url, broken.headers)
    took = time.monotonic() - started
    leaked = [t for t in shown.run.texts if "127.0.0.1" in t or edge.api.url in t]
    works = shown.database_ok and not shown.run.exceptions
    reliability["API killed (SIGKILL, all gunicorn processes)"] = [
        f"page run {seconds(took)}: api {shown.lines.get('api')!r}, database "
        f"{'ok' if shown.database_ok else 'FAILS'}; internal addresses shown: {len(leaked)}",
        "the page works on the database and names the API unavailable, without its address",
        "met"
        if works and shown.lines.get("api") == "unavailable (unreachable)" and not leaked
        else "MISSED",
    ]
    assert works, shown.run.texts
    assert shown.lines["api"] == "unavailable (unreachable)"
    assert not leaked


def test_oauth2_proxy_down_fails_closed(broken: Broken, reliability: dict):
    edge = broken.edge
    edge.proxy.send_signal(signal.SIGKILL)
    edge.proxy.wait(timeout=10)
    protected = broken.user.get(f"{edge.url}/", allow_redirects=False, timeout=10).status_code
    try:
        status(edge.url, broken.headers)
        stream = "opened"
    except StreamlitError as error:
        stream = error.kind
    health = {path: requests.get(f"{edge.url}{path}", timeout=10).status_code for path in HEALTH}
    closed = protected >= 500 and stream == "upgrade refused"
    reliability["oauth2-proxy killed (SIGKILL)"] = [
        f"a signed-in page: HTTP {protected}; its WebSocket: {stream}; "
        + ", ".join(f"{path} {code}" for path, code in health.items()),
        "fail closed (no page, no stream); nginx and dashboard health still 200",
        "met" if closed and set(health.values()) == {200} else "MISSED",
    ]
    assert protected >= 500, protected
    assert stream == "upgrade refused"
    assert set(health.values()) == {200}, health
