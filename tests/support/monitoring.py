"""The monitoring files (monitoring/): the alert rules, the Grafana dashboard, and
the metric names their PromQL queries use."""

from __future__ import annotations

import json
import re

import yaml

from tests.support.tools import ROOT

MONITORING = ROOT / "monitoring"
ALERTS = MONITORING / "alerts.yaml"
ALERT_TESTS = MONITORING / "alerts-test.yaml"
DASHBOARD = MONITORING / "grafana-dashboard.json"

# PromQL words that look like names but are not metrics.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan",
}  # fmt: skip


def dashboard_queries(dashboard: dict | None = None) -> list[str]:
    dashboard = dashboard or json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def alert_queries() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def metric_names(query: str) -> set[str]:
    """The metric names a PromQL query selects: identifiers that are not functions,
    keywords, label names (inside {} or by/without/on/ignoring lists) or durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    found = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group()
        following = text[match.end() :].lstrip()[:1]
        if word.lower() in KEYWORDS or following == "(":
            continue
        found.add(word)
    return found
