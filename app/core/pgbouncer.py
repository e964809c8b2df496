"""PgBouncer's configuration from the app's own settings: ``python -m app.core pgbouncer-config``.

The chart runs it in an init container of its PgBouncer pods, so the one
secret stays APP_DATABASE_URL: ``pgbouncer.ini`` forwards the URL's database
to its host and port, and ``userlist.txt`` lets its user in with its password
(which PgBouncer also uses to log in to PostgreSQL). The services then reach
PgBouncer through APP_DATABASE_VIA with the same URL.

Transaction pooling hands a server connection to a client for one transaction
only, so PgBouncer ignores the ``options`` the services send at connect time
(app/core/db.py); each server connection gets the same limits once, from
``connect_query``, and a client waits for one at most ``db_pool_timeout`` s.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine.url import make_url

from app.core.db import session_timeouts
from app.core.settings import Settings

# What goes unquoted into pgbouncer.ini's [databases] line.
PLAIN = re.compile(r"^[A-Za-z0-9_.-]+$")
SSL_MODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


@dataclass(frozen=True)
class Pool:
    """The pooler's sizes, per PgBouncer process (the chart's pgbouncer.* values)."""

    listen: str = "*:6432"
    pool_size: int = 20
    reserve_pool: int = 0
    max_client_conn: int = 1000


class PoolerConfigError(ValueError):
    """APP_DATABASE_URL cannot be forwarded by PgBouncer; the message says why."""


def render(settings: Settings, pool: Pool, auth_file: Path) -> tuple[str, str]:
    """(pgbouncer.ini, userlist.txt) for the database of APP_DATABASE_URL."""
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() != "postgresql":
        raise PoolerConfigError("APP_DATABASE_URL: PgBouncer forwards to PostgreSQL only")
    for part, value in (("host", url.host), ("database", url.database), ("user", url.username)):
        if not value or not PLAIN.match(value):
            raise PoolerConfigError(
                f"APP_DATABASE_URL: PgBouncer needs a {part} of letters, digits, '_', '.' "
                f"or '-', got {value!r}"
            )
    if not url.password:
        raise PoolerConfigError(
            "APP_DATABASE_URL: PgBouncer needs the password in the URL (it checks the "
            "services' logins with it and logs in to PostgreSQL with it)"
        )
    query = dict(url.query)
    sslmode = query.pop("sslmode", None)
    if query or (sslmode is not None and sslmode not in SSL_MODES):
        raise PoolerConfigError(
            "APP_DATABASE_URL: behind PgBouncer only the sslmode query option is supported"
            f" ({', '.join(sorted(SSL_MODES))})"
        )
    listen_addr, _, listen_port = pool.listen.rpartition(":")
    limits = "; ".join(f"SET {name} = {ms}" for name, ms in session_timeouts(settings).items())
    forward = f"host={url.host} port={url.port or 5432} dbname={url.database}"
    lines = [
        "; Written by `python -m app.core pgbouncer-config` from APP_DATABASE_URL and APP_*.",
        "[databases]",
        # The services' own limits, which transaction pooling cannot take from them.
        f"{url.database} = {forward} connect_query='{limits}'",
        "[pgbouncer]",
        f"listen_addr = {listen_addr}",
        f"listen_port = {listen_port}",
        "unix_socket_dir =",  # TCP only: nothing to write on a read-only root
        "auth_type = scram-sha-256",
        f"auth_file = {auth_file}",
        "pool_mode = transaction",
        f"default_pool_size = {pool.pool_size}",
        f"reserve_pool_size = {pool.reserve_pool}",
        # The hard cap PostgreSQL sees from this process, whoever logs in.
        f"max_db_connections = {pool.pool_size + pool.reserve_pool}",
        f"max_client_conn = {pool.max_client_conn}",
        "ignore_startup_parameters = options",
        f"server_connect_timeout = {settings.db_connect_timeout}",
        f"query_wait_timeout = {math.ceil(settings.db_pool_timeout)}",
    ]
    if sslmode is not None:
        lines.append(f"server_tls_sslmode = {sslmode}")
    # auth_file: each field in double quotes, a double quote in it doubled.
    user, password = (
        '"' + value.replace('"', '""') + '"' for value in (url.username, url.password)
    )
    return "\n".join(lines) + "\n", f"{user} {password}\n"


def write(settings: Settings, pool: Pool, out: Path) -> Path:
    """Write pgbouncer.ini and userlist.txt (owner-only) into `out`; returns the ini's path."""
    ini, userlist = render(settings, pool, out / "userlist.txt")
    out.mkdir(parents=True, exist_ok=True)
    auth = out / "userlist.txt"
    auth.touch(mode=0o600)
    auth.write_text(userlist)
    (out / "pgbouncer.ini").write_text(ini)
    return out / "pgbouncer.ini"
