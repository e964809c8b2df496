"""The fault suite's report: each test adds its measured rows, written to docs/reliability.md."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.reliability import write_section

HEADER = ("fault", "what was measured", "target", "outcome")
PREAMBLE = """
Written by `tests/faults/` from its last run (`make test PYTEST_ARGS=tests/faults`).
Each fault is injected for real on loopback: a PostgreSQL server stopped with
`pg_ctl stop -m fast` and started again, or frozen with SIGSTOP on the
postmaster and every backend (connections stay open, the kernel still
acknowledges packets, nothing answers) and thawed with SIGCONT, under 20
browserless sessions (`app/ops/stream_client.py`) that move the date slider and
save views against one real dashboard process and the real API (gunicorn);
bad configurations given to the real entrypoint, gunicorn and the image.
Times are rounded up to the next half second; "run wait" is the longest a
script run took, from the session's message to `script_finished`.
"""


@pytest.fixture(scope="session")
def reliability() -> Iterator[dict[str, list[str]]]:
    """Rows by fault name (cells after the first); written when the session ends."""
    rows: dict[str, list[str]] = {}
    yield rows
    if rows:
        write_section("faults", PREAMBLE, HEADER, rows)
