"""`make run`'s script: migrates the embedded SQLite file and serves both services."""

from __future__ import annotations

from pathlib import Path

from tests.support.run_local import run_local
from tests.support.status import status
from tests.support.tools import wait_until


def test_run_local_serves_dashboard_and_api_on_sqlite(tmp_path: Path):
    with run_local(tmp_path) as local:
        shown = status(local.dashboard_url)
        assert shown.database_ok, shown.lines
        assert shown.lines["database"] == "ok (sqlite)"
        assert shown.api_ok, shown.lines
        assert (local.data_dir / "app.db").is_file()
        # The script prints its addresses after its own poll of both services,
        # which may come a moment after ours.
        line = f"Dashboard: {local.dashboard_url}"
        output = wait_until(lambda: text if line in (text := local.log.read_text()) else "", line)
        assert "seeded" not in output  # demo data only when asked
        assert "setup plugin" not in output  # no library chatter buries the addresses
        banner = output.index(line)
        assert f"API:       {local.api_url}" in output[banner:]
        # The addresses come once both answer: after the servers' start-up lines.
        assert output.index("Uvicorn server started") < banner
        assert output.index("Booting worker") < banner
