"""The ops tools run as a user or a pipeline runs them: a separate process, its exit code."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.tools import ROOT


def smoke(*args: str) -> subprocess.CompletedProcess:
    """``python -m app.ops.smoke ARGS``."""
    return subprocess.run(
        [sys.executable, "-m", "app.ops.smoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def make_loadtest(url: str, *args: str) -> subprocess.CompletedProcess:
    """``make loadtest URL=url ARGS`` with this interpreter's environment."""
    return _make("loadtest", url, *args)


def make_smoke(url: str, *args: str) -> subprocess.CompletedProcess:
    """``make smoke URL=url ARGS`` with this interpreter's environment."""
    return _make("smoke", url, *args)


def _make(target: str, url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", target, f"URL={url}", f"VENV={sys.prefix}", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
