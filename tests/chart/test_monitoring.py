"""The chart's monitoring objects and the alert rules: off by default; the PodMonitor
and PrometheusRule strictly valid for prometheus-operator's own CRD schemas and
pointing at ports the pods declare; the rules and the Grafana dashboard the
one copy in monitoring/; the rules checked and unit-tested by Prometheus's own
promtool. (Whether every query names a metric the services export is checked
against a live scrape: tests/e2e/test_observability.py.)"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.chart import PROFILES, by_kind, crd_errors, named
from tests.support.monitoring import ALERT_TESTS, ALERTS, DASHBOARD
from tests.support.tools import ROOT, TOOLS_BIN, require_tool

MONITORING_KINDS = ("PodMonitor", "PrometheusRule")
PROMTOOL_HINT = "scripts/install-test-deps.sh --monitoring-tools (promtool built with Go)"


def _monitoring_objects(objects: list[dict]) -> list[dict]:
    grafana = [
        o
        for o in by_kind(objects, "ConfigMap")
        if o["metadata"]["name"].endswith("-grafana-dashboard")
    ]
    return [o for kind in MONITORING_KINDS for o in by_kind(objects, kind)] + grafana


@pytest.mark.parametrize("profile", [p for p in PROFILES if p != "monitoring"])
def test_monitoring_objects_are_off_by_default(render, profile: str):
    assert _monitoring_objects(render(profile)) == []


def test_the_monitoring_profile_renders_all_three(render):
    kinds = sorted(o["kind"] for o in _monitoring_objects(render("monitoring")))
    assert kinds == ["ConfigMap", "PodMonitor", "PrometheusRule"]


CRD_SCHEMAS = [("PodMonitor", "podmonitor-v1.json"), ("PrometheusRule", "prometheusrule-v1.json")]


@pytest.mark.parametrize(("kind", "schema"), CRD_SCHEMAS)
@pytest.mark.parametrize("auth", [True, False])
def test_monitoring_objects_fit_the_prometheus_operator_crds(render, kind, schema, auth):
    obj = named(render("monitoring", {"oauth2Proxy": {"enabled": auth}}), kind, "")
    assert crd_errors(obj, schema) == []


def test_the_crd_schema_check_catches_a_misspelled_field(render):
    monitor = named(render("monitoring"), "PodMonitor", "")
    monitor["spec"]["podMetricsEndpoints"][0]["intervall"] = "30s"
    assert any("intervall" in error for error in crd_errors(monitor, "podmonitor-v1.json"))


@pytest.mark.parametrize("auth", [True, False])
def test_the_pod_monitor_scrapes_ports_the_pods_declare(render, auth: bool):
    objects = render("monitoring", {"oauth2Proxy": {"enabled": auth}})
    monitor = named(objects, "PodMonitor", "")["spec"]
    selected = {}
    for deployment in by_kind(objects, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        expression = monitor["selector"]["matchExpressions"][0]
        if monitor["selector"]["matchLabels"].items() <= labels.items() and (
            labels.get(expression["key"]) in expression["values"]
        ):
            selected[labels[monitor["jobLabel"]]] = deployment
    assert set(selected) == {"dashboard", "api"}
    declared = {
        port["name"]
        for deployment in selected.values()
        for container in deployment["spec"]["template"]["spec"]["containers"]
        for port in container.get("ports", [])
    }
    wanted = {"metrics", "http"} | ({"proxy-metrics"} if auth else set())
    assert {e["port"] for e in monitor["podMetricsEndpoints"]} == wanted
    assert wanted <= declared


def test_metrics_ports_match_what_the_processes_listen_on(render):
    """The dashboard's APP_METRICS_PORT is its metrics port; oauth2-proxy's metrics
    port is the metrics_address of its config file."""
    objects = render("monitoring")
    spec = named(objects, "Deployment", "-dashboard")["spec"]["template"]["spec"]
    dashboard, proxy = spec["containers"]
    env = {e["name"]: e.get("value") for e in dashboard["env"]}
    ports = {p["name"]: p["containerPort"] for c in (dashboard, proxy) for p in c["ports"]}
    assert int(env["APP_METRICS_PORT"]) == ports["metrics"]
    config = (ROOT / "oauth2-proxy/oauth2-proxy.cfg").read_text()
    address = re.search(r'^metrics_address = "[^"]*:(\d+)"', config, re.M)
    assert int(address.group(1)) == ports["proxy-metrics"]


def test_prometheus_can_reach_the_metrics_ports_only_when_it_scrapes(render):
    def scrape_rules(values: dict) -> list[dict]:
        policies = by_kind(render("monitoring", values), "NetworkPolicy")
        return [
            rule
            for policy in policies
            for rule in policy["spec"].get("ingress", [])
            if any(
                peer.get("namespaceSelector", {})
                .get("matchLabels", {})
                .get("kubernetes.io/metadata.name")
                == "monitoring"
                for peer in rule["from"]
            )
        ]

    ports = {p["port"] for rule in scrape_rules({}) for p in rule["ports"]}
    assert ports == {9464, 44180, 8000}
    assert scrape_rules({"metrics": {"podMonitor": {"enabled": False}}}) == []


def test_rules_and_dashboard_are_the_one_copy_in_monitoring(render):
    objects = render("monitoring")
    rule = named(objects, "PrometheusRule", "")
    assert rule["spec"] == yaml.safe_load(ALERTS.read_text())
    board = named(objects, "ConfigMap", "-grafana-dashboard")
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert board["metadata"]["annotations"] == {"grafana_folder": "Apps"}
    (dashboard,) = board["data"].values()
    ours = json.loads(DASHBOARD.read_text())
    # The release's own uid and title (below); the rest as it is.
    assert {**json.loads(dashboard), "uid": None, "title": None} == {
        **ours,
        "uid": None,
        "title": None,
    }


def test_every_alert_keeps_releases_in_other_namespaces_apart(render):
    """Each release's pods carry the same jobs (dashboard, api: the PodMonitor's
    jobLabel); every aggregation keeps the namespace too, so one release's healthy
    pods never dilute another's alert."""
    rule = named(render("monitoring"), "PrometheusRule", "")
    rules = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    assert len(rules) == 6
    for r in rules:
        clauses = re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", r["expr"])
        assert clauses, r["alert"]
        for clause in clauses:
            assert {"namespace", "job"} <= {label.strip() for label in clause.split(",")}, (
                r["alert"],
                clause,
            )


# (release, namespace) pairs whose dashboards meet in one Grafana: the same
# release name in two namespaces, two releases in one, Helm's longest names.
RELEASES = [
    ("demo", "apps"),
    ("demo", "staging"),
    ("other", "apps"),
    ("a" * 53, "n" * 63),
    ("a" * 53, "n" * 62 + "m"),
]


def test_each_release_has_its_own_grafana_dashboard(render):
    """Grafana keys a dashboard by its uid (at most 40 characters) and refuses two
    titles in one folder; its sidecar writes each ConfigMap key as a file, so the
    keys differ too."""
    boards = []
    for name, namespace in RELEASES:
        objects = render("monitoring", name=name, namespace=namespace)
        ((key, text),) = named(objects, "ConfigMap", "-grafana-dashboard")["data"].items()
        boards.append((key, json.loads(text)))
    uids = [board["uid"] for _, board in boards]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid) for uid in uids), uids
    assert len(set(uids)) == len(RELEASES), uids
    assert len({board["title"] for _, board in boards}) == len(RELEASES)
    assert len({key for key, _ in boards}) == len(RELEASES)
    assert all(key.endswith(".json") for key, _ in boards)
    # The same release renders the same uid: upgrades keep Grafana's links.
    again = render("monitoring", name="demo", namespace="apps")
    (text,) = named(again, "ConfigMap", "-grafana-dashboard")["data"].values()
    assert json.loads(text)["uid"] == uids[0]


def test_the_dashboard_asks_a_chosen_prometheus_for_every_panel():
    dashboard = json.loads(DASHBOARD.read_text())
    (variable,) = dashboard["templating"]["list"]
    assert variable == {**variable, "type": "datasource", "query": "prometheus"}
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        for target in [panel, *panel["targets"]]:
            assert target["datasource"]["uid"] == "${" + variable["name"] + "}", panel["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


# --- promtool -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> str:
    binary = require_tool("promtool", PROMTOOL_HINT, (str(TOOLS_BIN),))
    pinned = re.search(
        r"local prometheus_version=(v\S+)", (ROOT / "scripts/install-test-deps.sh").read_text()
    ).group(1)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    if pinned not in version:
        pytest.fail(f"promtool is not {pinned} (found: {version.strip()}); {PROMTOOL_HINT}")
    return binary


def _promtool(binary: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_promtool_checks_the_rules_the_chart_renders(render, promtool: str, tmp_path: Path):
    rule = named(render("monitoring"), "PrometheusRule", "")
    rendered = tmp_path / "rendered-rules.yaml"
    rendered.write_text(yaml.safe_dump(rule["spec"]))
    result = _promtool(promtool, "check", "rules", str(rendered), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_promtool_rule_unit_tests_pass(promtool: str):
    result = _promtool(promtool, "test", "rules", ALERT_TESTS.name, cwd=ALERT_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests_can_fail(promtool: str, tmp_path: Path):
    """A rule broken on purpose (threshold out of reach) fails its unit test."""
    (tmp_path / ALERTS.name).write_text(ALERTS.read_text().replace(">= 0.9", ">= 2"))
    (tmp_path / ALERT_TESTS.name).write_text(ALERT_TESTS.read_text())
    result = _promtool(promtool, "test", "rules", ALERT_TESTS.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "DatabasePoolSaturated" in result.stdout + result.stderr
