"""The production-like profile on the local cluster: Traefik Ingress with its
sticky cookie, sign-in through the oauth2-proxy sidecar (pinned version, secret
files), secrets in a Secret created as the chart README says, three dashboard
replicas. `make deploy` runs `helm test` and the smoke checks through the
ingress as its gates; then a person's path in Chromium."""

from __future__ import annotations

import base64
import json
import uuid

import requests

from tests.support import browser, sticky
from tests.support.cluster import SITE_DASHBOARD as DASHBOARD
from tests.support.cluster import SITE_NAMESPACE as NAMESPACE
from tests.support.cluster import SITE_RELEASE as RELEASE
from tests.support.cluster import SITE_SECRET as SECRET
from tests.support.cluster import access_log, make_deploy, wait_for
from tests.support.edge import cookie_jar, sign_in


def pod_names(cluster) -> dict[str, str]:
    """Dashboard pod name by the address Traefik forwards to (pod IP:port)."""
    return {
        f"http://{pod['status']['podIP']}:4180": pod["metadata"]["name"]
        for pod in cluster.pods(NAMESPACE, DASHBOARD)
    }


def serving_pod(cluster, url: str, cookies: dict[str, str]) -> str | None:
    """The dashboard pod these cookies lead to: one marked request, and the
    backend Traefik logged for it."""
    marker = uuid.uuid4().hex
    response = requests.get(
        f"{url}/_stcore/health?probe={marker}", headers=sticky.cookie_header(cookies), timeout=10
    )
    response.raise_for_status()
    found: list[str] = []

    def logged() -> bool:
        found[:] = [e["ServiceURL"] for e in access_log(cluster) if marker in e["RequestPath"]]
        return bool(found)

    wait_for(logged, f"Traefik's access log entry for probe {marker}", timeout=30)
    return pod_names(cluster).get(found[-1])


def _answers(url: str, cookies: dict[str, str]) -> bool:
    try:
        response = requests.get(
            f"{url}/_stcore/health", headers=sticky.cookie_header(cookies), timeout=10
        )
    except requests.RequestException:
        return False
    return response.status_code == 200


def test_make_deploy_gates_on_helm_test_and_the_smoke_checks_through_the_ingress(site):
    output = site["result"].stdout
    for check in ("dashboard-health", "auth-alive", "auth-ready", "sign-in-redirect"):
        assert f"PASS {check}" in output
    assert output.count("OK: 0 of the checks failed") == 2  # helm test, then from outside


def test_a_signed_in_user_keeps_one_replica_through_traefiks_cookie(cluster, site):
    session = sign_in(site["url"], "dora@example.com")
    visit = sticky.visit(site["url"], cookie_jar(session))
    assert "streamlit-route" in visit.cookies
    assert visit.pinned, visit.upload_statuses


def test_killing_the_replica_moves_the_browser_to_another(cluster, site):
    session = sign_in(site["url"], "erin@example.com")
    first = sticky.visit(site["url"], cookie_jar(session))
    assert first.pinned
    holder = serving_pod(cluster, site["url"], first.cookies)
    cluster.kubectl("delete", "pod", holder, "--namespace", NAMESPACE, "--wait=true")
    # The browser reconnects with its old cookie, retrying as Streamlit's
    # frontend does until Traefik has dropped the dead replica; Traefik then
    # picks a live one and sets a new cookie, which pins the new session there.
    wait_for(lambda: _answers(site["url"], first.cookies), "Traefik routing past the dead replica")
    second = sticky.visit(site["url"], first.cookies)
    assert second.pinned, second.upload_statuses
    assert second.cookies["streamlit-route"] != first.cookies["streamlit-route"]
    assert serving_pod(cluster, site["url"], second.cookies) not in (holder, None)


def test_a_person_in_chromium_stays_on_one_replica_through_sign_in_and_reruns(cluster, site, page):
    """Every request this browser made (page, sign-in callback, WebSocket)
    reached one replica: Traefik logged one backend for its User-Agent."""
    browser.sign_in(page, site["url"], "gil@example.com")
    first = browser.status_lines(page)
    again = browser.check_again(page)
    assert again["replica"] == first["replica"]
    assert again["database"] == "ok (postgresql)"
    browser.screenshot(page, "cluster-status.png")
    agent = page.evaluate("navigator.userAgent")
    page.goto("about:blank")  # Traefik logs the WebSocket when it closes
    entries: list[dict] = []

    def stream_logged() -> bool:
        entries[:] = [e for e in access_log(cluster) if e.get("request_User-Agent") == agent]
        return any(e["RequestPath"] == "/_stcore/stream" for e in entries)

    wait_for(stream_logged, "Traefik's access log entry for the browser's WebSocket", 30)
    backends = {e["ServiceURL"] for e in entries}
    assert len(backends) == 1, backends


def _dashboard_pod_uids(cluster) -> set[str]:
    return {pod["metadata"]["uid"] for pod in cluster.pods(NAMESPACE, DASHBOARD)}


def test_a_rotated_secret_rolls_the_pods_at_the_next_deploy(cluster, cluster_app_image, site):
    """With secrets.existingSecret, make deploy passes the Secret's checksum."""
    before = _dashboard_pod_uids(cluster)
    again = make_deploy(cluster, cluster_app_image, site["values"], RELEASE, NAMESPACE)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _dashboard_pod_uids(cluster) == before
    rotated = base64.b64encode(b"a-rotated-streamlit-cookie-secret").decode()
    cluster.kubectl(
        "patch", "secret", SECRET, "--namespace", NAMESPACE, "--patch",
        json.dumps({"data": {"STREAMLIT_SERVER_COOKIE_SECRET": rotated}}),
    )  # fmt: skip
    result = make_deploy(cluster, cluster_app_image, site["values"], RELEASE, NAMESPACE)
    assert result.returncode == 0, result.stdout + result.stderr
    after = _dashboard_pod_uids(cluster)
    assert len(after) == 3
    assert not after & before
