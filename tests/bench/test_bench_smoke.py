"""A handful of simulated tabs against the three benchmark apps, through the sweep's own code.

`tests.bench.run.measure` starts each app, runs the load beside the samplers and
stops it, as `make bench` does: the reference, naive and floor apps on
PostgreSQL, the reference on SQLite. Asserts behaviour only (every tab
finished its reruns, Revenue followed the filters, the connection peak stayed
within the pool bound, the samplers sampled), never timings.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.bench.report import APPS, RunStats, write
from tests.bench.run import measure
from tests.bench.sample import Sampler
from tests.support.data import seeded_env
from tests.support.postgres import PostgresServer

SESSIONS, RERUNS, ROWS, SECONDS = 4, 3, 5_000, 60


@pytest.fixture(scope="module")
def pg_runs(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, RunStats]:
    """One small load against each app on a seeded PostgreSQL database."""
    env = seeded_env(postgres.create_database("bench_smoke"), ROWS)
    work = tmp_path_factory.mktemp("bench")
    return {app: measure(app, app, SESSIONS, RERUNS, SECONDS, env, work, postgres) for app in APPS}


def _check_completed(run: RunStats) -> None:
    assert run.errors == {}, run.errors
    assert run.reruns == run.reruns_planned == SESSIONS * RERUNS
    assert run.revenue_varied == SESSIONS  # every tab saw Revenue change with its filters
    # The samplers ran beside the load.
    assert run.samples > 0
    assert run.rss_peak > 0
    assert run.cpu_seconds > 0
    assert run.metrics  # /_stcore/metrics was read


def test_reference_completes_on_sqlite(sqlite_env: dict[str, str], tmp_path: Path):
    run = measure("reference", "reference", SESSIONS, RERUNS, SECONDS, sqlite_env, tmp_path)
    _check_completed(run)
    assert run.pg_peak is None
    assert run.transactions is None
    assert run.cache_hits != "-"  # the reference's st.cache_data lookups were counted


@pytest.mark.parametrize("app", APPS)
def test_every_app_completes_on_postgres(pg_runs: dict[str, RunStats], app: str):
    _check_completed(pg_runs[app])


def test_reference_stays_within_its_pool_bound(pg_runs: dict[str, RunStats]):
    run = pg_runs["reference"]
    assert 0 < run.socket_peak <= run.pool_bound, (run.socket_peak, run.pool_bound)
    assert 0 < run.pg_peak <= run.pool_bound, (run.pg_peak, run.pool_bound)


def test_naive_queries_on_every_rerun_and_floor_never(pg_runs: dict[str, RunStats]):
    # Transactions counted by PostgreSQL itself for the benchmark database.
    assert pg_runs["naive"].transactions >= pg_runs["naive"].reruns
    assert pg_runs["naive"].pg_peak > 0
    # The floor reads the orders once per process: a fixed few transactions (the
    # dialect's first connect, the read), fewer than one per rerun. Not a smaller
    # bound: PostgreSQL may attribute an earlier run's late statistics or autovacuum.
    floor = pg_runs["floor"]
    assert floor.transactions < floor.reruns, (floor.transactions, floor.reruns)


def test_report_has_a_row_per_run_and_a_plot(pg_runs: dict[str, RunStats], tmp_path: Path):
    runs = list(pg_runs.values())
    path = tmp_path / "benchmark.md"
    write(path, runs, [[pg_runs["reference"]]], {"Date": "today"}, ["a note"], SESSIONS)
    text = path.read_text()
    for run in runs:
        row = next(line for line in text.splitlines() if line.startswith(f"| {run.app} | "))
        assert f"| {SESSIONS} | {run.reruns} / {run.reruns_planned} |" in row
        assert f"| {run.percentile(95):.3f} |" in row
        assert f"| {run.pg_peak} ({run.pg_mean:.1f}) / {run.pool_bound} |" in row
    reference = pg_runs["reference"]
    # The pool-bound target, from the run's figures.
    assert f"peak {reference.pg_peak} in pg_stat_activity, {reference.socket_peak} open" in text
    assert path.with_suffix(".png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_sampler_counts_connections_not_parallel_workers(postgres: PostgresServer):
    """PostgreSQL lists a parallel query's workers under the leader's application_name."""
    database = "bench_parallel"
    url = postgres.create_database(database)
    forced_parallel = "-c parallel_setup_cost=0 -c parallel_tuple_cost=0"
    engine = sa.create_engine(
        url,
        poolclass=sa.NullPool,
        connect_args={"application_name": "dashboard", "options": forced_parallel},
    )
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t AS SELECT g AS x FROM generate_series(1, 3000000) g"))
        conn.execute(sa.text("ANALYZE t"))
    raw = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = :db AND application_name = 'dashboard'"
    )
    monitor = sa.create_engine(postgres.url(), poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")
    listed = []
    with Sampler(os.getpid(), postgres.url(), database, interval=0.01) as sampler:
        query = threading.Thread(
            target=lambda: [_aggregate(engine) for _ in range(5)], name="parallel-query"
        )
        query.start()
        with monitor.connect() as conn:
            while query.is_alive():
                listed.append(conn.scalar(raw, {"db": database}))
        query.join()
    assert max(listed) > 1  # the leader and its workers, all named "dashboard"
    assert sampler.samples.peak("dashboard") == 1  # one connection


def _aggregate(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT count(*), sum(x) FROM t WHERE x % 7 = 1")).one()
