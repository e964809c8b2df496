"""The smoke CLI run as a deployment pipeline does: a separate process, its exit code."""

import subprocess
import sys

from tests.support.tools import ROOT


def smoke(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.ops.smoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
