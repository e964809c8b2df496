"""A handful of simulated tabs against every benchmark app and part, through the sweep's own code.

`tests.bench.run`'s functions start each app, run the load beside the samplers
and stop it, as `make bench` does: every app on PostgreSQL, the reference on
SQLite, the seed 001 sweep on a PostgreSQL with its default max_connections,
and the scale-out sweep through nginx and oauth2-proxy at a tiny size. Asserts
behaviour only (every tab finished its reruns, Revenue followed the filters,
connections stayed within the pool bound, the samplers sampled, both replicas
served), never timings.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.bench.report import APPS, Results, RunStats, write
from tests.bench.run import (
    SCENARIOS,
    EdgeTools,
    connection_sweep,
    measure,
    scale_sweep,
)
from tests.bench.sample import Sampler
from tests.reference.data import seeded_env
from tests.support import edge
from tests.support.postgres import PostgresServer
from tests.support.servers import api

SESSIONS, RERUNS, ROWS, SECONDS = 4, 3, 5_000, 60


@pytest.fixture(scope="module")
def pg_runs(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, RunStats]:
    """One small load against each app on a seeded PostgreSQL database."""
    env = seeded_env(postgres.create_database("bench_smoke"), ROWS)
    work = tmp_path_factory.mktemp("bench")
    return {app: measure(app, app, SESSIONS, RERUNS, SECONDS, env, work, postgres) for app in APPS}


@pytest.fixture(scope="module")
def stock_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL with no max_connections setting: its default, as seed 001 needs."""
    server = PostgresServer(tmp_path_factory.mktemp("stock-postgres"), max_connections=None)
    yield server
    server.destroy()


def _check_completed(run: RunStats) -> None:
    assert run.errors == {}, (run.errors, run.error_examples)
    assert run.reruns == run.reruns_planned == run.sessions * RERUNS
    assert run.revenue_varied == run.sessions  # every tab saw Revenue change with its filters
    # The samplers ran beside the load.
    assert run.samples > 0
    assert run.rss_peak > 0
    assert run.cpu_seconds > 0


def test_reference_completes_on_sqlite(sales_sqlite_env: dict[str, str], tmp_path: Path):
    run = measure("reference", "reference", SESSIONS, RERUNS, SECONDS, sales_sqlite_env, tmp_path)
    _check_completed(run)
    assert run.metrics  # /_stcore/metrics was read
    assert run.pg_peak is None
    assert run.transactions is None
    assert run.cache_hits != "-"  # the reference's st.cache_data lookups were counted


@pytest.mark.parametrize("app", APPS)
def test_every_app_completes_on_postgres(pg_runs: dict[str, RunStats], app: str):
    _check_completed(pg_runs[app])
    assert pg_runs[app].metrics


def test_think_time_is_the_shapes(sales_sqlite_env: dict[str, str], tmp_path: Path):
    run = measure("trivial", "trivial", 2, RERUNS, SECONDS, sales_sqlite_env, tmp_path, think=0.0)
    _check_completed(run)
    assert run.think_seconds == 0.0
    # The trivial page is loaded with the slider action only: it has no other widget.
    assert [action.widget for action in SCENARIOS["trivial"].actions] == ["Order dates"]


def test_reference_stays_within_its_pool_bound(pg_runs: dict[str, RunStats]):
    run = pg_runs["reference"]
    assert 0 < run.socket_peak <= run.pool_bound, (run.socket_peak, run.pool_bound)
    assert 0 < run.pg_peak <= run.pool_bound, (run.pg_peak, run.pool_bound)


def test_naive_queries_on_every_rerun_floor_and_trivial_never(pg_runs: dict[str, RunStats]):
    # Transactions counted by PostgreSQL itself for the benchmark database.
    assert pg_runs["naive"].transactions >= pg_runs["naive"].reruns
    assert pg_runs["naive"].pg_peak > 0
    # The floor and the pandas app read the orders once per process: a fixed few
    # transactions, fewer than one per rerun. Not a smaller bound: PostgreSQL may
    # attribute an earlier run's late statistics or autovacuum.
    for app in ("floor", "pandas"):
        run = pg_runs[app]
        assert run.transactions < run.reruns, (app, run.transactions, run.reruns)
    # The trivial page never connects.
    assert pg_runs["trivial"].pg_peak == 0
    assert pg_runs["trivial"].socket_peak == 0


def test_seed001_sweep_on_a_stock_postgres(stock_postgres: PostgresServer, tmp_path: Path):
    with sa.create_engine(stock_postgres.url(), poolclass=sa.NullPool).connect() as conn:
        assert conn.scalar(sa.text("SHOW max_connections")) == "100"  # PostgreSQL's default
    env = seeded_env(stock_postgres.create_database("bench_stock"), 2_000)
    with api(env, tmp_path / "api.log") as server:
        env = {**env, "APP_API_URL": server.url}
        runs = connection_sweep((2, 3), RERUNS, SECONDS, env, tmp_path, stock_postgres)
    # Each level ran both apps (the naive one does not fail this small).
    assert [(run.sessions, run.app) for run in runs] == [
        (2, "reference"),
        (2, "naive"),
        (3, "reference"),
        (3, "naive"),
    ]
    for run in runs:
        _check_completed(run)
        assert run.pg_peak > 0
        assert run.api_peak is not None
    for run in runs[::2]:  # the reference's
        assert run.pg_peak <= run.pool_bound


def test_scale_out_through_nginx_spreads_tabs_over_both_replicas(
    sales_sqlite_env: dict[str, str], tmp_path: Path
):
    tools = EdgeTools(edge.nginx_binary(), edge.oauth2_proxy_binary(), "")
    sessions = 24  # tabs hash over two replicas: all on one is a 1-in-8-million chance
    with api(sales_sqlite_env, tmp_path / "api.log") as server:
        env = {**sales_sqlite_env, "APP_API_URL": server.url}
        runs = scale_sweep((sessions,), 2, SECONDS, env, tools, server.url, tmp_path)
    assert [(run.replicas, run.sessions) for run in runs] == [(1, sessions), (2, sessions)]
    for run in runs:
        assert run.errors == {}, (run.errors, run.error_examples)
        assert run.reruns == run.reruns_planned == sessions * 2
        assert run.revenue_varied == sessions
        assert run.samples > 0
    # Every tab's WebSocket went through nginx, and with two replicas both got some.
    for replicas in (1, 2):
        log = (tmp_path / f"edge-{replicas}" / "nginx.log").read_text().splitlines()
        upgrades = [
            entry for entry in (json.loads(line) for line in log if line.startswith("{"))
            if entry["path"] == "/_stcore/stream" and entry["status"] == 101
        ]  # fmt: skip
        assert len(upgrades) == sessions
        assert len({entry["upstream_addr"] for entry in upgrades}) == replicas


def test_report_has_a_row_per_run_and_a_plot(pg_runs: dict[str, RunStats], tmp_path: Path):
    runs = list(pg_runs.values())
    path = tmp_path / "benchmark.md"
    results = Results(latency=runs, connections=runs, max_connections=100)
    write(path, results, {"Date": "today"}, ["a note"])
    text = path.read_text()
    for run in runs:
        rows = [
            line for line in text.splitlines() if f"| {run.reruns} / {run.reruns_planned} |" in line
        ]
        assert any(f"| {run.percentile(95):.3f} |" in row for row in rows)
    reference = pg_runs["reference"]
    assert f"| {reference.pg_peak} ({reference.pg_mean:.1f}) / {reference.pool_bound} |" in text
    assert "## Targets" in text
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
