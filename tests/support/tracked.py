"""A test run changes no tracked file: what it measures goes under test-artifacts/.

At the start of a session the content of every tracked file that differs from
git's index is noted (a developer's edits in progress); when the session ends,
any tracked file whose content changed during the run fails it, named.
Generated docs come from make targets that read the run's artifacts
(`make docs`), never from the tests themselves.
"""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from tests.support.tools import ROOT

BEFORE = pytest.StashKey[dict[str, str]]()


def tracked_state() -> dict[str, str] | None:
    """A hash of every tracked file by path, or None outside a git checkout."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=False
    )
    if listed.returncode != 0:
        return None
    state = {}
    for name in filter(None, listed.stdout.decode().split("\0")):
        path = ROOT / name
        state[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    return state


def pytest_sessionstart(session: pytest.Session) -> None:
    if (state := tracked_state()) is not None:
        session.stash[BEFORE] = state


def pytest_sessionfinish(session: pytest.Session) -> None:
    if BEFORE not in session.stash:
        return
    before, after = session.stash[BEFORE], tracked_state() or {}
    changed = sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(
            f"FAILED: the tests changed tracked files: {', '.join(changed)}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
