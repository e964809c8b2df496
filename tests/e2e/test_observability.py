"""Metrics and logs, read as an operator's tools read them, while real traffic goes
through the nginx edge: every counter moves by exactly what the test sent, the
request id nginx generates shows up in the services' logs, every service log
line is JSON, and (last of the whole e2e run) no log holds a secret or a
session cookie."""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from tests.support import servers
from tests.support.edge import (
    CLIENT_SECRET,
    COOKIE_SECRET,
    ISSUED_COOKIES,
    STORE_PASSWORD,
    Edge,
    cookie_header,
    sign_in,
)
from tests.support.metrics import names, scrape, total, value
from tests.support.status import status_session
from tests.support.tools import wait_until

REQUESTS = 7  # requests each counting test sends
SESSIONS = 3  # browserless dashboard sessions
UNKNOWN = "/api/no-such-route"  # the API answers 404, counted as the route "unmatched"
# nginx's error log lines ("2026/01/01 00:00:00 [warn] ..."), in the same file as its access log.
NGINX_ERROR_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[")


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def _wait_for(what: str, found, deadline_s: float = 20):
    """`found()` once truthy: nginx and gunicorn log a request after answering it."""
    return wait_until(found, what, deadline_s)


def _live(edge: Edge) -> list[servers.Server]:
    """The dashboard replicas still running (the failover test kills one)."""
    return [r for r in edge.replicas.values() if r.process.poll() is None]


@pytest.fixture(scope="module")
def signed_in(nginx_edge: Edge) -> requests.Session:
    return sign_in(nginx_edge.url, "ops@example.com")


def _unknown(edge: Edge, session: requests.Session) -> requests.Response:
    """A request the API answers 404 (the platform's own JSON): only these tests send it."""
    response = session.get(f"{edge.url}{UNKNOWN}", timeout=30)
    assert response.status_code == 404, response.text
    return response


# --- the API -------------------------------------------------------------------


def test_api_counts_every_request_by_route_and_status(nginx_edge: Edge, signed_in):
    api, proxy = nginx_edge.api.metrics_url, nginx_edge.proxy_metrics_url
    before, proxy_before = scrape(api), scrape(proxy)
    for _ in range(REQUESTS):
        _unknown(nginx_edge, signed_in)
        assert requests.get(f"{nginx_edge.url}/api/healthz", timeout=30).status_code == 200
    ready = requests.get(f"{nginx_edge.url}/api/readyz", timeout=30)
    after, proxy_after = scrape(api), scrape(proxy)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    bad = {"route": "unmatched", "method": "GET", "status": "404"}
    assert delta("api_requests_total", **bad) == REQUESTS
    assert delta("api_request_duration_seconds_count", **bad) == REQUESTS
    assert delta("api_request_duration_seconds_bucket", le="+Inf", **bad) == REQUESTS
    assert delta("api_requests_total", route="/healthz", status="200") == REQUESTS
    assert delta("api_requests_total", route="/readyz", status=str(ready.status_code)) == 1
    assert value(after, "api_database_ready") == (1 if ready.status_code == 200 else 0)
    assert delta("api_errors_total") == 0
    # Two workers (gunicorn.conf.py's default), five pooled connections each.
    assert value(after, "db_pool_size") == 10
    assert value(after, "db_pool_max_connections") == 20
    assert ("db_pool_checked_out_connections", frozenset()) in after
    # Each signed-in request asked oauth2-proxy once (auth_request): 202, signed in.
    proxy_202 = value(proxy_after, "oauth2_proxy_requests_total", code="202") - value(
        proxy_before, "oauth2_proxy_requests_total", code="202"
    )
    assert proxy_202 == REQUESTS


def test_an_unknown_route_is_counted_without_its_path(nginx_edge: Edge, signed_in):
    """Label values stay bounded: any unknown path is the route "unmatched"."""
    before = scrape(nginx_edge.api.metrics_url)
    for i in range(REQUESTS):
        response = signed_in.get(f"{nginx_edge.url}/api/no-such-{i}", timeout=30)
        assert response.status_code == 404
    after = scrape(nginx_edge.api.metrics_url)
    labels = {"route": "unmatched", "status": "404"}
    assert (
        value(after, "api_requests_total", **labels) - value(before, "api_requests_total", **labels)
        == REQUESTS
    )
    assert not any("no-such" in str(key) for key in after)


def test_gunicorn_workers_are_summed(sqlite_env: dict, tmp_path: Path):
    """prometheus_client's multiprocess mode: each worker writes its own samples; one
    scrape of any worker adds them up. Requests go on until two workers have served
    some (bounded), then every worker's own count and the scrape's sum are compared."""
    metrics_dir = tmp_path / "metrics"
    env = {**sqlite_env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "GUNICORN_WORKERS": "2"}
    with servers.api(env, tmp_path / "api.log") as api:
        sent, per_worker = 0, {}
        bad = f"{api.url}{UNKNOWN}"
        with ThreadPoolExecutor(8) as pool:
            for _ in range(20):
                statuses = pool.map(lambda _: requests.get(bad, timeout=30).status_code, range(16))
                assert set(statuses) == {404}
                sent += 16
                per_worker = _count_per_worker(metrics_dir)
                if sum(1 for count in per_worker.values() if count) >= 2:
                    break
        scraped = value(scrape(api.metrics_url), "api_requests_total", status="404")
    assert sum(1 for count in per_worker.values() if count) >= 2, per_worker
    assert sum(per_worker.values()) == sent
    assert scraped == sent


def _count_per_worker(metrics_dir: Path) -> dict[str, float]:
    """api_requests_total{status="404"} in each worker's own sample file."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        registry = CollectorRegistry()
        single = metrics_dir.parent / f"single-{path.stem}"
        single.mkdir(exist_ok=True)
        (single / path.name).write_bytes(path.read_bytes())
        MultiProcessCollector(registry, path=str(single))
        counts[path.stem] = sum(
            s.value
            for family in registry.collect()
            for s in family.samples
            if s.name == "api_requests_total" and s.labels.get("status") == "404"
        )
    return counts


# --- the dashboards -------------------------------------------------------------


async def _drive_sessions(url: str, headers: dict[str, str], metrics_urls: list[str]) -> tuple:
    """SESSIONS sessions on the platform's status page, each: the page, then its button
    twice. Returns (script runs, active sessions seen)."""
    runs, active = 0, []
    for _ in range(SESSIONS):
        async with status_session(url, headers, timeout=120) as session:
            await session.run()
            active.append(total([scrape(u) for u in metrics_urls], "streamlit_active_sessions"))
            await session.set("Check again", True)
            await session.set("Check again", True)
            runs += 3
    return runs, active


def test_dashboard_metrics_move_with_sessions(nginx_edge: Edge, signed_in):
    dashboards = [r.metrics_url for r in _live(nginx_edge)]
    before = [scrape(u) for u in dashboards]
    api_before = scrape(nginx_edge.api.metrics_url)
    runs, active = asyncio.run(
        _drive_sessions(nginx_edge.url, cookie_header(signed_in), dashboards)
    )
    after = [scrape(u) for u in dashboards]
    api_after = scrape(nginx_edge.api.metrics_url)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("dashboard_script_runs_total", outcome="success") == runs
    assert delta("dashboard_script_runs_total") == runs
    assert delta("dashboard_script_run_duration_seconds_count") == runs
    assert delta("streamlit_session_events_total", type="connect") == SESSIONS
    assert all(seen >= 1 for seen in active), active
    # Streamlit's own cache counters: every run asks for the replica's engine (a
    # cache_resource); a replica makes it once (a miss), its first session does.
    engine = {"cache": "app.dashboard.session.engine"}
    assert delta("streamlit_cache_lookups_total", **engine) >= runs
    assert delta("streamlit_cache_lookups_total", result="miss", **engine) <= len(dashboards)
    # Every run asks the API's /readyz once, which the API counts as a 200.
    assert delta("dashboard_api_calls_total", outcome="ok") == runs
    assert delta("dashboard_api_calls_total") == runs
    assert delta("dashboard_api_call_duration_seconds_count") == runs
    ready = {"route": "/readyz", "status": "200"}
    assert (
        value(api_after, "api_requests_total", **ready)
        - value(api_before, "api_requests_total", **ready)
        == runs
    )
    # A replica's engine (and pool) is made by its first session: 5 connections.
    assert {value(scraped, "db_pool_size") for scraped in after} <= {0, 5}
    assert total(after, "db_pool_size") >= 5
    assert all(("db_pool_checked_out_connections", frozenset()) in s for s in after)


def test_metrics_are_not_served_by_the_edge(nginx_edge: Edge, signed_in):
    response = signed_in.get(f"{nginx_edge.url}/_stcore/metrics", timeout=30)
    assert response.status_code == 404
    assert "session_events" not in response.text
    # The API's /metrics is not under /api/, the only prefix the edge sends it.
    response = signed_in.get(f"{nginx_edge.url}/api/metrics", timeout=30)
    assert response.status_code == 404
    assert "api_requests_total" not in response.text


# --- the edge ---------------------------------------------------------------------


def _stub_status(url: str) -> int:
    """Requests nginx has handled, from its stub_status page."""
    text = requests.get(url, timeout=10).text
    return int(re.search(r"^\s*(\d+) (\d+) (\d+)\s*$", text, re.M).group(3))


def test_nginx_counts_requests_in_stub_status(nginx_edge: Edge):
    before = _stub_status(nginx_edge.stub_status_url)
    for _ in range(REQUESTS):
        assert requests.get(f"{nginx_edge.url}/healthz", timeout=30).status_code == 200
    # The second stub_status request counts itself.
    assert _stub_status(nginx_edge.stub_status_url) - before == REQUESTS + 1


def test_stub_status_is_not_on_the_public_port(nginx_edge: Edge):
    response = requests.get(f"{nginx_edge.url}/stub_status", allow_redirects=False, timeout=30)
    assert "Active connections" not in response.text


def test_oauth2_proxy_counts_sign_in_redirects(edge: Edge):
    """Without a session every page goes to sign-in: oauth2-proxy counts each answer."""
    before = scrape(edge.proxy_metrics_url)
    for _ in range(REQUESTS):
        response = requests.get(f"{edge.url}/", allow_redirects=False, timeout=30)
        assert response.status_code == 302
    after = scrape(edge.proxy_metrics_url)
    # nginx: the auth subrequest's 401, then /oauth2/start's 302; the sidecar: one 302.
    codes = {"401", "302"} if edge.shape == "nginx" else {"302"}
    for code in codes:
        moved = value(after, "oauth2_proxy_requests_total", code=code) - value(
            before, "oauth2_proxy_requests_total", code=code
        )
        assert moved == REQUESTS, code


# --- logs ---------------------------------------------------------------------------


def test_the_request_id_nginx_generates_is_in_the_api_log(nginx_edge: Edge, signed_in):
    for _ in range(3):
        _unknown(nginx_edge, signed_in)

    def nginx_ids() -> list[str]:
        return [
            line["request_id"]
            for line in _json_lines(nginx_edge.nginx_log)
            if line["path"] == UNKNOWN and line["status"] == 404
        ]

    ids = _wait_for("nginx access log lines", lambda: len(nginx_ids()) >= 3 and nginx_ids())
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids

    def api_ids() -> set[str]:
        return {
            line.get("request_id")
            for line in _json_lines(nginx_edge.api.log)
            if line.get("path") == UNKNOWN and line.get("status") == 404
        }

    _wait_for("the API's access log lines for nginx's ids", lambda: set(ids) <= api_ids())


def test_each_dashboard_session_logs_the_request_id_of_its_websocket(nginx_edge: Edge, signed_in):
    async def one_session() -> None:
        async with status_session(nginx_edge.url, cookie_header(signed_in), timeout=120) as s:
            await s.run()

    asyncio.run(one_session())

    def websocket_ids() -> set[str]:
        return {
            line["request_id"]
            for line in _json_lines(nginx_edge.nginx_log)
            if line["path"] == "/_stcore/stream"
        }

    def session_ids() -> set[str]:
        return {
            line.get("request_id")
            for replica in nginx_edge.replicas.values()
            for line in _json_lines(replica.log)
            if line.get("message") == "session started"
        }

    # Every session opened through the edge logged its WebSocket's id (nginx logs
    # the upgrade when the socket closes).
    ids = _wait_for("nginx's WebSocket lines", websocket_ids)
    assert ids <= session_ids() | {None}
    assert ids & session_ids()


def test_every_service_log_line_is_one_json_object(nginx_edge: Edge):
    logs = {"api": nginx_edge.api.log} | {
        f"dashboard {address}": replica.log for address, replica in nginx_edge.replicas.items()
    }
    for service, path in logs.items():
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        assert lines, service
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                pytest.fail(f"{service}: not a JSON line: {line[:300]}")
            assert {"time", "level", "logger", "message"} <= entry.keys(), (service, line)
    access = [
        line
        for line in nginx_edge.nginx_log.read_text().splitlines()
        if line.strip() and not NGINX_ERROR_LINE.match(line)
    ]
    assert access
    for line in access:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"nginx: not a JSON access log line: {line[:300]}")
        assert {"time", "request_id", "path", "status"} <= entry.keys()


def test_no_secret_or_session_cookie_in_any_log(nginx_edge: Edge, sidecar_edge: Edge):
    """Runs last in the e2e layer (conftest): every log of the run, every secret the
    edges were given and every session cookie a sign-in got."""
    assert ISSUED_COOKIES, "no sign-in happened in this run"
    secrets = {CLIENT_SECRET, COOKIE_SECRET, STORE_PASSWORD}
    for cookie in ISSUED_COOKIES:
        secrets.add(cookie)
        # oauth2-proxy's cookie is value|timestamp|signature: each long part alone too.
        secrets.update(part for part in cookie.split("|") if len(part) >= 16)
    logs = [nginx_edge.nginx_log, nginx_edge.proxy_log, sidecar_edge.proxy_log]
    logs += [nginx_edge.proxy_log.parent / "session-store.log"]
    logs += [nginx_edge.api.log]
    logs += [r.log for edge in (nginx_edge, sidecar_edge) for r in edge.replicas.values()]
    for path in logs:
        text = path.read_text(errors="replace")
        assert text, path
        for secret in secrets:
            assert secret not in text, f"{path.name} holds a secret or a session cookie"


# --- what the operator's tools query -------------------------------------------------


@pytest.fixture(scope="module")
def exported(nginx_edge: Edge, signed_in) -> set[str]:
    """Every sample name the services, the dashboards and oauth2-proxy exported after
    real traffic: a page run, an API call, a sign-in redirect."""
    asyncio.run(_drive_sessions(nginx_edge.url, cookie_header(signed_in), []))
    requests.get(f"{nginx_edge.url}/", allow_redirects=False, timeout=30)
    urls = [nginx_edge.api.metrics_url, nginx_edge.proxy_metrics_url]
    urls += [r.metrics_url for r in _live(nginx_edge)]
    return set().union(*(names(scrape(u)) for u in urls))


def test_every_dashboard_and_alert_query_names_an_exported_metric(exported: set[str]):
    from tests.support.monitoring import alert_queries, dashboard_queries, metric_names

    queries = dashboard_queries() + alert_queries()
    assert len(queries) >= 10
    for query in queries:
        used = metric_names(query)
        assert used, query
        assert used <= exported, (query, used - exported)
