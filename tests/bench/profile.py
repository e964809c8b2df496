"""Where the dashboard process spends its one core under load: a sampling profile.

    python -m tests.bench.profile [--sessions 50] [--reruns 10] [--sqlite]   (make profile)

Starts its own PostgreSQL and API, seeds the orders, starts the reference
dashboard and loads it with `--sessions` tabs (app/ops/loadtest.py) while
py-spy samples the process. `--gil` keeps only the thread holding the GIL:
one Python process runs one script at a time, so these samples are where the
core goes. Prints the share of samples whose stack passes through each group
of functions below (a sample can count in several: the groups nest).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from app.ops.loadtest import load
from tests.reference.data import seeded_env
from tests.support.postgres import PostgresServer
from tests.support.servers import api, dashboard

RATE = 200  # samples per second
# Each group: the substrings of a py-spy frame ("function (file.py:line)") that
# put a sample in it.
GROUPS = {
    "script runs (all app code)": ("exec_func_with_error_handling",),
    "st.cache_data / st.cache_resource lookups": ("cache_utils.py",),
    "database reads (SQLAlchemy)": ("sqlalchemy/",),
    "API calls (requests)": ("requests/",),
    "pandas": ("pandas/",),
    "numpy": ("numpy/",),
    "config.get_option": ("get_option (streamlit/config.py",),
    "enqueueing deltas (_enqueue)": ("_enqueue (",),
    "pickling (cache copies)": ("pickle",),
    "Arrow (pandas strings, st.dataframe)": ("arrow",),
}


def collapse(raw: Path) -> Counter[str]:
    """py-spy's raw (collapsed) output as {stack: samples}."""
    stacks: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks[stack] += int(count)
    return stacks


def shares(stacks: Counter[str]) -> dict[str, float]:
    total = sum(stacks.values())
    return {
        group: sum(n for stack, n in stacks.items() if any(m in stack for m in marks)) / total
        for group, marks in GROUPS.items()
    }


def callers(stacks: Counter[str], mark: str, top: int = 5) -> list[tuple[str, float]]:
    """The frames just above the first frame matching `mark`: who calls it, by share."""
    total = sum(stacks.values())
    by: Counter[str] = Counter()
    for stack, n in stacks.items():
        frames = stack.split(";")
        for i, frame in enumerate(frames):
            if mark in frame:
                by[frames[i - 1] if i else "(root)"] += n
                break
    return [(frame, n / total) for frame, n in by.most_common(top)]


def script_lines(stacks: Counter[str], top: int = 12) -> list[tuple[str, float]]:
    """The page scripts' own lines (their innermost `<module>` frame), by share."""
    total = sum(stacks.values())
    by: Counter[str] = Counter()
    for stack, n in stacks.items():
        lines = [frame for frame in stack.split(";") if frame.startswith("<module> (")]
        if lines:
            by[lines[-1]] += n
    return [(line, n / total) for line, n in by.most_common(top)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--reruns", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=90, help="bound of the load")
    parser.add_argument("--script", default="app/dashboard/streamlit_app.py")
    parser.add_argument(
        "--sqlite", action="store_true", help="the embedded SQLite file (make run's default)"
    )
    args = parser.parse_args()
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if not py_spy:
        sys.exit("py-spy not found: make .venv/.dev installs it (requirements/dev.txt)")
    work = Path(tempfile.mkdtemp(prefix="profile-"))
    pg = PostgresServer()
    try:
        url = f"sqlite:///{work / 'app.db'}" if args.sqlite else pg.create_database("profile")
        env = seeded_env(url, args.rows)
        with api(env, work / "api.log") as api_server:
            env = {**env, "APP_API_URL": api_server.url}
            with dashboard(env, work / "dashboard.log", script=args.script) as server:
                # One tab first: imports and first reads are start-up, not rerun cost.
                asyncio.run(load(server.url, 1, 1, seconds=args.seconds))
                raw = work / "profile.txt"
                record = subprocess.Popen(
                    [py_spy, "record", "--pid", str(server.process.pid), "--gil", "--rate",
                     str(RATE), "--format", "raw", "--output", str(raw), "--nonblocking"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                )  # fmt: skip
                results = asyncio.run(
                    load(server.url, args.sessions, args.reruns, seconds=args.seconds)
                )
                record.send_signal(subprocess.signal.SIGINT)
                _, error = record.communicate(timeout=60)
        if not raw.exists():
            sys.exit(f"py-spy wrote no profile: {error}")
        stacks = collapse(raw)
        if not stacks:
            sys.exit(f"py-spy took no sample holding the GIL: a longer load? ({error})")
        reruns = sum(len(result.latencies) for result in results)
        samples = sum(stacks.values())
        print(f"{samples} samples at {RATE}/s, {reruns} reruns, {args.sessions} sessions:")
        print(f"{1000 * samples / RATE / reruns:.1f} ms holding the GIL per rerun,")
        database = "SQLite" if args.sqlite else "PostgreSQL"
        print(f"{args.rows:,} orders on {database}, script {args.script} (raw stacks: {raw})\n")
        print("| where the GIL holder was | share of samples |\n|---|---:|")
        for group, share in shares(stacks).items():
            print(f"| {group} | {share:.0%} |")
        for mark in ("get_option (streamlit/config.py", "_enqueue ("):
            print(f"\nCallers of {mark.split(' ')[0]}:")
            for frame, share in callers(stacks, mark):
                print(f"- {share:.1%} {frame}")
        per_rerun = 1000 * samples / RATE / reruns
        print("\nScript lines, ms holding the GIL per rerun (what each line's calls cost):")
        for line, share in script_lines(stacks):
            print(f"- {share * per_rerun:.2f} {line}")
    finally:
        pg.destroy()


if __name__ == "__main__":
    main()
