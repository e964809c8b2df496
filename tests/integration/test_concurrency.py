"""Many dashboard sessions at once against one real Streamlit process.

Each session opens the WebSocket on the platform's status page and runs it
again and again: every run queries the database, uncached, through the
process's one engine (app/dashboard/session.py). Meanwhile a sampler counts
the process's database connections. The pool bound is set small (2 + 1) so
that an engine per session or per run would cross it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import servers
from tests.support.postgres import PostgresServer
from tests.support.sampler import Sampler
from tests.support.status import read_status, status_session
from tests.support.tools import free_port

SESSIONS = 24
RERUNS = 3
POOL = {"APP_DB_POOL_SIZE": "2", "APP_DB_MAX_OVERFLOW": "1"}
POOL_BOUND = 3


async def _one_session(url: str) -> list[str]:
    """Run the status page RERUNS + 1 times; returns its database line after each run."""
    async with status_session(url) as session:
        answers = []
        for _ in range(RERUNS + 1):
            shown = await read_status(session)
            assert shown.run.status == "FINISHED_SUCCESSFULLY"
            assert not shown.run.exceptions, shown.run.exceptions
            answers.append(shown.lines["database"])
        return answers


def _load(url: str) -> list[list[str]]:
    async def everyone():
        return await asyncio.gather(*(_one_session(url) for _ in range(SESSIONS)))

    return asyncio.run(everyone())


def _check(server: servers.Server, results: list[list[str]], sampler: Sampler[int]) -> None:
    assert len(results) == SESSIONS
    for answers in results:
        assert len(answers) == RERUNS + 1
        assert all(a.startswith("ok") for a in answers), answers
    log = server.output()
    assert "created in a thread" not in log
    assert "Traceback" not in log
    assert 1 <= sampler.peak <= POOL_BOUND, f"peak {sampler.peak} connections"


def _sqlite_connections(pid: int, database: Path) -> Callable[[], int]:
    """Open handles of `database` in process `pid`: one per SQLite connection."""

    def count() -> int:
        fds = Path(f"/proc/{pid}/fd")
        total = 0
        for fd in fds.iterdir():
            try:
                total += os.readlink(fd) == str(database)
            except OSError:
                continue  # closed while we looked
        return total

    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc to count")
def test_many_sessions_on_sqlite(sqlite_env: dict, tmp_path: Path):
    env = {**sqlite_env, **POOL, "APP_API_URL": f"http://127.0.0.1:{free_port()}"}
    database = Path(sqlite_env["APP_DATABASE_URL"].removeprefix("sqlite:///"))
    with servers.dashboard(env, tmp_path / "dashboard.log") as server:
        with Sampler(_sqlite_connections(server.process.pid, database)) as sampler:
            results = _load(server.url)
        _check(server, results, sampler)


def test_many_sessions_on_postgres(postgres: PostgresServer, pg_env: dict, tmp_path: Path):
    env = {**pg_env, **POOL, "APP_API_URL": f"http://127.0.0.1:{free_port()}"}
    with servers.dashboard(env, tmp_path / "dashboard.log") as server:
        with Sampler(lambda: postgres.connections("dashboard")) as sampler:
            results = _load(server.url)
        _check(server, results, sampler)
