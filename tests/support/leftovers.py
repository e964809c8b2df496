"""No podman object outlives the test run that made it.

At the start of a session the containers, pods, volumes and networks podman
lists are noted; when the session ends (every fixture torn down) whatever is
listed and was not there before fails the run, named. Images are not counted:
the built app image and the stand-ins are reused by later runs on purpose.
Objects named by another test session running at the same time (its token in
their names, tests/support/image.py unique) are not this run's.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.support.image import SESSION_PREFIX, podman

# podman's listings, one name per line.
LISTS = {
    "container": ("ps", "--all", "--format", "{{.Names}}"),
    "pod": ("pod", "ps", "--format", "{{.Name}}"),
    "volume": ("volume", "ls", "--format", "{{.Name}}"),
    "network": ("network", "ls", "--format", "{{.Name}}"),
}
BEFORE = pytest.StashKey[set[str]]()
ANY_SESSION = re.compile(r"stt-[0-9a-f]{6}-")


def podman_objects() -> set[str]:
    """'kind name' of every container, pod, volume and network podman lists now."""
    found = set()
    for kind, args in LISTS.items():
        listed = podman(*args, check=False, timeout=60)
        found |= {
            f"{kind} {name}"
            for name in listed.stdout.split()
            if SESSION_PREFIX in name or not ANY_SESSION.search(name)
        }
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    if shutil.which("podman"):
        session.stash[BEFORE] = podman_objects()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if BEFORE not in session.stash:
        return
    left = sorted(podman_objects() - session.stash[BEFORE])
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(
            f"FAILED: the tests left podman objects behind: {', '.join(left)}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
