"""Compare Streamlit server options on the reference dashboard under the same load.

    python -m bench.run --sessions 50 --reruns 3

Seeds a SQLite file in a temp dir, then for each option set starts the real
dashboard on 127.0.0.1, runs the load and prints p50/p95 as ratios to the first
(the baseline) row. Bounded: `--seconds` per option set.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from bench.load import errors_by_kind, load
from tests.conftest import seeded_env
from tests.support.servers import dashboard

OPTIONS = {
    "postScriptGC=false (config)": ("--runner.postScriptGC=false",),
    "postScriptGC=true": ("--runner.postScriptGC=true",),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    env = seeded_env(f"sqlite:///{work / 'app.db'}", args.rows)
    rows = []
    for name, extra in OPTIONS.items():
        with dashboard(env, work / "dashboard.log", extra_args=extra) as server:
            results = asyncio.run(
                load(server.url, args.sessions, args.reruns, seconds=args.seconds)
            )
        latencies = sorted(x for r in results for x in r.latencies)
        p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
        p50 = statistics.median(latencies) if latencies else float("nan")
        rows.append((name, p50, p95, dict(errors_by_kind(results))))
    base = rows[0]
    print(f"| options | p50 s | p95 s | p95 / baseline | errors |  ({args.sessions} sessions)")
    for name, p50, p95, errors in rows:
        print(f"| {name} | {p50:.3f} | {p95:.3f} | {p95 / base[2]:.2f} | {errors} |")


if __name__ == "__main__":
    main()
