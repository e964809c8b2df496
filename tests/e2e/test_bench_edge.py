"""The benchmark's load generator through the real edge: nginx, oauth2-proxy sign-in, two replicas.

The sweep (make bench-full) loads one dashboard directly, to measure the
process; this proves the same generator drives the deployed path: every tab
signs in, upgrades /_stcore/stream through nginx with its cookie, and finishes
its reruns with Revenue following the filters. Behaviour only, no timings.
"""

import asyncio

from bench.load import errors_by_kind, load
from tests.support.edge import Edge, cookie_header, sign_in

SESSIONS, RERUNS = 6, 3


def test_signed_in_tabs_run_their_reruns_through_nginx(nginx_edge: Edge):
    cookie = cookie_header(sign_in(nginx_edge.url, "bench@example.com"))
    logged_before = len(nginx_edge.nginx_log.read_text().splitlines())  # the edge is shared
    results = asyncio.run(load(nginx_edge.url, SESSIONS, RERUNS, seconds=120, headers=cookie))
    assert errors_by_kind(results) == {}
    assert [len(result.latencies) for result in results] == [RERUNS] * SESSIONS
    assert all(len(set(result.revenues)) > 1 for result in results)
    # Each tab's WebSocket went through nginx: one 101 upgrade logged per tab.
    upgrades = [
        line for line in nginx_edge.nginx_log.read_text().splitlines()[logged_before:]
        if "/_stcore/stream" in line and '" 101 ' in line
    ]  # fmt: skip
    assert len(upgrades) == SESSIONS


def test_without_the_cookie_the_edge_refuses_the_stream(nginx_edge: Edge):
    results = asyncio.run(load(nginx_edge.url, 2, RERUNS, seconds=30))
    assert errors_by_kind(results) == {"upgrade refused": 2}
