"""`make run`'s script: seeds the embedded SQLite demo data and serves both services."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.support.servers import wait_http
from tests.support.tools import ROOT, free_port


def test_run_local_serves_dashboard_and_api_on_sqlite(tmp_path: Path):
    dashboard_port, api_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("APP_")},
        "VENV": sys.prefix,
        "DASHBOARD_PORT": str(dashboard_port),
        "API_PORT": str(api_port),
        "APP_DATA_DIR": str(tmp_path / "data"),
        "APP_SEED_ROWS": "2000",
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(ROOT / "scripts/run-local.sh")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_http(f"http://127.0.0.1:{dashboard_port}/_stcore/health", process, log)
        wait_http(f"http://127.0.0.1:{api_port}/readyz", process, log)
        forecast = requests.get(f"http://127.0.0.1:{api_port}/api/v1/forecast", timeout=10)
        assert forecast.status_code == 200
        assert len(forecast.json()["history"]) == 24  # two seeded years of months
        assert (tmp_path / "data" / "app.db").is_file()
        output = log.read_text()
        assert f"http://127.0.0.1:{dashboard_port}" in output
        assert f"http://127.0.0.1:{api_port}" in output
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
