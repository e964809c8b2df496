"""The benchmark: the reference page beside a render floor and a trivial page, seed 001 on a
stock PostgreSQL, and scale-out behind the project's nginx.

    python -m tests.bench.run --profile quick --out docs/benchmark-quick.md
    python -m tests.bench.run --profile full                      # docs/benchmark.md + .png

Four parts, each starting its servers on 127.0.0.1 and stopping them when its
run ends; every load is bounded in sessions, reruns and `--seconds`:

1. Latency: each app (reference, render floor, trivial page, in-memory pandas,
   naive in the full profile) under the issue's load shapes (1 session; 50 with
   0.5 s think time; 100 with 3 s), one dashboard process on PostgreSQL.
2. Seed 001: naive vs reference at rising concurrency on a second PostgreSQL
   with its default max_connections and the pools a user deploys (dashboard and
   API at their defaults); naive stops after its first failing level.
3. Scale-out: the reference as 1 and 2 replicas behind nginx (our config,
   sticky) and oauth2-proxy with a sign-in; sessions served within the p95
   budget set by the 1-replica run.
4. Streamlit options: the reference under each option set, interleaved rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import os
import platform
import re
import shlex
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
import streamlit
from sqlalchemy.engine import make_url

from app.core.settings import load_settings
from app.ops.loadtest import Scenario, SessionResult, errors_by_kind, load
from tests.bench.report import Results, RunStats, scale_budget, write
from tests.bench.sample import Sampler, streamlit_metrics
from tests.reference.data import seeded_env
from tests.support import edge
from tests.support.postgres import PostgresServer
from tests.support.servers import Server, api, dashboard
from tests.support.tools import free_port

APPS = {
    "reference": "app/dashboard/streamlit_app.py",
    "floor": "tests/bench/apps/floor.py",
    "trivial": "tests/bench/apps/trivial.py",
    "pandas": "tests/bench/apps/pandas_memory.py",
    "naive": "tests/bench/apps/naive.py",
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
SCENARIO = Scenario.load(Path(__file__).parents[2] / "app/ops/scenarios/dashboard.toml")
# The trivial page has the date slider only: the scenario's other actions name
# widgets it does not have.
SCENARIOS = {
    "trivial": replace(
        SCENARIO, actions=tuple(a for a in SCENARIO.actions if a.widget == "Order dates")
    )
}
SIGN_IN = "bench@example.com"


@dataclass(frozen=True)
class Profile:
    rows: int
    reruns: int
    seconds: float
    shapes: tuple[tuple[int, float], ...]  # (sessions, think seconds) of the latency part
    latency_apps: tuple[str, ...]
    connection_levels: tuple[int, ...]  # concurrency of the seed 001 part
    connection_seconds: float  # its bound per run: 500 sessions queue on one process
    scale_levels: tuple[int, ...]  # sessions of the scale-out sweep; the first sets the budget
    option_sessions: int
    option_rounds: int
    option_sets: int  # how many of OPTIONS, from the first


PROFILES = {
    "quick": Profile(
        rows=20_000,
        reruns=2,
        seconds=30,
        shapes=((1, 0.5), (20, 0.5), (30, 3.0)),
        latency_apps=("reference", "floor", "trivial", "pandas"),
        connection_levels=(20, 80),
        connection_seconds=30,
        scale_levels=(20, 26, 34, 44),
        option_sessions=10,
        option_rounds=0,
        option_sets=2,
    ),
    "full": Profile(
        rows=200_000,
        reruns=4,
        seconds=120,
        shapes=((1, 0.5), (50, 0.5), (100, 3.0)),
        latency_apps=tuple(APPS),
        connection_levels=(10, 50, 100, 200, 500),
        connection_seconds=240,
        scale_levels=(30, 40, 51, 60, 75),
        option_sessions=50,
        option_rounds=2,
        option_sets=len(OPTIONS),
    ),
}


def _stats(
    app: str,
    sessions: int,
    reruns: int,
    results: list[SessionResult],
    env: dict[str, str],
    **figures: object,
) -> RunStats:
    examples: dict[str, str] = {}
    for result in results:
        if result.error and result.detail:
            examples.setdefault(result.error, result.detail)
    return RunStats(
        app=app,
        sessions=sessions,
        reruns_planned=sessions * reruns,
        latencies=[x for result in results for x in result.latencies],
        errors=errors_by_kind(results),
        pool_bound=load_settings(env).pool_bound,
        revenue_varied=sum(len(set(result.watched)) > 1 for result in results),
        error_examples=examples,
        **figures,
    )


ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A database error as SQLAlchemy words it in a traceback, and its pool's timeout.
DB_ERROR = re.compile(
    r"\((?:psycopg2|sqlalchemy)\.[\w.]+\) (.+)|(QueuePool limit of size \d+ overflow \d+ reached)"
)


def database_errors(log: Path) -> Counter[str]:
    """Database errors in a server's log by message: what the clients' kinds stand for."""
    found: Counter[str] = Counter()
    for line in ANSI.sub("", log.read_text(errors="replace")).splitlines():
        if match := DB_ERROR.search(line):
            found[" ".join((match.group(1) or match.group(2)).split())[:100]] += 1
    return found


def _print(stats: RunStats) -> None:
    print(
        f"{stats.label or stats.app}: {stats.sessions} sessions (think {stats.think_seconds} s,"
        f" {stats.replicas} replica(s)), {stats.reruns}/{stats.reruns_planned} reruns,"
        f" p50 {stats.percentile(50):.3f}s p95 {stats.percentile(95):.3f}s,"
        f" errors {dict(stats.errors)}, PG peak {stats.pg_peak}, {stats.samples} samples",
        flush=True,
    )


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
    think: float | None = None,
) -> RunStats:
    """Start one dashboard, load it with `sessions` tabs beside the samplers, stop it.

    With `pg`, the database is `env`'s APP_DATABASE_URL on that server.
    """
    think = SCENARIO.think_seconds if think is None else think
    log = work / f"{app}-{sessions}-{think}-{label.replace(' ', '_')}.log"
    database = make_url(env["APP_DATABASE_URL"]).database
    scenario = SCENARIOS.get(app, SCENARIO)
    with dashboard(env, log, extra_args=extra, script=APPS[app]) as server:
        sampler = Sampler(server.process.pid, pg and pg.url(), database)
        with sampler:
            results = asyncio.run(
                load(server.url, sessions, reruns, scenario, seconds=seconds, think_seconds=think)
            )
        try:
            metrics = streamlit_metrics(server.url)
        except requests.RequestException as error:  # an overloaded server may not answer
            print(f"{label}: no /_stcore/metrics after the load ({error})", flush=True)
            metrics = []
    sampler.count_transactions()
    samples = sampler.samples
    logged = database_errors(log)
    stats = _stats(
        app,
        sessions,
        reruns,
        results,
        env,
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
        think_seconds=think,
        logged_errors=logged,
    )
    _print(stats)
    return stats


# --- seed 001: a stock PostgreSQL -------------------------------------------------


def connection_sweep(
    levels: tuple[int, ...],
    reruns: int,
    seconds: float,
    env: dict[str, str],
    work: Path,
    pg: PostgresServer,
) -> list[RunStats]:
    """Reference and naive at each concurrency on `pg`; naive stops after its first failure."""
    runs = []
    naive_failed = False
    for n in levels:
        runs.append(measure("seed001 reference", "reference", n, reruns, seconds, env, work, pg))
        if not naive_failed:
            run = measure("seed001 naive", "naive", n, reruns, seconds, env, work, pg)
            runs.append(run)
            naive_failed = bool(run.errors)
    return runs


# --- scale-out: replicas behind the project's nginx --------------------------------


@dataclass
class EdgeTools:
    nginx: str
    oauth2_proxy: str
    issuer: str  # the test OpenID provider's URL


def edge_tools() -> EdgeTools | None:
    """nginx and the pinned oauth2-proxy, or None (with the reason printed) if missing."""
    try:
        nginx, proxy = edge.nginx_binary(), edge.oauth2_proxy_binary()
    except (pytest.skip.Exception, pytest.fail.Exception) as error:
        print(f"scale-out skipped: {error}", flush=True)
        return None
    return EdgeTools(nginx, proxy, "")


@dataclass
class ScaleEdge:
    url: str
    ports: list[int]  # the replicas' ports (one for 1 replica, named twice in the upstream)
    work: Path
    cookie: str = ""  # oauth2-proxy's session cookie, from one sign-in


@contextlib.contextmanager
def scale_edge(replicas: int, tools: EdgeTools, api_url: str, work: Path) -> Iterator[ScaleEdge]:
    """nginx with our config (only upstreams.conf and the ports replaced, as the e2e edge)
    and oauth2-proxy in front of `replicas` dashboard ports; the dashboards start per run.

    One replica is named twice in the upstream, so the config is the same file.
    """
    work.mkdir(parents=True, exist_ok=True)
    ports = [free_port() for _ in range(replicas)]
    addresses = [f"127.0.0.1:{port}" for port in ports]
    dashboards = [addresses[0], addresses[-1]]
    api = api_url.removeprefix("http://")
    with edge.signed_in_front(
        tools.nginx, tools.oauth2_proxy, tools.issuer, dashboards, api, work, client_id="bench"
    ) as front:
        yield ScaleEdge(front.url, ports, work)


def measure_edge(
    scale: ScaleEdge, sessions: int, reruns: int, seconds: float, env: dict[str, str]
) -> RunStats:
    """Fresh reference dashboards on the edge's ports, `sessions` signed-in tabs through
    nginx, each tab a browser of its own (its own sticky "route" cookie)."""
    replicas = len(scale.ports)
    with contextlib.ExitStack() as stack:
        servers: list[Server] = [
            stack.enter_context(
                dashboard(env, scale.work / f"dashboard-{i}-{sessions}.log", port=port)
            )
            for i, port in enumerate(scale.ports, 1)
        ]
        if not scale.cookie:  # the sign-in lands on a dashboard: sign in once they run
            jar = edge.cookie_jar(edge.sign_in(scale.url, SIGN_IN))
            scale.cookie = "; ".join(f"{k}={v}" for k, v in jar.items() if k != "route")

        def tab_cookie(n: int) -> dict[str, str]:
            return {"Cookie": f"{scale.cookie}; route=bench-tab-{n}"}

        samplers = [Sampler(server.process.pid) for server in servers]
        with contextlib.ExitStack() as sampling:
            for sampler in samplers:
                sampling.enter_context(sampler)
            results = asyncio.run(
                load(scale.url, sessions, reruns, seconds=seconds, session_headers=tab_cookie)
            )
    stats = _stats(
        "reference",
        sessions,
        reruns,
        results,
        env,
        rss_peak=max((max(s.samples.rss, default=0) for s in samplers), default=0),
        cpu_seconds=sum(s.samples.cpu_seconds for s in samplers),
        seconds=max(s.samples.wall_seconds for s in samplers),
        samples=sum(s.samples.count for s in samplers),
        label=f"{replicas} replica(s)",
        think_seconds=SCENARIO.think_seconds,
        replicas=replicas,
    )
    _print(stats)
    return stats


def scale_sweep(
    levels: tuple[int, ...],
    reruns: int,
    seconds: float,
    env: dict[str, str],
    tools: EdgeTools,
    api_url: str,
    work: Path,
) -> list[RunStats]:
    """1 then 2 replicas at rising sessions; the budget is the 1-replica p95 at the first
    level; each replica count stops at its first level over the budget or with errors."""
    runs: list[RunStats] = []
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the provider's request lines
    with edge.serve_issuer() as issuer:
        tools = replace(tools, issuer=issuer)
        for replicas in (1, 2):
            with scale_edge(replicas, tools, api_url, work / f"edge-{replicas}") as scale:
                for n in levels:
                    run = measure_edge(scale, n, reruns, seconds, env)
                    runs.append(run)
                    budget = scale_budget(runs, levels[0])
                    if run.errors or not run.percentile(95) <= budget:
                        break
    return runs


# --- the whole benchmark -----------------------------------------------------------


def _max_connections(pg: PostgresServer) -> int:
    with sa.create_engine(pg.url(), poolclass=sa.NullPool).connect() as conn:
        return int(conn.scalar(sa.text("SHOW max_connections")))


def machine_facts(
    args: argparse.Namespace, profile: Profile, pg: PostgresServer, stock: PostgresServer
) -> dict:
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    with sa.create_engine(pg.url(), poolclass=sa.NullPool).connect() as conn:
        pg_version = conn.scalar(sa.text("SHOW server_version"))
    command = shlex.join(["python", "-m", "tests.bench.run", *sys.argv[1:]])
    shapes = ", ".join(f"{n} (think {think:g} s)" for n, think in profile.shapes)
    return {
        "Command": f"`{command}` ({'make bench-full' if args.profile == 'full' else 'make bench'})",
        "Date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Machine": f"{os.cpu_count()} CPUs (nproc), {memory_kb / 2**20:.1f} GiB memory,"
        f" {platform.platform()}",
        "Software": f"Python {platform.python_version()}, Streamlit {streamlit.__version__},"
        f" PostgreSQL {pg_version}",
        "Load": f"{args.reruns} widget changes per session after the first run, think time"
        f" uniform in [0, think], every session opened at once, each run bounded by"
        f" {args.seconds:.0f} s (seed 001: {max(args.seconds, profile.connection_seconds):.0f} s);"
        f" {args.rows:,} orders; latency shapes: sessions {shapes};"
        f" PostgreSQL max_connections {_max_connections(pg)} for the latency, scale-out and"
        f" options parts, {_max_connections(stock)} (its default) for seed 001",
    }


NOTES = [
    "Client, servers, nginx, oauth2-proxy and PostgreSQL share one machine (the load"
    " generator too, on the same cores): figures compare apps measured in the same run;"
    " absolute seconds depend on the machine.",
    "Latency is from sending a widget change to `script_finished`, measured by the"
    " load generator (app/ops/loadtest.py, `make loadtest`) over Streamlit's WebSocket"
    " protocol; the first run of each session is not counted. The latency and seed 001"
    " parts load one dashboard process directly, to measure the process; the scale-out"
    " part goes through nginx and oauth2-proxy.",
    "Apps: reference is app/dashboard/streamlit_app.py as it is. floor"
    " (tests/bench/apps/floor.py) is the render floor: the same layout with a fixed set of"
    " answers computed at its first run (tests/bench/apps/precomputed.py), each rerun a dict"
    " lookup, so its cost is Streamlit rendering the page. trivial (tests/bench/apps/"
    "trivial.py) is one slider and one metric, loaded with the scenario's slider action only."
    " in-memory pandas (tests/bench/apps/pandas_memory.py) holds the orders in a DataFrame"
    " and computes each new filter with pandas over all of them. naive"
    " (tests/bench/apps/naive.py) makes an engine and its connections in the script body on"
    " every rerun, never disposes of it, caches nothing, aggregates the orders per filter"
    " (tests/bench/apps/sql.py, no rollup) and calls the API on every rerun.",
    "Seed 001: a second PostgreSQL started with no max_connections setting (PostgreSQL's"
    " default, 100), the dashboard and the API at the pool settings a user deploys"
    " (APP_DB_POOL_SIZE 5 + APP_DB_MAX_OVERFLOW 5 per process, the API's gunicorn workers at"
    " their default, each with its pool). A level fails when any session ends with an error;"
    " the naive app is not run above its first failing level.",
    "PG peak/mean: connections of the dashboard process in `pg_stat_activity` (client"
    " backends with application_name `dashboard`), sampled every 100 ms; bound ="
    " APP_DB_POOL_SIZE + APP_DB_MAX_OVERFLOW. API PG peak: the API's connections in the same"
    " samples. Transactions: `xact_commit + xact_rollback` of the database over the run.",
    "Scale-out: nginx runs our nginx/ config (only upstreams.conf and the listen ports"
    " replaced, as tests/e2e does; one replica is named twice in the upstream, so the file"
    " is the same) with oauth2-proxy and a test OpenID provider; the bench signs in once and"
    ' every tab sends that session cookie with a "route" cookie of its own, as separate'
    " browsers have, so nginx's consistent hash spreads tabs over the replicas. The"
    " dashboards restart at each level (cold caches, as the latency part). nginx limits one"
    " client address to a burst of 200 requests: the sweep stays below it. Sessions served"
    " at equal p95: the largest level whose p95 stays within the budget (the 1-replica p95"
    " at the first level) with no error. CPU %: the replicas' CPU together.",
    "RSS: peak resident memory of the dashboard process; CPU: its mean CPU time over the run"
    " in % of one core (from /proc). A Python process runs its script threads under one GIL,"
    " so near 100% means one replica is saturated.",
    "Revenue varied: sessions whose Revenue figure changed as they moved the filters (a check"
    " that the page really answered the filters).",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=PROFILES, default="quick")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--reruns", type=int)
    parser.add_argument("--seconds", type=float, help="bound of each load run")
    parser.add_argument("--no-options", action="store_true", help="skip the option comparison")
    parser.add_argument("--no-scale-out", action="store_true", help="skip the nginx scale-out")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmark.md"))
    args = parser.parse_args()
    profile = PROFILES[args.profile]
    args.rows = args.rows or profile.rows
    args.reruns = args.reruns or profile.reruns
    args.seconds = args.seconds or profile.seconds
    option_rounds = 0 if args.no_options else profile.option_rounds
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    results = Results()
    with contextlib.ExitStack() as stack:
        pg = PostgresServer()
        stack.callback(pg.destroy)
        stock = PostgresServer(max_connections=None)
        stack.callback(stock.destroy)
        env = seeded_env(pg.create_database(DATABASE), args.rows)
        stock_env = seeded_env(stock.create_database(DATABASE), args.rows)
        facts = machine_facts(args, profile, pg, stock)
        with api(env, work / "api.log") as api_server:
            env = {**env, "APP_API_URL": api_server.url}
            load_args = (args.reruns, args.seconds, env, work, pg)
            for sessions, think in profile.shapes:
                for app in profile.latency_apps:
                    run = measure(app, app, sessions, *load_args, think=think)
                    results.latency.append(run)
            tools = None if args.no_scale_out else edge_tools()
            if tools:
                results.scale = scale_sweep(
                    profile.scale_levels,
                    args.reruns,
                    args.seconds,
                    env,
                    tools,
                    api_server.url,
                    work,
                )
                results.scale_base = profile.scale_levels[0]
            # Rounds interleave the option sets so drift over the run hits each alike,
            # and each round starts at another set so none always runs first.
            labels = list(OPTIONS)[: profile.option_sets]
            by_label: dict[str, list[RunStats]] = {label: [] for label in labels}
            for round_ in range(option_rounds):
                shift = round_ % len(labels)
                for label in labels[shift:] + labels[:shift]:
                    n = profile.option_sessions
                    run = measure(label, "reference", n, *load_args, OPTIONS[label])
                    by_label[label].append(run)
            results.options = list(by_label.values()) if option_rounds else []
        with api(stock_env, work / "api-stock.log") as stock_api:
            stock_env = {**stock_env, "APP_API_URL": stock_api.url}
            results.connections = connection_sweep(
                profile.connection_levels,
                args.reruns,
                max(args.seconds, profile.connection_seconds),
                stock_env,
                work,
                stock,
            )
            results.max_connections = _max_connections(stock)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write(args.out, results, facts, NOTES)
    print(f"wrote {args.out} and {args.out.with_suffix('.png')} (server logs in {work})")


if __name__ == "__main__":
    main()
