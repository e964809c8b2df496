"""The benchmark sweep: three apps by concurrent sessions on a real PostgreSQL, then options.

    python -m tests.bench.run --profile quick --out docs/benchmark-quick.md
    python -m tests.bench.run --profile full                      # docs/benchmark.md + .png

Starts its own PostgreSQL cluster (tests/support/postgres.py) and the API,
seeds the orders, then for each concurrency and each app (reference, naive,
in-memory floor) starts a dashboard on 127.0.0.1, runs the load beside the
samplers, stops it. Then the reference app under each Streamlit option set.
Every load is bounded by `--seconds`; every server stops when its run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlalchemy as sa
import streamlit
from sqlalchemy.engine import make_url

from app.core.settings import load_settings
from app.ops.loadtest import errors_by_kind, load
from tests.bench.report import RunStats, write
from tests.bench.sample import Sampler, streamlit_metrics
from tests.support.data import seeded_env
from tests.support.postgres import PostgresServer
from tests.support.servers import Server, api, dashboard

APPS = {
    "reference": "app/dashboard/streamlit_app.py",
    "naive": "tests/bench/apps/naive.py",
    "floor": "tests/bench/apps/floor.py",
}
# The first entry is .streamlit/config.toml as it is; the others change one option.
OPTIONS = {
    "config.toml as is": (),
    "runner.postScriptGC=true": ("--runner.postScriptGC=true",),
    "server.fileWatcherType=auto": ("--server.fileWatcherType=auto",),
    "server.enableWebsocketCompression=true": ("--server.enableWebsocketCompression=true",),
    "server.websocketPingInterval=5": ("--server.websocketPingInterval=5",),
}
DATABASE = "bench"


@dataclass(frozen=True)
class Profile:
    sessions: tuple[int, ...]
    rows: int
    reruns: int
    seconds: float
    option_sessions: int
    option_rounds: int
    option_sets: int  # how many of OPTIONS, from the first
    compare_at: int


PROFILES = {
    "quick": Profile((10, 30), 20_000, 3, 20, 10, 1, 2, 30),
    "full": Profile((10, 50, 100, 200, 500), 200_000, 3, 120, 50, 3, len(OPTIONS), 200),
}


def measure(
    label: str,
    app: str,
    sessions: int,
    reruns: int,
    seconds: float,
    env: dict[str, str],
    work: Path,
    pg: PostgresServer | None = None,
    extra: tuple[str, ...] = (),
) -> RunStats:
    """Start one dashboard, load it with `sessions` tabs beside the samplers, stop it.

    With `pg`, the database is `env`'s APP_DATABASE_URL on that server.
    """
    log = work / f"{app}-{sessions}-{label.replace(' ', '_')}.log"
    database = make_url(env["APP_DATABASE_URL"]).database
    with dashboard(env, log, extra_args=extra, script=APPS[app]) as server:
        sampler = Sampler(server.process.pid, pg and pg.url(), database)
        with sampler:
            results = asyncio.run(load(server.url, sessions, reruns, seconds=seconds))
        try:
            metrics = streamlit_metrics(server.url)
        except requests.RequestException as error:  # an overloaded server may not answer
            print(f"{label}: no /_stcore/metrics after the load ({error})", flush=True)
            metrics = []
    sampler.count_transactions()
    samples = sampler.samples
    stats = RunStats(
        app=app,
        sessions=sessions,
        reruns_planned=sessions * reruns,
        latencies=[x for result in results for x in result.latencies],
        errors=errors_by_kind(results),
        pool_bound=load_settings(env).pool_bound,
        pg_peak=pg and samples.peak("dashboard"),
        pg_mean=pg and samples.mean("dashboard"),
        socket_peak=pg and max(samples.sockets, default=0),
        api_peak=pg and samples.peak("api"),
        transactions=samples.transactions,
        rss_peak=max(samples.rss, default=0),
        cpu_seconds=samples.cpu_seconds,
        seconds=samples.wall_seconds,
        samples=samples.count,
        metrics=metrics,
        label=label,
        revenue_varied=sum(len(set(result.watched)) > 1 for result in results),
    )
    print(
        f"{label}: {sessions} sessions, {stats.reruns}/{stats.reruns_planned} reruns,"
        f" p95 {stats.percentile(95):.3f}s, errors {dict(stats.errors)},"
        f" PG peak {stats.pg_peak}, {stats.samples} samples",
        flush=True,
    )
    return stats


def machine_facts(args: argparse.Namespace, pg: PostgresServer, api_server: Server) -> dict:
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    with sa.create_engine(pg.url(), poolclass=sa.NullPool).connect() as conn:
        pg_version = conn.scalar(sa.text("SHOW server_version"))
    command = shlex.join(["python", "-m", "tests.bench.run", *sys.argv[1:]])
    return {
        "Command": f"`{command}` ({'make bench-full' if args.profile == 'full' else 'make bench'})",
        "Date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Machine": f"{os.cpu_count()} CPUs (nproc), {memory_kb / 2**20:.1f} GiB memory,"
        f" {platform.platform()}",
        "Software": f"Python {platform.python_version()}, Streamlit {streamlit.__version__},"
        f" PostgreSQL {pg_version}",
        "Load": f"{args.reruns} widget changes per session after the first run, think time"
        f" 0-0.5 s, every session opened at once, each run bounded by {args.seconds:.0f} s;"
        f" {args.rows:,} orders; API under gunicorn at {api_server.url}; options compared"
        f" over {args.option_rounds} interleaved round(s)",
    }


NOTES = [
    "Client, servers and PostgreSQL share one machine: figures compare apps and options"
    " measured in the same run; absolute seconds depend on the machine.",
    "Latency is from sending a widget change to `script_finished`, measured by the"
    " load generator (app/ops/loadtest.py, `make loadtest`) over Streamlit's WebSocket"
    " protocol. The sweep loads one dashboard process directly, to measure the process;"
    " tests/e2e/test_bench_edge.py runs the same generator through nginx and the"
    " oauth2-proxy sign-in.",
    "PG peak/mean: connections of the dashboard process in `pg_stat_activity`"
    " (client backends with application_name `dashboard`: the parallel query workers"
    " PostgreSQL lists under the same name are not connections), sampled every 100 ms;"
    " bound = APP_DB_POOL_SIZE +"
    " APP_DB_MAX_OVERFLOW. Sockets peak: the dashboard process's established TCP"
    " connections to PostgreSQL (/proc/PID/fd and /proc/net/tcp) at the same instants, the"
    " client's own count. API PG peak: the API's connections in the same samples.",
    "Transactions: `xact_commit + xact_rollback` of the benchmark database in"
    " `pg_stat_database` over the run, dashboard and API together (pg_stat_statements"
    " would count statements but needs `shared_preload_libraries`, a server restart).",
    "RSS: peak resident memory of the dashboard process; CPU: its mean CPU time over"
    " the run in % of one core (from /proc). A Python process runs its script threads"
    " under one GIL, so near 100% means one replica is saturated: more replicas behind"
    " the sticky edge, not more threads, add capacity.",
    "naive: tests/bench/apps/naive.py, an engine and its connections made in the script body"
    " on every rerun and never disposed, nothing cached, the API called on every rerun."
    " floor: tests/bench/apps/floor.py, the same page over orders read once per process, each"
    " distinct filter's answers computed once and kept: no I/O, a free and unbounded cache.",
    "st cache KB and cache hits: `cache_memory_bytes` and `cache_lookups_total` (hit and"
    " miss of `st.cache_data`) from Streamlit's `/_stcore/metrics` at the end of the run"
    " (the reference is the only app with Streamlit caches). Revenue varied: sessions"
    " whose Revenue figure changed as they moved the"
    " filters (a check that the page really computed). The floor's one connection is its"
    " one read of the orders at the first run.",
    "The load draws slider ends from 13 stops and any subset of regions, so the"
    " reference app's caches see both hits and misses.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=PROFILES, default="quick")
    parser.add_argument("--sessions", type=int, nargs="+", help="override the profile's list")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--reruns", type=int)
    parser.add_argument("--seconds", type=float, help="bound of each load run")
    parser.add_argument("--no-options", action="store_true", help="skip the option comparison")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmark.md"))
    args = parser.parse_args()
    profile = PROFILES[args.profile]
    args.rows = args.rows or profile.rows
    args.reruns = args.reruns or profile.reruns
    args.seconds = args.seconds or profile.seconds
    sessions = args.sessions or profile.sessions
    args.option_rounds = 0 if args.no_options else profile.option_rounds
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    pg = PostgresServer()
    try:
        pg.create_database(DATABASE)
        env = seeded_env(pg.url(DATABASE), args.rows)
        with api(env, work / "api.log") as api_server:
            env = {**env, "APP_API_URL": api_server.url}
            facts = machine_facts(args, pg, api_server)
            load_args = (args.reruns, args.seconds, env, work, pg)
            runs = [measure(app, app, n, *load_args) for n in sessions for app in APPS]
            # Rounds interleave the option sets so drift over the run hits each alike,
            # and each round starts at another set so none always runs first.
            labels = list(OPTIONS)[: profile.option_sets]
            by_label: dict[str, list[RunStats]] = {label: [] for label in labels}
            n = profile.option_sessions
            for round_ in range(args.option_rounds):
                shift = round_ % len(labels)
                for label in labels[shift:] + labels[:shift]:
                    run = measure(label, "reference", n, *load_args, OPTIONS[label])
                    by_label[label].append(run)
            options = list(by_label.values()) if args.option_rounds else []
        args.out.parent.mkdir(parents=True, exist_ok=True)
        compare_at = profile.compare_at if profile.compare_at in sessions else max(sessions)
        write(args.out, runs, options, facts, NOTES, compare_at)
        print(f"wrote {args.out} and {args.out.with_suffix('.png')} (server logs in {work})")
    finally:
        pg.destroy()


if __name__ == "__main__":
    main()
