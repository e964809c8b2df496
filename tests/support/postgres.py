"""A throwaway PostgreSQL cluster for a test session: initdb in a temp dir, 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

from tests.support.tools import free_port, require_tool

PG_BIN_DIRS = tuple(str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
HINT = "scripts/install-test-deps.sh --postgres (Debian/Ubuntu) or brew install postgresql"


class PostgresServer:
    """initdb + pg_ctl on a free loopback port; runs as `postgres` when we are root."""

    def __init__(self, base: Path | None = None, max_connections: int | None = 300):
        """Create and start a cluster under `base` (a fresh temp dir when None or root).

        `max_connections` None keeps PostgreSQL's default (100), as a stock server has.
        """
        initdb = require_tool("initdb", HINT, PG_BIN_DIRS)
        self.bin = Path(initdb).parent
        require_tool("pg_ctl", HINT, (str(self.bin),))
        self.port = free_port()
        self.max_connections = max_connections
        self.user = "postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses root: run as `postgres`, in a directory it can reach
            # (pytest's temp dirs are private to root).
            base = Path(tempfile.mkdtemp(prefix="template-pg-"))
            account = pwd.getpwnam("postgres")
            os.chown(base, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self.base = base or Path(tempfile.mkdtemp(prefix="template-pg-"))
        self.dir = self.base / "pgdata"
        self._run("initdb", "-D", str(self.dir), "-U", self.user, "-A", "trust", "--no-sync")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.bin / tool), *args], check=True, capture_output=True, timeout=120
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off"
        if self.max_connections is not None:
            options += f" -c max_connections={self.max_connections}"
        self._run(
            "pg_ctl",
            "-D",
            str(self.dir),
            "-o",
            options,
            "-l",
            str(self.base / "postgres.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-m", "fast", "-w", "stop")

    def _postmaster(self) -> int:
        return int((self.dir / "postmaster.pid").read_text().split()[0])

    def _backends(self, postmaster: int) -> list[int]:
        """The postmaster's children (backends, checkpointer, ...) from /proc."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):  # a process that just ended
                # pid (comm) state ppid ...: comm may hold spaces, so split after it.
                if int(stat.read_text().rpartition(")")[2].split()[1]) == postmaster:
                    children.append(int(stat.parent.name))
        return children

    def freeze(self) -> None:
        """SIGSTOP the server and every backend: connections stay open, nothing answers
        (a hung host or a paused VM). The postmaster first, so it forks no new backend."""
        postmaster = self._postmaster()
        os.kill(postmaster, signal.SIGSTOP)
        for pid in self._backends(postmaster):
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        postmaster = self._postmaster()
        for pid in self._backends(postmaster):
            os.kill(pid, signal.SIGCONT)
        os.kill(postmaster, signal.SIGCONT)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh empty database; returns its URL."""
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return self.url(name)

    def connections(self, application_name: str) -> int:
        """Open connections of one service in pg_stat_activity (client backends: a parallel
        query's workers are listed under the same application_name but are not connections)."""
        engine = sa.create_engine(self.url(), poolclass=sa.NullPool)
        with engine.connect() as conn:
            count = conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = :n AND backend_type = 'client backend'"
                ),
                {"n": application_name},
            )
        engine.dispose()
        return count

    def destroy(self) -> None:
        with contextlib.suppress(OSError):  # not running, or not frozen
            self.thaw()
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
