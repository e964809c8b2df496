"""The whole stack from `make up`, as a user reaches it on the published port.

One stack for the file, the tests in file order: the last ones take it down
and up again (the audit trail and its volume), so they come after the rest.
What the app sees is read from the platform's status page, so these hold for
any app on the platform.
"""

from __future__ import annotations

import uuid

import requests

from tests.support import browser, sticky
from tests.support.cluster import wait_for
from tests.support.compose import SECRETS, Stack, smoke, states
from tests.support.edge import cookie_jar, sign_in
from tests.support.image import podman


def test_make_up_brings_every_service_to_healthy(stack: Stack):
    assert states(stack) == {
        "postgres": "healthy",
        "migrate": "exited 0",  # migrated once (no demo data unless DEMO_DATA=true)
        "api": "healthy",
        "dashboard-1": "healthy",
        "dashboard-2": "healthy",
        "valkey": "healthy",
        "oauth2-proxy-config": "exited 0",  # wrote oauth2-proxy's config with the store's password
        "oauth2-proxy": "running 0",  # no probe in its image: nginx's check covers it
        "nginx": "healthy",
        "idp": "healthy",
    }


def test_make_up_states_the_connection_budget_against_the_servers_limit(stack: Stack):
    # Two dashboards and two API workers, 10 connections each; the stand-in
    # PostgreSQL keeps the default max_connections of 100, 3 reserved.
    assert (
        "PostgreSQL connections: at most 40 (4 processes x 10: APP_DB_POOL_SIZE + "
        "APP_DB_MAX_OVERFLOW) of the 97 the server allows (max_connections less reserved): fits"
    ) in stack.up_output


def test_a_healthy_make_up_prints_no_error(stack: Stack):
    # podman logs "level=error" for each health-check timer it cannot start
    # without systemd; a healthy start must not look like a failed one.
    errors = [line for line in stack.up_output.splitlines() if "level=error" in line.lower()]
    assert not errors, errors


def test_make_smoke_passes_through_the_published_port(stack: Stack):
    output = smoke(stack)
    for check in ("dashboard-health", "api-ready", "auth-ready", "sign-in-redirect"):
        assert f"PASS {check}" in output


def signed_in_users(stack: Stack) -> list[str]:
    """Who the audit trail in PostgreSQL says signed in."""
    return stack.sql("SELECT \"user\" FROM audit_events WHERE action = 'sign_in_seen'").split()


def test_a_person_signs_in_reruns_and_the_audit_trail_has_them(stack: Stack, page):
    email = f"pat-{uuid.uuid4().hex[:6]}@example.com"
    browser.sign_in(page, stack.url, email)
    shown = browser.check_again(page)
    assert shown["user"] == email
    assert shown["database"] == "ok (postgresql)"
    assert shown["api"] == "ok"
    wait_for(lambda: email in signed_in_users(stack), f"{email}'s sign-in in the audit trail", 60)


def test_secrets_are_only_files_never_environment_or_logs(stack: Stack):
    values = stack.secret_values()
    assert set(values) == set(SECRETS)
    assert all(values.values())
    for service, name in stack.containers().items():
        environment = "\n".join(
            podman(
                "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", name
            ).stdout.splitlines()
        )
        logs = podman("logs", name, check=False)
        for secret, value in values.items():
            assert value not in environment, f"{secret} in the environment of {service}"
            assert value not in logs.stdout + logs.stderr, f"{secret} in the logs of {service}"


# Inside the compose network: each service's metrics, as a scraper there reads them.
SCRAPED = {
    "http://dashboard-1:9464/metrics": "dashboard_script_runs_total",
    "http://dashboard-2:9464/metrics": "streamlit_active_sessions",
    "http://api:8000/metrics": "api_requests_total",
    "http://oauth2-proxy:44180/metrics": "oauth2_proxy_requests_total",
    "http://127.0.0.1:8081/stub_status": "Active connections",
}


def test_metrics_are_served_inside_the_network_and_not_published(stack: Stack):
    nginx = stack.containers()["nginx"]
    for url, expected in SCRAPED.items():
        body = podman("exec", nginx, "wget", "-q", "-O", "-", url).stdout
        assert expected in body, url
    published = requests.get(f"{stack.url}/_stcore/metrics", timeout=30)
    assert published.status_code == 404


# Established connections to Streamlit's port 8501 (hex 2135) in a replica.
# nginx keeps no idle connection to the dashboards: only a browser's WebSocket stays.
STREAMS = (
    "print(sum(1 for f in ('/proc/net/tcp', '/proc/net/tcp6') for line in open(f).readlines()[1:]"
    " if line.split()[1].endswith(':2135') and line.split()[3] == '01'))"
)


def open_streams(name: str) -> int:
    return int(podman("exec", name, "python3", "-c", STREAMS).stdout)


def test_one_browser_stays_on_one_replica_through_nginx_route_cookie(stack: Stack):
    # Uploads name the session: every one answering 204 means every request of
    # the visit reached the replica holding it (tests/support/sticky.py).
    visit = sticky.visit(stack.url, cookie_jar(sign_in(stack.url, "quinn@example.com")))
    assert "route" in visit.cookies
    assert visit.pinned, visit.upload_statuses


def test_stopping_the_browsers_replica_moves_it_to_the_other(stack: Stack, page):
    browser.sign_in(page, stack.url, "rae@example.com")
    first = browser.check_again(page)
    replicas = {s: n for s, n in stack.containers().items() if s.startswith("dashboard-")}
    streams = {service: open_streams(name) for service, name in replicas.items()}
    assert sorted(streams.values()) == [0, 1], streams  # its WebSocket, on one replica
    holder, other = sorted(replicas, key=streams.get, reverse=True)
    podman("stop", "--time", "10", replicas[holder], timeout=60)
    try:
        # Streamlit's frontend reconnects; nginx skips the stopped replica.
        wait_for(
            lambda: open_streams(replicas[other]) == 1, f"the browser's WebSocket on {other}", 90
        )
        # A new session there (session state stays with the stopped process):
        # the button's run is its first, from the other replica.
        moved = browser.check_again(page)
        assert moved["replica"] != first["replica"]
        assert moved["database"] == "ok (postgresql)"
        assert open_streams(replicas[other]) == 1
    finally:
        podman("start", replicas[holder])
        wait_for(lambda: states(stack)[holder] == "healthy", f"{holder} healthy again", 120)


def test_the_audit_trail_survives_down_and_up_and_down_with_volumes_wipes_it(stack: Stack, page):
    email = f"sam-{uuid.uuid4().hex[:6]}@example.com"
    browser.sign_in(page, stack.url, email)
    wait_for(lambda: email in signed_in_users(stack), f"{email}'s sign-in in the audit trail", 60)

    stack.down()
    assert stack.containers() == {}
    stack.up()
    # In the database the restarted stack runs on (the named volume).
    assert email in signed_in_users(stack)

    stack.down("--volumes")
    volume = f"{stack.project}_postgres-data"
    assert podman("volume", "exists", volume, check=False).returncode == 1, f"{volume} kept"


def test_secret_files_with_a_trailing_newline_still_work(stack: Stack, page):
    """As `echo value > file` writes them, PostgreSQL's password included: on
    a wiped volume it is initialised from the newline-ended file."""
    stack.down("--volumes")
    for name in SECRETS:
        path = stack.checkout / "secrets" / name
        path.write_text(path.read_text() + "\n")
    stack.up()
    assert set(states(stack).values()) == {"healthy", "exited 0", "running 0"}
    smoke(stack)
    assert signed_in_users(stack) == []  # the wiped volume
    browser.sign_in(page, stack.url, "tom@example.com")
    assert browser.status_lines(page)["database"] == "ok (postgresql)"
