"""`make loadtest`'s generator through the real edge: nginx, oauth2-proxy sign-in,
two replicas. Every tab signs in, upgrades /_stcore/stream through nginx with its
cookie, and finishes its reruns of the default scenario (the platform's status
page, its run count going up in each tab), as a user's load test of a deployed
app would. Behaviour only, no timings.
"""

import asyncio
import json

from app.ops.loadtest import errors_by_kind, load
from tests.support.edge import Edge, cookie_header, sign_in

SESSIONS, RERUNS = 6, 3


def test_signed_in_tabs_run_their_reruns_through_nginx(nginx_edge: Edge):
    cookie = cookie_header(sign_in(nginx_edge.url, "load@example.com"))
    logged_before = len(nginx_edge.nginx_log.read_text().splitlines())  # the edge is shared
    results = asyncio.run(load(nginx_edge.url, SESSIONS, RERUNS, seconds=120, headers=cookie))
    assert errors_by_kind(results) == {}
    assert [len(result.latencies) for result in results] == [RERUNS] * SESSIONS
    assert all(len(set(result.watched)) > 1 for result in results)
    # Each tab's WebSocket went through nginx: one 101 upgrade logged per tab.
    logged = nginx_edge.nginx_log.read_text().splitlines()[logged_before:]
    upgrades = [
        entry for entry in (json.loads(line) for line in logged if line.startswith("{"))
        if entry["path"] == "/_stcore/stream" and entry["status"] == 101
    ]  # fmt: skip
    assert len(upgrades) == SESSIONS


def test_without_the_cookie_the_edge_refuses_the_stream(nginx_edge: Edge):
    results = asyncio.run(load(nginx_edge.url, 2, RERUNS, seconds=30))
    assert errors_by_kind(results) == {"upgrade refused": 2}
