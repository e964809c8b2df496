"""A handful of simulated tabs against the real dashboard, on SQLite and on PostgreSQL.

Asserts behaviour only (every tab finished its reruns, Revenue followed the
slider, PostgreSQL connections stayed within the pool bound), never timings.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from app.core.settings import load_settings
from bench.load import errors_by_kind, load
from tests.conftest import seeded_env
from tests.support.servers import dashboard

SESSIONS, RERUNS, ROWS = 5, 3, 5_000


def _check(results) -> None:
    assert errors_by_kind(results) == {}
    for result in results:
        assert len(result.latencies) == RERUNS
        assert len(set(result.revenues)) > 1, result.revenues


def test_sessions_complete_on_sqlite(sqlite_env: dict[str, str], tmp_path: Path):
    with dashboard(sqlite_env, tmp_path / "dashboard.log") as server:
        _check(asyncio.run(load(server.url, SESSIONS, RERUNS, seconds=45)))


def test_sessions_complete_on_postgres_within_pool_bound(postgres, tmp_path: Path):
    postgres.create_database("bench_smoke")
    env = seeded_env(postgres.url("bench_smoke"), ROWS)
    bound = load_settings(env).pool_bound
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], postgres.connections("dashboard"))

    with dashboard(env, tmp_path / "dashboard.log") as server:
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            results = asyncio.run(load(server.url, SESSIONS, RERUNS, seconds=45))
        finally:
            done.set()
            sampler.join(5)
    _check(results)
    assert 0 < peak[0] <= bound, (peak[0], bound)
