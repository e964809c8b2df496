"""Finding the real programs tests need; the CI policy for missing ones.

In CI (CI=true) a missing tool fails the test: CI must have installed it
(scripts/install-test-deps.sh). On a laptop the test skips and says how to
install it.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")
IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parents[2]
# Where scripts/install-test-deps.sh links the Go tools it built (oauth2-proxy, helm, ...).
TOOLS_BIN = ROOT / ".tools/bin"


def missing(what: str, hint: str) -> None:
    """Fail in CI, skip elsewhere, naming what is missing and how to get it."""
    message = f"{what} is not available; install it: {hint}"
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def require_tool(name: str, hint: str, extra_dirs: tuple[str, ...] = ()) -> str:
    """The path of program `name` on PATH (or in extra_dirs), or fail/skip."""
    search = os.pathsep.join([*extra_dirs, os.environ.get("PATH", "")])
    found = shutil.which(name, path=search)
    if found is None:
        missing(f"the program {name!r}", hint)
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    condition: Callable[[], T], what: str, timeout: float = 60, interval: float = 0.2
) -> T:
    """Call `condition` until it returns something truthy, and return that; after
    `timeout` seconds, fail naming `what` was awaited and the last value seen.

    The one poll loop of the tests: every wait on something that happens a
    moment later (a thread's write, a server's start, a rollout) goes through it.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; last seen: {value!r}")
        time.sleep(interval)
