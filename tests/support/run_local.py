"""`make run`'s script (scripts/run-local.sh) started on free ports, for as long as a block runs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import wait_http
from tests.support.tools import ROOT, free_port


@dataclass(frozen=True)
class Local:
    dashboard_url: str
    api_url: str
    data_dir: Path
    log: Path


@contextlib.contextmanager
def run_local(tmp_path: Path, root: Path = ROOT, **env: str) -> Iterator[Local]:
    """`root`'s scripts/run-local.sh (this checkout's, or a generated project's) with
    no APP_* setting but its data directory under `tmp_path`, and `env`."""
    dashboard_port, api_port = free_port(), free_port()
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("APP_")},
        "VENV": sys.prefix,
        "DASHBOARD_PORT": str(dashboard_port),
        "API_PORT": str(api_port),
        "APP_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(root),
        **env,
    }
    log = tmp_path / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(root / "scripts/run-local.sh")],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    local = Local(
        f"http://127.0.0.1:{dashboard_port}", f"http://127.0.0.1:{api_port}", tmp_path / "data", log
    )
    try:
        wait_http(f"{local.dashboard_url}/_stcore/health", process, log)
        wait_http(f"{local.api_url}/readyz", process, log)
        yield local
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
