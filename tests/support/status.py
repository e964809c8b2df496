"""The platform's status page (app/dashboard/session.py), how the platform's tests see any app.

Every app on the platform has it, hidden from its menu, at ``/_platform``: who
is signed in, which replica answers, and whether the database and the API do.
So the tests of the edge, the image, the chart, the cluster and the faults read
it instead of any page of the reference app, and hold when yours replaces it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from app.ops.stream_client import STATUS_PAGE, RunResult, Session

FIELDS = ("user", "name", "replica", "session", "database", "api", "checks")


@dataclass(frozen=True)
class Status:
    """One run of the status page: its ``name: value`` lines, and the run itself."""

    lines: dict[str, str]
    run: RunResult

    @property
    def user(self) -> str:
        return self.lines["user"]

    @property
    def name(self) -> str:
        return self.lines["name"]

    @property
    def replica(self) -> str:
        return self.lines["replica"]

    @property
    def database_ok(self) -> bool:
        return self.lines.get("database", "").startswith("ok")

    @property
    def api_ok(self) -> bool:
        return self.lines.get("api") == "ok"

    @property
    def checks(self) -> int:
        """Runs of the status page in this session so far."""
        return int(self.lines["checks"])


def parse(run: RunResult) -> Status:
    """The status page's lines of a run (none when the run showed something else)."""
    lines = dict(t.split(": ", 1) for t in run.texts if ": " in t)
    return Status({k: v for k, v in lines.items() if k in FIELDS}, run)


def status_session(
    url: str, headers: Mapping[str, str] | None = None, timeout: float = 60
) -> Session:
    """A browserless tab on the status page (open it with ``async with``)."""
    return Session(url, headers=headers, timeout=timeout, page=STATUS_PAGE)


async def read_status(session: Session) -> Status:
    """Run the status page once more in an open session."""
    return parse(await session.run())


def status(url: str, headers: Mapping[str, str] | None = None, timeout: float = 60) -> Status:
    """Open a session on the status page of the app at `url`, run it once, close it."""

    async def once() -> Status:
        async with status_session(url, headers, timeout) as session:
            return await read_status(session)

    return asyncio.run(once())
