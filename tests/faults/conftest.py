"""The fault suite's report: each test adds its measured rows, which `make docs` puts into
docs/reliability.md."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.reliability import record_section

HEADER = ("fault", "what was measured", "target", "outcome")
PREAMBLE = """
Measured by `tests/faults/` (`make test PYTEST_ARGS=tests/faults`, then `make docs`).
Each fault is injected for real on loopback: a PostgreSQL server stopped with
`pg_ctl stop -m fast` and started again, or frozen with SIGSTOP on the
postmaster and every backend (connections stay open, the kernel still
acknowledges packets, nothing answers) and thawed with SIGCONT, under 20
browserless sessions (`app/ops/stream_client.py`) that rerun a page reading the
database and record notes from a form, against one real dashboard process (a
minimal app on the platform, `tests/support/apps/minimal.py`) and the real API
(gunicorn);
parts of an nginx edge killed with SIGKILL; a hostile signed-in user against an
nginx edge of its own (answers with long headers from every replica, sign-out
with a copied cookie and with a tab open, widget values of the wrong type);
PostgreSQL refusing writes with SQLSTATE 53100 (disk_full, raised by the
server from a trigger); bad configurations given to the
real entrypoint, gunicorn and the image. Times are given as the step they
stay under (2, 5, 10, 20, 30 s ...) and counts as their order of magnitude, so
the file changes only when an outcome does; "longest run" is the longest a script run took,
from the session's message to `script_finished`. The exact figures are printed
by each test (`pytest -s`).

How the outcomes are reached:

- **Every database wait is bounded on the client** (`app/core/db.py`): a new
  connection after `APP_DB_CONNECT_TIMEOUT`, any statement (pre-ping, query,
  commit) after `APP_DB_STATEMENT_TIMEOUT_MS` + 1 s, a free pooled connection
  after `APP_DB_POOL_TIMEOUT`. The server's `statement_timeout`, `lock_timeout`
  and `idle_in_transaction_session_timeout` need a server that answers, and
  TCP keepalives never fire while the frozen server's kernel answers for it.
  A connection given up on is closed, so SQLAlchemy invalidates the pool and
  the next run connects afresh. The suite runs with 2 s, 2000 ms and 2 s, a
  2 s API timeout: a run's bound is pool + connect + 2 x statement bound =
  10 s, asserted with a factor 2 for the loaded machine.
- **The page says "not answering, retrying"** and reruns itself every
  `APP_UNAVAILABLE_RETRY` seconds (a fragment's timer in the browser; the
  browserless sessions rerun on their own); failed reads are never cached.
- **Sign-ins and exports are audited through a backlog** written by one thread
  per dashboard process: a page never waits for them; an outage delays them,
  retried every `APP_UNAVAILABLE_RETRY` seconds, without losing them (a process
  that ends before the database returns loses what is still waiting; each
  retry logs how many).
- **A full disk is named, not retried**: SQLSTATE 53100 (and SQLite's
  SQLITE_FULL) is "the database refused the write: out of space"
  (`app/core/db.py`), never "not answering"; the audit backlog keeps its
  events and writes them once space returns.
- **No answer takes a replica out**: nginx buffers 32 KB of an answer's header
  (the longest a redirect of an 8 KB link gets), counts only connection
  errors and timeouts against a replica (`max_fails=3`, in a zone every
  worker shares), and a 502 or 503 from a replica passes to that client only.
- **Sign-out signs out**: oauth2-proxy keeps sessions in Valkey/Redis, so
  sign-out deletes them, and every dashboard session asks oauth2-proxy again
  at most every `APP_SESSION_RECHECK_SECONDS` ("Sign-out, and a tab left
  open" in docs/reliability.md).
- **`/api/readyz` stays public** at nginx (probes and monitors need it) and
  answers `{"status": "unavailable", "reason": "database"}` or `"schema"` (the
  Alembic head not reached) within `APP_READY_TIMEOUT`; the driver's message
  and the server's address go to the API's log only.
- **Production mode** (`APP_ENV=production`, set by the image and the chart):
  a missing database URL is an error, not an empty SQLite file. Both services
  check their configuration before they start (the entrypoint runs
  `check-config` before Streamlit, gunicorn.conf.py before gunicorn forks): one
  `configuration error:` line per problem and exit 2.

Not injected here: a real network partition (dropped packets; SIGSTOP stands
in for a server that does not answer, and the client bound covers both);
PostgreSQL refusing new connections at `max_connections`, a disk really filled
(the server raises disk_full's SQLSTATE instead), a crash in the middle of a
commit; a browser's own retry timer (the sessions rerun
themselves). A new sign-in while the identity provider is down ends at the
browser's own "cannot connect" page for the provider's address: nothing of
ours can answer there. oauth2-proxy down gives nginx's short 500 page (closed;
JSON on /api/).
"""


@pytest.fixture(scope="session")
def reliability() -> Iterator[dict[str, list[str]]]:
    """Rows by fault name (cells after the first); written when the session ends."""
    rows: dict[str, list[str]] = {}
    yield rows
    if rows:
        record_section("faults", PREAMBLE, HEADER, rows)
