"""The chart's PostgreSQL connection budget: the most connections a release can
hold, refused at render time when the database allows fewer.

The expected figure is counted here from the rendered objects (replicas or the
autoscaler's maximum, each Deployment's rollout surge, GUNICORN_WORKERS) and
from the app's own settings read from the rendered environment (its pool
bound), not from the chart's arithmetic: the two must agree for every profile.
"""

from __future__ import annotations

import math
import re
from typing import Any

import helm_python
import pytest

from app.core.settings import load_settings
from tests.support.chart import PROFILES, RELEASE, by_kind, merge, named, profile_values

BUDGET_LINE = re.compile(
    r"at most (\d+) PostgreSQL connections \(dashboard (\d+), API (\d+), migrations (\d+);"
)


def notes(chart, profile: str | None, values: dict[str, Any] | None = None) -> str:
    merged = merge(profile_values(profile), values or {})
    rendered = chart.render(merged, name=RELEASE, namespace="apps", is_install=True)
    (text,) = [text for path, text in rendered.items() if path.endswith("NOTES.txt")]
    return text


def peak_processes(objects: list[dict[str, Any]], component: str) -> tuple[int, int]:
    """(processes at the rollout's peak, the pool bound of each) for one Deployment."""
    deployment = named(objects, "Deployment", f"-{component}")
    autoscalers = [
        h
        for h in by_kind(objects, "HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    ]
    pods = autoscalers[0]["spec"]["maxReplicas"] if autoscalers else deployment["spec"]["replicas"]
    surge = deployment["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", "25%")
    pods += math.ceil(pods * int(surge[:-1]) / 100) if str(surge).endswith("%") else int(surge)
    (app,) = [
        c
        for c in deployment["spec"]["template"]["spec"]["containers"]
        if any(e["name"] == "APP_SECRETS_DIR" for e in c.get("env", []))
    ]
    env = {e["name"]: e["value"] for e in app["env"] if "value" in e}
    workers = int(env.pop("GUNICORN_WORKERS", 1))
    # The secret files (the database URL among them) are not here; they hold no
    # pool setting, and without them production mode would refuse to load.
    env.pop("APP_SECRETS_DIR")
    env.pop("APP_ENV")
    return pods * workers, load_settings(env).pool_bound


@pytest.mark.parametrize("profile", PROFILES)
def test_budget_counts_what_the_pods_can_open(render, chart, profile: str):
    objects = render(profile)
    figures = {}
    for component in ("dashboard", "api"):
        processes, bound = peak_processes(objects, component)
        figures[component] = processes * bound
    jobs = by_kind(objects, "Job")
    migrations = len([j for j in jobs if j["metadata"]["name"].endswith("-migrate")])
    match = BUDGET_LINE.search(notes(chart, profile))
    assert match, "NOTES.txt no longer states the connection budget"
    total, dashboard, api, migrate = map(int, match.groups())
    assert (dashboard, api, migrate) == (figures["dashboard"], figures["api"], migrations)
    assert total == dashboard + api + migrate


def test_a_release_over_the_database_limit_is_refused(chart):
    total = int(BUDGET_LINE.search(notes(chart, "minimal")).group(1))
    at_limit = notes(chart, "minimal", {"database": {"maxConnections": total}})
    assert f"of the {total} allowed" in at_limit
    with pytest.raises(
        helm_python.HelmError,
        match=rf"database\.maxConnections: the release could open at most {total} PostgreSQL "
        rf"connections .*more than the {total - 1} the database allows it\. Lower",
    ):
        notes(chart, "minimal", {"database": {"maxConnections": total - 1}})


def test_autoscaling_counts_the_maximum_and_zero_turns_the_check_off(chart):
    scaled = {"dashboard": {"autoscaling": {"enabled": True, "maxReplicas": 40}}}
    with pytest.raises(helm_python.HelmError, match=r"database\.maxConnections"):
        notes(chart, "minimal", scaled)
    unchecked = notes(chart, "minimal", {**scaled, "database": {"maxConnections": 0}})
    # 40 pods and a 10-pod surge at the default bound of 10 connections each.
    assert "dashboard 500," in unchecked
    assert "allowed" not in unchecked
