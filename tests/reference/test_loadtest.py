"""`make loadtest` with the scenario that ships (app/ops/scenarios/dashboard.toml)
against the reference dashboard."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.ops import make_loadtest
from tests.support.servers import dashboard

SESSIONS, RERUNS = 4, 6


def test_the_reference_dashboard_under_the_shipped_scenario(sales_sqlite_env: dict, tmp_path: Path):
    with dashboard(sales_sqlite_env, tmp_path / "dashboard.log") as server:
        result = make_loadtest(
            server.url, f"LOADTEST_ARGS=--sessions {SESSIONS} --reruns {RERUNS} --json"
        )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["reruns"] == report["reruns_planned"] == SESSIONS * RERUNS
    assert report["errors"] == {}
    assert 0 < report["p50_seconds"] <= report["p95_seconds"] <= report["p100_seconds"]
