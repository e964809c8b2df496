"""The production-like profiles on the local cluster, behind Traefik both ways
in: as Ingress controller (its sticky cookie on the Service) and as Gateway
API implementation (an HTTPRoute on its Gateway, the standard-channel CRDs,
its sticky cookie through a TraefikService). Each edge: sign-in through the
oauth2-proxy sidecar (pinned version, secret files), secrets in a Secret
created as the chart README says, three dashboard replicas. `make deploy`
runs `helm test` and the smoke checks through the edge as its gates; then a
person's path in Chromium, uploads, and one browser kept on one replica."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import requests

from tests.support import browser, sticky
from tests.support.cluster import SITE_DASHBOARD as DASHBOARD
from tests.support.cluster import SITE_RELEASE as RELEASE
from tests.support.cluster import SITE_SECRET as SECRET
from tests.support.cluster import access_log, helm_test_passed, make_deploy, wait_for
from tests.support.edge import cookie_jar, sign_in


def pod_names(cluster, namespace: str) -> dict[str, str]:
    """Dashboard pod name by the address Traefik forwards to (pod IP:port)."""
    return {
        f"http://{pod['status']['podIP']}:4180": pod["metadata"]["name"]
        for pod in cluster.pods(namespace, DASHBOARD)
    }


def serving_pod(cluster, site: dict, cookies: dict[str, str]) -> str | None:
    """The dashboard pod these cookies lead to: one marked request, and the
    backend Traefik logged for it."""
    marker = uuid.uuid4().hex
    response = requests.get(
        f"{site['url']}/_stcore/health?probe={marker}",
        headers=sticky.cookie_header(cookies),
        timeout=10,
    )
    response.raise_for_status()
    found: list[str] = []

    def logged() -> bool:
        found[:] = [e["ServiceURL"] for e in access_log(cluster) if marker in e["RequestPath"]]
        return bool(found)

    wait_for(logged, f"Traefik's access log entry for probe {marker}", timeout=30)
    return pod_names(cluster, site["namespace"]).get(found[-1])


def _answers(url: str, cookies: dict[str, str]) -> bool:
    try:
        response = requests.get(
            f"{url}/_stcore/health", headers=sticky.cookie_header(cookies), timeout=10
        )
    except requests.RequestException:
        return False
    return response.status_code == 200


def test_make_deploy_gates_on_helm_test_and_the_smoke_checks_through_the_edge(site):
    output = site["result"].stdout
    # helm test: the smoke pod succeeded (and is gone: its report is not shown).
    assert helm_test_passed(output), output
    # Then the smoke checks from outside, through the edge.
    for check in ("dashboard-health", "auth-alive", "auth-ready", "sign-in-redirect"):
        assert f"PASS {check}" in output
    assert "OK: 0 of the checks failed" in output


def test_a_signed_in_user_keeps_one_replica_through_traefiks_cookie(cluster, site):
    """Reruns over one WebSocket, then uploads, each on a new connection, all
    answered by the session's replica."""
    session = sign_in(site["url"], "dora@example.com")
    visit = sticky.visit(site["url"], cookie_jar(session))
    assert "streamlit-route" in visit.cookies
    assert visit.pinned, visit.upload_statuses


def test_killing_the_replica_moves_the_browser_to_another(cluster, site):
    session = sign_in(site["url"], "erin@example.com")
    first = sticky.visit(site["url"], cookie_jar(session))
    assert first.pinned
    holder = serving_pod(cluster, site, first.cookies)
    cluster.kubectl("delete", "pod", holder, "--namespace", site["namespace"], "--wait=true")
    # The browser reconnects with its old cookie, retrying as Streamlit's
    # frontend does until Traefik has dropped the dead replica; Traefik then
    # picks a live one and sets a new cookie, which pins the new session there.
    wait_for(lambda: _answers(site["url"], first.cookies), "Traefik routing past the dead replica")
    second = sticky.visit(site["url"], first.cookies)
    assert second.pinned, second.upload_statuses
    assert second.cookies["streamlit-route"] != first.cookies["streamlit-route"]
    assert serving_pod(cluster, site, second.cookies) not in (holder, None)


def test_a_person_in_chromium_stays_on_one_replica_through_sign_in_reruns_and_reloads(
    cluster, site, page
):
    """Every request this browser made (page, sign-in callback, WebSockets of
    each reload) reached one replica: the status page names it every time, and
    Traefik logged one backend for its User-Agent."""
    browser.sign_in(page, site["url"], "gil@example.com")
    first = browser.status_lines(page)
    again = browser.check_again(page)
    assert again["replica"] == first["replica"]
    assert again["database"] == "ok (postgresql)"
    reloads = 3
    for _ in range(reloads):
        assert browser.reload(page)["replica"] == first["replica"]
    browser.screenshot(page, f"cluster-status-{site['edge']}.png")
    agent = page.evaluate("navigator.userAgent")
    page.goto("about:blank")  # Traefik logs a WebSocket when it closes
    entries: list[dict] = []

    def streams_logged() -> bool:
        entries[:] = [e for e in access_log(cluster) if e.get("request_User-Agent") == agent]
        streams = [e for e in entries if e["RequestPath"] == "/_stcore/stream"]
        return len(streams) >= 1 + reloads  # the signed-in page's, then each reload's

    wait_for(streams_logged, "Traefik's access log entries for the browser's WebSockets", 30)
    backends = {e["ServiceURL"] for e in entries}
    assert len(backends) == 1, backends


def _dashboard_pod_uids(cluster, namespace: str) -> set[str]:
    return {pod["metadata"]["uid"] for pod in cluster.pods(namespace, DASHBOARD)}


# Nothing of the edge in it: once is enough.
@pytest.mark.parametrize("site", ["ingress"], indirect=True)
def test_a_rotated_secret_rolls_the_pods_at_the_next_deploy(cluster, cluster_app_image, site):
    """With secrets.existingSecret, make deploy passes the Secret's checksum."""
    namespace = site["namespace"]
    before = _dashboard_pod_uids(cluster, namespace)
    again = make_deploy(cluster, cluster_app_image, site["values"], RELEASE, namespace)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _dashboard_pod_uids(cluster, namespace) == before
    rotated = base64.b64encode(b"a-rotated-streamlit-cookie-secret").decode()
    cluster.kubectl(
        "patch", "secret", SECRET, "--namespace", namespace, "--patch",
        json.dumps({"data": {"STREAMLIT_SERVER_COOKIE_SECRET": rotated}}),
    )  # fmt: skip
    result = make_deploy(cluster, cluster_app_image, site["values"], RELEASE, namespace)
    assert result.returncode == 0, result.stdout + result.stderr
    after = _dashboard_pod_uids(cluster, namespace)
    assert len(after) == 3
    assert not after & before
