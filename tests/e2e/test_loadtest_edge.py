"""`make loadtest`'s generator through the real edge: nginx, oauth2-proxy sign-in,
two replicas. Every tab signs in, upgrades /_stcore/stream through nginx with its
cookie, and finishes its reruns of the default scenario (the platform's status
page, its run count going up in each tab), as a user's load test of a deployed
app would. Behaviour only, no timings.
"""

import asyncio
import json

from app.ops import signin
from app.ops.loadtest import errors_by_kind, load
from tests.support.edge import Edge, cookie_header, sign_in
from tests.support.ops import make_loadtest
from tests.support.status import status

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


def test_make_loadtest_signs_in_through_the_dev_provider(nginx_edge: Edge):
    result = make_loadtest(
        nginx_edge.url, "LOADTEST_ARGS=--sign-in load-make@example.com --sessions 3 --reruns 2"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 sessions, 6/6 reruns" in result.stdout
    assert "errors: none" in result.stdout


def test_tabs_share_a_sign_ins_credentials_not_its_replica(nginx_edge: Edge):
    """The replica cookie nginx set when the sign-in landed is one browser's: the load
    tool's tabs leave it out and each get a replica of their own."""
    signed_in = signin.sign_in(nginx_edge.url, "shared@example.com")
    assert signed_in.landing_cookies == {"route"}
    assert set(signed_in.credentials) == set(signed_in.cookies) - {"route"}
    shown = status(nginx_edge.url, signin.cookie_header(signed_in.credentials))
    assert shown.user == "shared@example.com"
