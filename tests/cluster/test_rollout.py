"""Rollouts and pod deletions drop no request. Under load through Traefik
(signed-in browserless tabs on the status page, each reconnecting as a
browser does when its socket closes, and a poller of the health check), a
changed setting rolls every dashboard and API pod, then one dashboard pod is
deleted. Every health check must be answered, every rerun too, and every
tab cut by a stopping pod must get the page back from another; Traefik's
access log may show no 5xx, a tab's reconnect that follows its sticky cookie
to the stopping pod included.

What makes it hold is the chart's preStop pause (shutdownDelaySeconds): a
stopping pod keeps serving while Traefik and kube-proxy drop it. Without the
pause Streamlit exits within a fraction of a second of SIGTERM, seconds
before Traefik stops routing to it: 502s and 504s."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import requests

from app.ops import signin
from app.ops.stream_client import STATUS_PAGE, Session, StreamlitError, parse_cookie_header
from tests.support.cluster import (
    SITE_DASHBOARD,
    SITE_RELEASE,
    access_log,
    make_deploy,
    write_values,
)
from tests.support.status import parse
from tests.support.tools import wait_until

TABS = 6
THINK_SECONDS = 0.5  # each tab's wait between reruns: uniform in [0, this]
POLL_SECONDS = 0.1  # the health poller's wait between requests
# Bounds of the load itself, far beyond what the test needs: it stops the load.
LOAD_SECONDS = 1200
CONNECTS_PER_TAB = 200
RUNS_PER_TAB = 5000
POLLS = 10000
# A run, a page load or a handshake that takes longer has failed.
REQUEST_SECONDS = 60


@dataclass
class Tab:
    """One browserless tab: its cookies (sign-in, then Traefik's sticky one) and what it saw."""

    number: int
    cookies: dict[str, str]
    runs: int = 0
    cuts: int = 0  # sockets closed under it: its pod stopped
    replica: str = ""  # the pod of its last answer
    last_answer: float = 0.0  # time.monotonic() of its last answered run
    back_after: list[float] = field(default_factory=list)  # seconds from a cut to the next answer
    failures: list[str] = field(default_factory=list)
    # 502s and 504s to a reconnect that followed its old sticky cookie (the known gap below).
    sticky_failures: list[str] = field(default_factory=list)


class Load:
    """TABS tabs and a health poller against `url`, in a thread each, until stop()."""

    def __init__(self, url: str, credentials: dict[str, str]):
        self.url = url
        self.tabs = [Tab(n, dict(credentials)) for n in range(TABS)]
        self.polls: Counter[str] = Counter()  # health checks by outcome
        self.api: Counter[str] = Counter()  # the status page's API line, by value
        self._stop = threading.Event()
        self._deadline = time.monotonic() + LOAD_SECONDS
        self._threads = [
            threading.Thread(target=lambda: asyncio.run(self._run_tabs()), daemon=True),
            threading.Thread(target=self._poll_health, daemon=True),
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_SECONDS + 10)

    def _stopping(self) -> bool:
        return self._stop.is_set() or time.monotonic() > self._deadline

    async def _run_tabs(self) -> None:
        await asyncio.gather(*(self._tab(tab, random.Random(tab.number)) for tab in self.tabs))

    async def _tab(self, tab: Tab, rng: random.Random) -> None:
        """Open the status page, rerun it until the socket closes, then open it
        again: a browser reconnects, with its cookies, to whatever Traefik picks."""
        cut_at: float | None = None
        for _ in range(CONNECTS_PER_TAB):
            if self._stopping() or tab.runs >= RUNS_PER_TAB:
                return
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in tab.cookies.items())}
            try:
                async with Session(
                    self.url, headers, timeout=REQUEST_SECONDS, page=STATUS_PAGE, load_page=True
                ) as session:
                    tab.cookies = parse_cookie_header(session.headers)
                    while not self._stopping() and tab.runs < RUNS_PER_TAB:
                        status = parse(await session.rerun())
                        tab.runs += 1
                        # The API's own answer may be slow on a busy machine
                        # (its /readyz gives up on the database after 2 s):
                        # counted, but only an API nothing answered at is a
                        # request the rollout dropped.
                        self.api[status.lines.get("api", "-")] += 1
                        dropped = "unreachable" in status.lines.get("api", "")
                        if status.database_ok and "replica" in status.lines and not dropped:
                            tab.last_answer = time.monotonic()
                            tab.replica = status.replica.split()[0]  # "<pod> pid <n>"
                            if cut_at is not None:
                                tab.back_after.append(tab.last_answer - cut_at)
                                cut_at = None
                        else:
                            tab.failures.append(f"status page: {status.lines}")
                        await asyncio.sleep(rng.uniform(0, THINK_SECONDS))
            except StreamlitError as error:
                cut_at = cut_at or time.monotonic()
                if error.kind == "socket closed":
                    tab.cuts += 1  # its pod stopped: expected in a rollout, then back
                elif tab.cuts and error.message.startswith(("HTTP 502", "HTTP 504")):
                    tab.sticky_failures.append(f"{error.kind}: {error.message}")
                    await asyncio.sleep(1)  # as the browser waits before trying again
                else:
                    tab.failures.append(f"{error.kind}: {error.message}")
                    await asyncio.sleep(1)  # as the browser waits before trying again
            except Exception as error:  # anything else: this tab's failure, not the thread's end
                cut_at = cut_at or time.monotonic()
                tab.failures.append(repr(error))
                await asyncio.sleep(1)

    def _poll_health(self) -> None:
        """The health check without cookies: each request to any pod Traefik routes to."""
        for _ in range(POLLS):
            if self._stopping():
                return
            try:
                response = requests.get(f"{self.url}/_stcore/health", timeout=REQUEST_SECONDS)
                self.polls[f"HTTP {response.status_code}"] += 1
            except requests.RequestException as error:
                self.polls[type(error).__name__] += 1
            time.sleep(POLL_SECONDS)

    def answered_since(self, moment: float) -> bool:
        return all(tab.last_answer > moment for tab in self.tabs)

    def report(self) -> str:
        backs = [seconds for tab in self.tabs for seconds in tab.back_after]
        lines = [
            f"health checks: {dict(self.polls)}",
            f"tabs: {sum(t.runs for t in self.tabs)} runs, {sum(t.cuts for t in self.tabs)} "
            f"sockets cut, back after at most {max(backs, default=0):.1f} s, "
            f"{sum(len(t.sticky_failures) for t in self.tabs)} reconnects refused (502, 504)",
            f"the status page's API line: {dict(self.api)}",
        ]
        lines += [f"tab {t.number}: {failure}" for t in self.tabs for failure in t.failures[:5]]
        return "\n".join(lines)


def _pod_uids(cluster, namespace: str) -> set[str]:
    """Every dashboard and API pod of the release, terminating ones included."""
    selector = (
        f"app.kubernetes.io/instance={SITE_RELEASE},app.kubernetes.io/component in (dashboard,api)"
    )
    pods = cluster.json("get", "pods", "--namespace", namespace, "--selector", selector)
    return {pod["metadata"]["uid"] for pod in pods["items"]}


@contextlib.contextmanager
def _timed(what: str, times: dict[str, float]) -> Iterator[None]:
    started = time.monotonic()
    yield
    times[what] = time.monotonic() - started


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("site", ["ingress"], indirect=True)  # the edge is not what rolls
def test_a_rollout_and_a_pod_deletion_under_load_fail_no_request(cluster, cluster_app_image, site):
    url, namespace = site["url"], site["namespace"]
    credentials = signin.sign_in(url, "rollout@example.com").credentials
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    times: dict[str, float] = {}
    with Load(url, credentials) as load:
        wait_until(lambda: load.answered_since(0), "every tab's first answer", timeout=180)

        # A rollout: a changed setting restarts every dashboard and API pod.
        before = _pod_uids(cluster, namespace)
        changed = write_values(
            site["tmp"] / "rollout.yaml",
            {"appSettings": {"APP_CACHE_TTL": str(uuid.uuid4().int % 600 + 60)}},
        )
        with _timed("rollout", times):
            result = make_deploy(
                cluster, cluster_app_image, [*site["values"], changed], SITE_RELEASE, namespace
            )
            assert result.returncode == 0, result.stdout + result.stderr
            # Until the old pods are gone (their pause and shutdown done).
            gone = "the old pods gone"
            wait_until(lambda: not _pod_uids(cluster, namespace) & before, gone, timeout=300)
        rolled = time.monotonic()
        wait_until(lambda: load.answered_since(rolled), "every tab answered after the rollout", 180)

        # A pod deletion: the one the first tab is on.
        holder = load.tabs[0].replica
        with _timed("deletion", times):
            cluster.kubectl(
                "delete", "pod", holder, "--namespace", namespace, "--wait=true", timeout=300
            )
        deleted = time.monotonic()
        wait_until(
            lambda: len(cluster.pods(namespace, SITE_DASHBOARD)) == 3, "a new third pod", 180
        )
        wait_until(
            lambda: load.answered_since(deleted), "every tab answered after the deletion", 180
        )
    entries = access_log(cluster, since)
    failed = Counter(
        f"{e.get('DownstreamStatus')} {e.get('RequestPath', '')[:40]}"
        for e in entries
        if e.get("DownstreamStatus", 0) >= 500
    )
    report = (
        f"{load.report()}\nrollout {times['rollout']:.0f} s, deletion {times['deletion']:.0f} s;"
        f" Traefik logged {len(entries)} requests, 5xx: {dict(failed) or 'none'}"
    )
    print(report)
    assert set(load.polls) == {"HTTP 200"}, report
    assert not [f for tab in load.tabs for f in tab.failures], report
    # Every tab was on a pod the rollout replaced: each was cut, and came back.
    assert all(tab.cuts for tab in load.tabs), report
    # Not even a tab's reconnect with its sticky cookie: Traefik keeps sending
    # those to a stopping pod while it is ready ("fenced",
    # pkg/provider/kubernetes/ingress/kubernetes.go), so the chart's pause
    # makes the dashboard not ready first (helm/.../_lifecycle.tpl).
    assert not failed, report
    assert not [f for tab in load.tabs for f in tab.sticky_failures], report
