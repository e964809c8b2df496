"""The chart's PgBouncer, for real: its configuration written by the real
`pgbouncer-config` command from the rendered init container's flags and
environment, the real pgbouncer binary started with the rendered container's
command, and the real API and engines reaching PostgreSQL through it by the
APP_DATABASE_VIA the chart gives them.

PostgreSQL here asks the app's role for its password (SCRAM), so PgBouncer
logs in with the one in APP_DATABASE_URL, and checks the services' with it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
import requests
import sqlalchemy as sa

from app.core.db import create_engine_for
from app.core.settings import load_settings
from tests.support import servers
from tests.support.chart import named
from tests.support.data import migrated_env
from tests.support.postgres import PostgresServer
from tests.support.sampler import Sampler
from tests.support.tools import ROOT, free_port, require_tool

HINT = "apt-get install pgbouncer (Debian/Ubuntu) or brew install pgbouncer"
POOL_SIZE = 3
STATEMENT_TIMEOUT_MS = 2000
USER, PASSWORD = "app", 'pa:ss"w@rd'  # characters the URL and the auth_file must escape
VALUES = {
    "pgbouncer": {"replicaCount": 1, "poolSize": POOL_SIZE, "reservePool": 0},
    "appSettings": {"APP_DB_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS)},
}


@dataclass
class Pooled:
    postgres: PostgresServer
    address: str  # PgBouncer's, standing in for its Service
    api_env: dict[str, str]  # the rendered API container's, on this machine


def _rendered(objects: list[dict], suffix: str, secrets: Path, via: str) -> tuple[dict, dict]:
    """(a Deployment's pod spec, its first app container's env made local): the
    secret files from `secrets`, the PgBouncer Service at `via`."""
    spec = named(objects, "Deployment", suffix)["spec"]["template"]["spec"]
    container = (spec.get("initContainers") or spec["containers"])[0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env["APP_SECRETS_DIR"] = str(secrets)
    if "APP_DATABASE_VIA" in env:
        env["APP_DATABASE_VIA"] = via
    return spec, env


def _unprivileged(directory: Path) -> list[str]:
    """pgbouncer refuses to run as root: then it runs as `postgres`, owning its
    files and the directory they are in."""
    if os.geteuid() != 0:
        return []
    account = pwd.getpwnam("postgres")
    for path in (directory.parent, directory, *directory.iterdir()):
        os.chown(path, account.pw_uid, account.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def pooled(render, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pooled]:
    pgbouncer = require_tool("pgbouncer", HINT, ("/usr/sbin",))
    postgres = PostgresServer(tmp_path_factory.mktemp("postgres"))
    # A temp dir of its own: pytest's are private to root, pgbouncer may not be.
    work = Path(tempfile.mkdtemp(prefix="template-pgbouncer-"))
    try:
        admin = sa.create_engine(postgres.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE ROLE {USER} LOGIN PASSWORD :p"), {"p": PASSWORD})
            conn.exec_driver_sql(f"CREATE DATABASE sales OWNER {USER}")
        admin.dispose()
        hba = postgres.dir / "pg_hba.conf"
        hba.write_text(f"host all {USER} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        postgres.stop()
        postgres.start()
        direct = f"postgresql://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{postgres.port}/sales"
        migrated_env(direct)
        secrets = work / "secrets"
        secrets.mkdir()
        (secrets / "APP_DATABASE_URL").write_text(direct)

        address = f"127.0.0.1:{free_port()}"
        objects = render("pgbouncer", VALUES)
        spec, config_env = _rendered(objects, "-pgbouncer", secrets, address)
        # The rendered flags, but for where to write and listen on this machine.
        out = work / "pgbouncer"
        args = [
            f"--out={out}" if a.startswith("--out=") else a
            for a in spec["initContainers"][0]["args"]
        ]
        args = [f"--listen={address}" if a.startswith("--listen=") else a for a in args]
        subprocess.run(
            [servers.ENTRYPOINT, *args],
            env={"PATH": f"{servers.BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
            | config_env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=60,
        )
        (command, ini) = spec["containers"][0]["command"]
        assert command == "pgbouncer"
        argv = [*_unprivileged(out), pgbouncer, str(out / Path(ini).name)]
        with servers.running(argv, work / "pgbouncer.log", f"tcp://{address}"):
            _, api_env = _rendered(objects, "-api", secrets, address)
            yield Pooled(postgres, address, api_env)
    finally:
        postgres.destroy()
        shutil.rmtree(work, ignore_errors=True)


def _server_connections(conn: sa.Connection) -> int:
    return conn.scalar(
        sa.text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE usename = :user AND backend_type = 'client backend'"
        ),
        {"user": USER},
    )


def _server_connections_sampler(postgres: PostgresServer) -> Sampler[int]:
    """Samples, every 20 ms while its block runs, of the app role's server connections."""
    engine = sa.create_engine(postgres.url(), isolation_level="AUTOCOMMIT")  # one kept connection

    def read() -> int:
        with engine.connect() as conn:
            return _server_connections(conn)

    return Sampler(read, interval=0.02)


def test_many_clients_share_the_pool_and_postgresql_sees_only_the_pool(pooled: Pooled, tmp_path):
    """24 engine connections held at once, each running short transactions, beside
    the real API (gunicorn, its workers' pools) under 48 concurrent requests: every
    one succeeds, and PostgreSQL never sees more than the chart's poolSize.

    The clients' waits are long: a loaded machine can queue a request behind the
    24 clients' transactions for seconds, and this test is about sharing (the
    limits have their own test below)."""
    clients = 24
    env = pooled.api_env | {
        "APP_DB_POOL_TIMEOUT": "30",
        "APP_DB_STATEMENT_TIMEOUT_MS": "30000",
        "APP_READY_TIMEOUT": "30",
    }
    settings = load_settings(env | {"APP_DB_POOL_SIZE": str(clients)})
    engine = create_engine_for(settings, "load")
    all_connected = threading.Barrier(clients)

    def transactions() -> int:
        with engine.connect() as conn:
            all_connected.wait(timeout=30)  # every client holds its connection now
            for _ in range(3):
                conn.execute(sa.text("SELECT pg_sleep(0.1)"))
                conn.commit()  # the transaction's end frees the server connection
        return 3

    with servers.api(env, tmp_path / "api.log") as api:
        paths = ["/readyz"] * 48  # each reads the schema's revision through the pooler
        with (
            _server_connections_sampler(pooled.postgres) as sampler,
            ThreadPoolExecutor(clients + 16) as pool,
        ):
            done = [pool.submit(transactions) for _ in range(clients)]
            answers = [pool.submit(requests.get, api.url + path, timeout=30) for path in paths]
            assert [f.result() for f in done] == [3] * clients
            assert [a.result().status_code for a in answers] == [200] * len(paths)
    engine.dispose()
    assert sampler.peak == POOL_SIZE, sampler.values


def test_the_services_limits_hold_through_the_pooler(pooled: Pooled):
    """Transaction pooling ignores the limits the engine sends at connect time;
    PgBouncer's connect_query sets the same ones on every server connection."""
    engine = create_engine_for(load_settings(pooled.api_env), "limits")
    with engine.connect() as conn:
        shown = {
            name: conn.scalar(sa.text(f"SHOW {name}"))
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        }
        assert shown == {
            "statement_timeout": "2s",
            "lock_timeout": "2s",
            "idle_in_transaction_session_timeout": "4s",
        }
        started = time.monotonic()
        # The server cancels it, not the client's own bound a second later.
        with pytest.raises(sa.exc.OperationalError, match="canceling statement due to statement"):
            conn.execute(sa.text("SELECT pg_sleep(10)"))
        assert time.monotonic() - started < STATEMENT_TIMEOUT_MS / 1000 + 0.9
    engine.dispose()


def test_pgbouncer_checks_the_password_with_scram(pooled: Pooled):
    host, port = pooled.address.split(":")
    with pytest.raises(psycopg2.OperationalError, match="SASL authentication failed"):
        psycopg2.connect(host=host, port=port, user=USER, password="wrong", dbname="sales")
