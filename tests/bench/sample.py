"""What the benchmark samples beside the load: PostgreSQL connections, server RSS and CPU,
metrics.

The tests' one sampler thread (tests/support/sampler.py) takes the samples,
every `interval` seconds, at most `limit` times. PostgreSQL is read with one
autocommit connection named ``bench-sampler`` (excluded from the counts).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.support import sampler

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLER_NAME = "bench-sampler"
ESTABLISHED = "01"  # TCP state in /proc/net/tcp
LABEL = re.compile(r'(\w+)="([^"]*)"')

# Client backends only: PostgreSQL lists a query's parallel workers under the
# leader's database and application_name, but they are not connections.
CONNECTIONS = sa.text(
    "SELECT application_name, count(*) FROM pg_stat_activity"
    " WHERE datname = :db AND application_name <> :me AND backend_type = 'client backend'"
    " GROUP BY application_name"
)
# pg_stat_statements would count statements but needs shared_preload_libraries
# (a server restart); transactions per database need no configuration.
TRANSACTIONS = sa.text(
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :db"
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (/proc/PID/statm, second field, in pages)."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


def tcp_connections(pid: int, port: int) -> int:
    """Established TCP connections of a process to `port`: its sockets in /proc/net/tcp{,6}.

    The client's own count: unlike pg_stat_activity it drops the moment a
    connection is closed, not when the server's backend has finished exiting.
    """
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # an fd closed while we looked
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()  # sl, local, remote, state, ..., inode (10th)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            count += fields[3] == ESTABLISHED and remote_port == port and fields[9] in inodes
    return count


def streamlit_metrics(base_url: str) -> list[tuple[str, dict[str, str], float]]:
    """Streamlit's /_stcore/metrics (OpenMetrics text) as (name, labels, value) samples."""
    response = requests.get(f"{base_url}/_stcore/metrics", timeout=10)
    response.raise_for_status()
    metrics = []
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            name, _, labels = series.partition("{")
            metrics.append((name, dict(LABEL.findall(labels)), float(value)))
    return metrics


@dataclass
class Samples:
    """What the sampler saw: connections per application_name per sample, sockets, RSS, CPU."""

    connections: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    rss: list[int] = field(default_factory=list)
    sockets: list[int] = field(default_factory=list)  # the server's connections to PostgreSQL
    count: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    transactions: int | None = None

    def peak(self, application_name: str) -> int:
        return max(self.connections.get(application_name, [0]), default=0)

    def mean(self, application_name: str) -> float:
        values = self.connections.get(application_name, [])
        # Samples where the service had no connection at all count as zero.
        return sum(values) / self.count if self.count else 0.0


class Sampler:
    """``with Sampler(pid, pg_url, db) as s: ...`` then ``s.samples``; PostgreSQL optional."""

    def __init__(
        self,
        pid: int,
        admin_url: str | None = None,
        database: str | None = None,
        interval: float = 0.1,
        limit: int = 20_000,
    ):
        self.pid, self.database, self.interval, self.limit = pid, database, interval, limit
        self.samples = Samples()
        self._port = make_url(admin_url).port if admin_url else None
        self._engine = (
            sa.create_engine(
                admin_url,
                poolclass=sa.NullPool,
                isolation_level="AUTOCOMMIT",
                connect_args={"application_name": SAMPLER_NAME},
            )
            if admin_url
            else None
        )
        self._conn: sa.Connection | None = None
        self._thread = sampler.Sampler(self._sample, interval, limit)

    def __enter__(self) -> Sampler:
        self._started = (time.monotonic(), cpu_seconds(self.pid))
        self._transactions = self._read_transactions()
        self._conn = self._engine.connect() if self._engine is not None else None
        self._thread.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.__exit__(*exc)
        if self._conn is not None:
            self._conn.close()
        self.samples.wall_seconds = time.monotonic() - self._started[0]
        self.samples.cpu_seconds = cpu_seconds(self.pid) - self._started[1]

    def count_transactions(self) -> None:
        """Transactions in the database since the start; call after the server stopped.

        Backends report their counts when they go idle or exit, so the final
        figure is only complete once the server's connections are closed.
        """
        if self._engine is not None:
            time.sleep(1.0)  # the statistics collector flushes at most once a second
            self.samples.transactions = self._read_transactions() - self._transactions
            self._engine.dispose()

    def _read_transactions(self) -> int:
        if self._engine is None:
            return 0
        with self._engine.connect() as conn:
            return conn.scalar(TRANSACTIONS, {"db": self.database}) or 0

    def _sample(self) -> bool | None:
        """One sample of everything; None once the server exited (nothing left to sample)."""
        conn = self._conn
        try:
            self.samples.rss.append(rss_bytes(self.pid))
        except FileNotFoundError:
            return None
        if conn is not None:
            self.samples.sockets.append(tcp_connections(self.pid, self._port))
            seen = dict(conn.execute(CONNECTIONS, {"db": self.database, "me": SAMPLER_NAME}).all())
            for name, count in seen.items():
                self.samples.connections[name].append(count)
        self.samples.count += 1
        return True
