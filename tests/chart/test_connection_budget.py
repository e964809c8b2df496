"""The chart's PostgreSQL connection budget: the most connections a release can
hold, refused at render time when the database allows fewer.

The expected figure is counted here from the rendered objects (replicas or the
autoscaler's maximum, each Deployment's rollout played out under its rendered
strategy with stopping pods that never finish, GUNICORN_WORKERS,
PgBouncer's pool from its init container's flags) and from the app's own
settings read from the rendered environment (its pool bound), the migrations
Job and the rollup CronJob (one Job at a time), not from the chart's
arithmetic: the two must agree for every profile, with and without the CronJob.
"""

from __future__ import annotations

import math
import re
from typing import Any

import helm_python
import pytest

from app.core.settings import load_settings
from app.ops.kube import merge
from tests.support.chart import PROFILES, RELEASE, by_kind, named, profile_values

BUDGET_LINE = re.compile(
    r"at most (\d+) PostgreSQL connections \(dashboard (\d+), API (\d+), migrations (\d+),"
    r" rollup (\d+);"
)
# With pgbouncer.enabled: what PostgreSQL sees, and what the pods open to PgBouncer.
POOLED_LINE = re.compile(
    r"at most (\d+) PostgreSQL connections \(PgBouncer (\d+): \d+ pods x \d+, migrations (\d+),"
    r" rollup (\d+)\)"
)
CLIENTS_LINE = re.compile(
    r"at most (\d+) client connections to PgBouncer \(dashboard (\d+), API (\d+);"
)


def notes(chart, profile: str | None, values: dict[str, Any] | None = None) -> str:
    merged = merge(profile_values(profile), values or {})
    rendered = chart.render(merged, name=RELEASE, namespace="apps", is_install=True)
    (text,) = [text for path, text in rendered.items() if path.endswith("NOTES.txt")]
    return text


def _resolve(value: int | str, pods: int, *, up: bool) -> int:
    """maxSurge (rounded up) or maxUnavailable (rounded down), as the controller reads them."""
    if str(value).endswith("%"):
        share = pods * int(str(value)[:-1]) / 100
        return math.ceil(share) if up else math.floor(share)
    return int(value)


def rollout_peak(pods: int, strategy: dict[str, Any]) -> int:
    """The most pods of a Deployment alive during one rolling update, played out
    step by step as the Deployment controller runs it: new pods up to replicas +
    maxSurge counting only pods that are not stopping, old pods stopped while
    the available ones stay at replicas - maxUnavailable. Worst case: each new
    pod ready at once, no stopping pod ever gone (a preStop pause, a grace
    period, PgBouncer serving its clients after SIGTERM)."""
    rolling = strategy.get("rollingUpdate", {})
    assert strategy.get("type", "RollingUpdate") == "RollingUpdate", strategy
    surge = _resolve(rolling.get("maxSurge", "25%"), pods, up=True)
    unavailable = _resolve(rolling.get("maxUnavailable", "25%"), pods, up=False)
    if surge == unavailable == 0:
        unavailable = 1  # the controller's own rule
    old, new, stopping, peak = pods, 0, 0, pods
    while old or new < pods:
        grown = min(pods, new + max(0, pods + surge - old - new))
        down = max(0, min(old, old + grown - (pods - unavailable)))
        assert grown > new or down, "the rollout would not progress"
        new = grown
        peak = max(peak, old + new + stopping)
        old, stopping = old - down, stopping + down
        peak = max(peak, old + new + stopping)
    return peak


def peak_pods(objects: list[dict[str, Any]], deployment: dict[str, Any]) -> int:
    """A Deployment's most pods: its autoscaler's maximum or replicas, through a rollout."""
    autoscalers = [
        h
        for h in by_kind(objects, "HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    ]
    pods = autoscalers[0]["spec"]["maxReplicas"] if autoscalers else deployment["spec"]["replicas"]
    return rollout_peak(pods, deployment["spec"].get("strategy", {}))


def peak_processes(objects: list[dict[str, Any]], component: str) -> tuple[int, int]:
    """(processes at the rollout's peak, the pool bound of each) for one Deployment."""
    deployment = named(objects, "Deployment", f"-{component}")
    pods = peak_pods(objects, deployment)
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
    env.pop("APP_DATABASE_VIA", None)
    return pods * workers, load_settings(env).pool_bound


def pgbouncer_peak(objects: list[dict[str, Any]]) -> int:
    """Server connections of PgBouncer's pods at their peak, from the flags the
    chart gives its configuration command."""
    deployment = named(objects, "Deployment", "-pgbouncer")
    (init,) = deployment["spec"]["template"]["spec"]["initContainers"]
    flags = dict(a.removeprefix("--").split("=", 1) for a in init["args"] if "=" in a)
    return peak_pods(objects, deployment) * (int(flags["pool-size"]) + int(flags["reserve-pool"]))


# Profiles with PgBouncer in front, and those whose pods connect directly.
POOLED = [p for p in PROFILES if profile_values(p).get("pgbouncer", {}).get("enabled")]
DIRECT = [p for p in PROFILES if p not in POOLED]


def app_figures(objects: list[dict[str, Any]]) -> dict[str, int]:
    """Connections each component's pools can hold at the rollout's peak, and the Jobs'."""
    figures = {}
    for component in ("dashboard", "api"):
        processes, bound = peak_processes(objects, component)
        figures[component] = processes * bound
    jobs = by_kind(objects, "Job")
    figures["migrations"] = len([j for j in jobs if j["metadata"]["name"].endswith("-migrate")])
    cronjobs = by_kind(objects, "CronJob")
    # concurrencyPolicy Forbid: one of a CronJob's Jobs at a time, one connection.
    assert all(c["spec"]["concurrencyPolicy"] == "Forbid" for c in cronjobs)
    figures["rollup"] = len(cronjobs)
    return figures


# A rollup CronJob beside every profile's own objects.
SCHEDULED = {"rollup": {"schedule": "*/15 * * * *"}}


@pytest.mark.parametrize("extra", [{}, SCHEDULED], ids=["", "rollup"])
@pytest.mark.parametrize("profile", DIRECT)
def test_budget_counts_what_the_pods_can_open(render, chart, profile: str, extra: dict):
    figures = app_figures(render(profile, extra))
    match = BUDGET_LINE.search(notes(chart, profile, extra))
    assert match, "NOTES.txt no longer states the connection budget"
    total, dashboard, api, migrate, rollup = map(int, match.groups())
    assert (dashboard, api, migrate, rollup) == (
        figures["dashboard"],
        figures["api"],
        figures["migrations"],
        figures["rollup"],
    )
    assert total == dashboard + api + migrate + rollup


@pytest.mark.parametrize("extra", [{}, SCHEDULED], ids=["", "rollup"])
@pytest.mark.parametrize("profile", POOLED)
def test_pooled_budget_counts_pgbouncer_for_postgresql_and_the_pods_for_pgbouncer(
    render, chart, profile: str, extra: dict
):
    objects = render(profile, extra)
    figures = app_figures(objects)
    text = notes(chart, profile, extra)
    pooled, clients = POOLED_LINE.search(text), CLIENTS_LINE.search(text)
    assert pooled, "NOTES.txt no longer states the connection budget"
    assert clients, "NOTES.txt no longer states PgBouncer's clients"
    total, pgbouncer, migrate, rollup = map(int, pooled.groups())
    assert (pgbouncer, migrate, rollup) == (
        pgbouncer_peak(objects),
        figures["migrations"],
        figures["rollup"],
    )
    assert total == pgbouncer + migrate + rollup
    opened, dashboard, api = map(int, clients.groups())
    assert (dashboard, api) == (figures["dashboard"], figures["api"])
    assert opened == dashboard + api


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
    # 40 pods and 40 stopping beside them at the chart's default bound of 7 each.
    assert "dashboard 560," in unchecked
    assert "allowed" not in unchecked


def test_with_pgbouncer_postgresql_sees_its_pools_and_the_pods_its_client_limit(chart):
    """Autoscaling the dashboard adds PgBouncer clients, not PostgreSQL connections;
    the pods' pools at their peak must fit in one PgBouncer."""
    scaled = {"dashboard": {"autoscaling": {"maxReplicas": 40}}}
    text = notes(chart, "pgbouncer", scaled)
    assert POOLED_LINE.search(text).group(1) == POOLED_LINE.search(notes(chart, "pgbouncer")).group(
        1
    )
    clients = int(CLIENTS_LINE.search(text).group(1))
    with pytest.raises(
        helm_python.HelmError,
        match=rf"pgbouncer\.maxClientConnections: the pods could open at most {clients} client "
        rf"connections to PgBouncer .*more than the {clients - 1} one PgBouncer accepts",
    ):
        notes(chart, "pgbouncer", {**scaled, "pgbouncer": {"maxClientConnections": clients - 1}})
    with pytest.raises(
        helm_python.HelmError,
        match=r"database\.maxConnections: .*\(PgBouncer 40: 4 pods x 10, migrations 1, rollup 0\).*"
        r"Lower pgbouncer\.replicaCount, pgbouncer\.poolSize or pgbouncer\.reservePool",
    ):
        notes(chart, "pgbouncer", {"pgbouncer": {"poolSize": 9}})


@pytest.mark.parametrize(
    ("profile", "before", "message"),
    [
        (
            "pgbouncer",
            {"pgbouncer": {"poolSize": 5, "reservePool": 2}},
            r"at most 29 PostgreSQL connections "
            r"\(PgBouncer 28: 4 pods x 7, migrations 1, rollup 0\)"
            r".*more than the 25 the database allows it\. Lower pgbouncer\.replicaCount, "
            r"pgbouncer\.poolSize or pgbouncer\.reservePool",
        ),
        (
            "production",
            {"appSettings": {"APP_DB_MAX_OVERFLOW": "2"}},
            r"at most 222 PostgreSQL connections \(dashboard 100, API 120, migrations 1, rollup 1;"
            r".*more than the 190 the database allows it\. Lower dashboard/api replicas, "
            r"autoscaling\.maxReplicas, api\.workers or appSettings\.APP_DB_POOL_SIZE",
        ),
    ],
    ids=["pgbouncer", "production"],
)
def test_a_profile_that_fits_only_without_the_rollout_overlap_is_refused(
    chart, profile: str, before: dict, message: str
):
    """The profiles as they were: 22 of 25 and 147 of 190 counting a 25% surge, 29
    and 222 once every pod may run beside a stopping one (PgBouncer 1.23+ keeps
    serving its clients after SIGTERM, through the preStop pause and grace period)."""
    with pytest.raises(
        helm_python.HelmError,
        match=r"database\.maxConnections: the release could open " + message,
    ):
        notes(chart, profile, before)
