"""`pgbouncer-config`: PgBouncer's files from APP_DATABASE_URL and the APP_* settings
(the real PgBouncer runs them in tests/integration/test_pgbouncer.py)."""

from pathlib import Path

import pytest

from app.core.pgbouncer import Pool, PoolerConfigError, render, write
from app.core.settings import load_settings


def settings(url: str, **env: str):
    return load_settings({"APP_DATABASE_URL": url, **env})


def ini_values(ini: str) -> dict[str, str]:
    """key = value lines (the first '=' splits), comments left out."""
    pairs = (line.partition("=") for line in ini.splitlines() if not line.startswith(";"))
    return {key.strip(): value.strip() for key, equals, value in pairs if equals}


def test_forwards_the_urls_database_with_the_services_limits():
    ini, userlist = render(
        settings(
            "postgresql://app:p%40ss%22w@db.example:5433/sales?sslmode=require",
            APP_DB_STATEMENT_TIMEOUT_MS="700",
            APP_DB_POOL_TIMEOUT="2.5",
        ),
        Pool(listen="*:6432", pool_size=4, reserve_pool=1, max_client_conn=50),
        Path("/run/pgbouncer/userlist.txt"),
    )
    values = ini_values(ini)
    assert values["sales"] == (
        "host=db.example port=5433 dbname=sales connect_query='SET statement_timeout = 700; "
        "SET lock_timeout = 700; SET idle_in_transaction_session_timeout = 1400'"
    )
    assert values["pool_mode"] == "transaction"
    assert (values["default_pool_size"], values["reserve_pool_size"]) == ("4", "1")
    assert values["max_db_connections"] == "5"
    assert values["max_client_conn"] == "50"
    assert values["query_wait_timeout"] == "3"  # whole seconds, never shorter
    assert values["server_tls_sslmode"] == "require"
    assert values["auth_file"] == "/run/pgbouncer/userlist.txt"
    # The URL's user and its decoded password, '"' doubled as the auth_file wants.
    assert userlist == '"app" "p@ss""w"\n'


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://app@db/app", "needs the password in the URL"),
        ("postgresql://app:x@/app", "needs a host of letters"),
        ("postgresql://app:x@db/my%20app", "needs a database of letters"),
        ("postgresql://app:x@db/app?options=-c%20x%3D1", "only the sslmode query option"),
        ("postgresql://app:x@db/app?sslmode=sometimes", "only the sslmode query option"),
        ("sqlite:///data/app.db", "forwards to PostgreSQL only"),
    ],
)
def test_a_url_pgbouncer_cannot_forward_is_refused_with_the_reason(url: str, problem: str):
    with pytest.raises(PoolerConfigError, match=rf"^APP_DATABASE_URL: .*{problem}"):
        render(settings(url), Pool(), Path("userlist.txt"))


def test_the_password_file_is_the_owners_alone(tmp_path: Path):
    ini = write(settings("postgresql://app:x@db/app"), Pool(), tmp_path / "conf")
    assert ini == tmp_path / "conf/pgbouncer.ini"
    assert (tmp_path / "conf/userlist.txt").stat().st_mode & 0o777 == 0o600
