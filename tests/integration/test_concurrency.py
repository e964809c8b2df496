"""Many dashboard sessions at once against one real Streamlit process.

Each session opens the WebSocket, runs the page, then moves the date slider to
ranges no other session asked for (cache misses: real queries). Meanwhile a
sampler counts the process's database connections. The pool bound is set
small (2 + 1) so that an app that opened a connection per session or per
query would cross it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from app.ops.stream_client import Session
from tests.support import servers
from tests.support.postgres import PostgresServer
from tests.support.tools import free_port

SESSIONS = 24
RERUNS = 3
POOL = {"APP_DB_POOL_SIZE": "2", "APP_DB_MAX_OVERFLOW": "1"}
POOL_BOUND = 3
DAY_US = 86_400 * 1_000_000


class PeakSampler(threading.Thread):
    """Polls `count` every 50 ms until stopped; keeps the highest value seen."""

    def __init__(self, count: Callable[[], int]):
        super().__init__(daemon=True)
        self.count, self.peak, self.samples = count, 0, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.05):
            self.peak = max(self.peak, self.count())
            self.samples += 1

    def __enter__(self) -> PeakSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        self.join(timeout=5)


async def _one_session(url: str, index: int) -> list[str]:
    """Run the page, then RERUNS slider moves; returns the Revenue text after each run."""
    async with Session(url, timeout=60) as session:
        first = await session.run()
        revenues = [_revenue(first.texts)]
        slider = session.widgets["Order dates"].proto
        for step in range(RERUNS):
            start = slider.min + (index * RERUNS + step) * DAY_US
            result = await session.set("Order dates", [start, start + 45 * DAY_US])
            assert result.status == "FINISHED_SUCCESSFULLY"
            assert not result.exceptions, result.exceptions
            revenues.append(_revenue(result.texts))
        return revenues


def _revenue(texts: list[str]) -> str:
    return next(t for t in texts if t.startswith("Revenue: "))


def _load(url: str) -> list[list[str]]:
    async def everyone():
        return await asyncio.gather(*(_one_session(url, i) for i in range(SESSIONS)))

    return asyncio.run(everyone())


def _check(server: servers.Server, results: list[list[str]], sampler: PeakSampler) -> None:
    assert len(results) == SESSIONS
    for revenues in results:
        assert len(set(revenues)) > 1, "the slider did not change the numbers"
    log = server.output()
    assert "created in a thread" not in log
    assert "Traceback" not in log
    assert sampler.samples > 0
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
        with PeakSampler(_sqlite_connections(server.process.pid, database)) as sampler:
            results = _load(server.url)
        _check(server, results, sampler)


def test_many_sessions_on_postgres(postgres: PostgresServer, pg_env: dict, tmp_path: Path):
    env = {**pg_env, **POOL, "APP_API_URL": f"http://127.0.0.1:{free_port()}"}
    with servers.dashboard(env, tmp_path / "dashboard.log") as server:
        with PeakSampler(lambda: postgres.connections("dashboard")) as sampler:
            results = _load(server.url)
        _check(server, results, sampler)
