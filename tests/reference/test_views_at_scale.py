"""The saved views page with 100,000 views, served by a real dashboard process over
its WebSocket: what one page view costs stays bounded, whatever the table holds."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from app.core.models import SavedView
from app.ops.stream_client import RunResult, Session
from tests.reference.data import UNIT_ROWS, seeded_env
from tests.support import servers

VIEWS = 100_000
PAGE_VIEW_LIMIT = 100 * 1024  # bytes: the bound; all of them were 10.85 MB


def test_a_page_view_of_100000_saved_views_sends_under_100_kb(tmp_path, bad_input_report):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    env = seeded_env(url, UNIT_ROWS)
    engine = sa.create_engine(url)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(SavedView),
            [
                {"name": f"view {i}", "owner": "many@example.com",
                 "filters": {"start": "2025-01-01"}, "created_at": now + dt.timedelta(seconds=i)}
                for i in range(VIEWS)
            ],
        )  # fmt: skip
    engine.dispose()

    async def page_view(dashboard_url: str) -> RunResult:
        async with Session(dashboard_url, timeout=120, page="saved_views") as session:
            return await session.run()

    with servers.dashboard(env, tmp_path / "dashboard.log") as dashboard:
        run = asyncio.run(page_view(dashboard.url))
    print(f"one page view of {VIEWS:,} saved views: {run.received:,} bytes")
    bad_input_report.record(
        f"saved views: {VIEWS:,} in the table, one page view",
        "dashboard (reference app)",
        ["under 100 KB" if run.received < PAGE_VIEW_LIMIT else "over 100 KB"],
    )
    assert run.received < PAGE_VIEW_LIMIT
    assert not run.exceptions, run.exceptions
    assert f"{VIEWS:,} saved views" in " ".join(run.texts), run.texts  # and how many in all
