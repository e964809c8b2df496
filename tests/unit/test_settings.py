"""Settings: defaults, sources and their precedence, and errors that name the setting."""

import subprocess
import sys
from pathlib import Path

import pytest

from app.core.settings import ConfigError, load_server_settings, load_settings


def test_no_configuration_means_sqlite_under_data_dir(tmp_path: Path):
    settings = load_settings({"APP_DATA_DIR": str(tmp_path)})
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve()}/app.db"
    assert str(settings.api_url).startswith("http://127.0.0.1:8000")


def test_environment_overrides_defaults():
    settings = load_settings({"APP_DB_POOL_SIZE": "7", "APP_DB_MAX_OVERFLOW": "2"})
    assert (settings.db_pool_size, settings.pool_bound) == (7, 9)


def test_secret_files_are_read_and_the_environment_wins(tmp_path: Path):
    (tmp_path / "APP_DATABASE_URL").write_text("postgresql://app:s3cret@db:5432/app\n")
    (tmp_path / "app_db_pool_size").write_text("3")
    settings = load_settings({"APP_SECRETS_DIR": str(tmp_path), "APP_DB_POOL_SIZE": "4"})
    assert settings.sqlalchemy_url == "postgresql+psycopg2://app:s3cret@db:5432/app"
    assert settings.db_pool_size == 4
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"APP_DB_POOL_SIZE": "many"}, "APP_DB_POOL_SIZE: Input should be a valid integer"),
        ({"APP_DB_POOL_SIZE": "0"}, "APP_DB_POOL_SIZE: Input should be greater than or equal to 1"),
        ({"APP_API_URL": "api:8000"}, "APP_API_URL:"),
        ({"APP_DATABASE_URL": "mysql://x@y/z"}, "APP_DATABASE_URL: Value error, expected a URL"),
        ({"APP_CACHE_TTL": "-5"}, "APP_CACHE_TTL:"),
    ],
)
def test_a_bad_value_is_reported_by_its_variable_name(env: dict, named: str):
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert named in str(caught.value)


def test_every_bad_setting_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        load_settings({"APP_DB_POOL_SIZE": "x", "APP_API_TIMEOUT": "y"})
    assert "APP_DB_POOL_SIZE" in str(caught.value)
    assert "APP_API_TIMEOUT" in str(caught.value)


def test_a_missing_secrets_dir_is_named(tmp_path: Path):
    with pytest.raises(ConfigError, match="APP_SECRETS_DIR: expected a directory"):
        load_settings({"APP_SECRETS_DIR": str(tmp_path / "absent")})


def test_a_secret_value_never_appears_in_the_error():
    with pytest.raises(ConfigError) as caught:
        load_settings({"APP_DATABASE_URL": "mysql://root:hunter2@db/x"})
    assert "hunter2" not in str(caught.value)


def test_production_mode_requires_the_database_url(tmp_path: Path):
    """A secrets directory without the URL file: an error there, not an empty SQLite file."""
    with pytest.raises(ConfigError) as caught:
        load_settings({"APP_ENV": "production", "APP_SECRETS_DIR": str(tmp_path)})
    assert caught.value.problems == [
        "APP_DATABASE_URL: required when APP_ENV=production (set the variable, "
        "or the file APP_DATABASE_URL in APP_SECRETS_DIR)"
    ]
    (tmp_path / "APP_DATABASE_URL").write_text("postgresql://app@db/app")
    production = load_settings({"APP_ENV": "production", "APP_SECRETS_DIR": str(tmp_path)})
    assert production.sqlalchemy_url == "postgresql+psycopg2://app@db/app"


def test_development_keeps_the_sqlite_fallback(tmp_path: Path):
    settings = load_settings({"APP_SECRETS_DIR": str(tmp_path), "APP_DATA_DIR": str(tmp_path)})
    assert (settings.env, settings.sqlalchemy_url.startswith("sqlite:///")) == ("development", True)


def test_an_unknown_mode_is_named():
    with pytest.raises(ConfigError, match="APP_ENV: Input should be 'development' or 'production'"):
        load_settings({"APP_ENV": "prod"})


def check_config(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python -m app.core check-config` with only `env` (and a PATH) as its environment."""
    return subprocess.run(
        [sys.executable, "-m", "app.core", "check-config"],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )


def test_the_cli_reports_bad_config_one_line_per_problem():
    result = check_config({"APP_DB_POOL_SIZE": "lots", "APP_API_TIMEOUT": "-1"})
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert [line.split(":")[:2] for line in lines] == [
        ["configuration error", " APP_DB_POOL_SIZE"],
        ["configuration error", " APP_API_TIMEOUT"],
    ]


def test_the_api_servers_settings_are_checked_with_the_apps():
    result = check_config({"APP_DB_POOL_SIZE": "lots", "GUNICORN_WORKERS": "abc"})
    assert result.returncode == 2
    assert [line.split(":")[1] for line in result.stderr.splitlines()] == [
        " APP_DB_POOL_SIZE",
        " GUNICORN_WORKERS",
    ]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GUNICORN_WORKERS": "0"}, "GUNICORN_WORKERS: Input should be greater than or equal to 1"),
        ({"GUNICORN_TIMEOUT": "soon"}, "GUNICORN_TIMEOUT: Input should be a valid integer"),
        ({"GUNICORN_BIND": "8000"}, "GUNICORN_BIND: Value error, expected host:port"),
    ],
)
def test_a_bad_server_setting_is_reported_by_its_variable_name(env: dict, named: str):
    with pytest.raises(ConfigError) as error:
        load_server_settings(env)
    assert error.value.problems[0].startswith(named), error.value.problems


def test_server_settings_default_and_read_their_variables():
    assert load_server_settings({}).workers == 2
    server = load_server_settings({"GUNICORN_WORKERS": "3", "GUNICORN_BIND": "0.0.0.0:8000"})
    assert (server.workers, server.bind) == (3, "0.0.0.0:8000")


def test_an_unknown_setting_is_named_with_the_closest_one(settings_for, caplog):
    settings = settings_for({"APP_DB_POOLSIZE": "3", "APP_CACHE_TTL": "60", "APP_ZZZ": "1"})
    assert settings.db_pool_size == 5  # the misspelt one changed nothing
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "APP_DB_POOLSIZE is not a setting of this app and is ignored; did you mean "
        "APP_DB_POOL_SIZE?",
        "APP_ZZZ is not a setting of this app and is ignored",
    ]


def test_check_config_shows_the_warning_and_still_passes():
    result = check_config({"APP_CACHE_TL": "60"})
    assert result.returncode == 0, result.stderr
    assert "APP_CACHE_TL is not a setting of this app and is ignored; did you mean" in result.stderr


def test_database_via_keeps_the_urls_credentials_and_database():
    settings = load_settings(
        {
            "APP_DATABASE_URL": "postgresql://app:s3cret@db.example:5433/sales?sslmode=require",
            "APP_DATABASE_VIA": "demo-pgbouncer:6432",
        }
    )
    # TLS is PgBouncer's to PostgreSQL; the hop to it stays in the cluster.
    assert settings.connect_url == "postgresql+psycopg2://app:s3cret@demo-pgbouncer:6432/sales"
    # The direct URL (migrations, the pooler's own configuration) is unchanged.
    assert settings.sqlalchemy_url.endswith("@db.example:5433/sales?sslmode=require")


@pytest.mark.parametrize("via", ["pgbouncer", "pgbouncer:", ":6432", "pgbouncer:0", "pgb:65536"])
def test_a_bad_database_via_is_named_with_what_was_expected(via: str):
    with pytest.raises(ConfigError) as caught:
        load_settings({"APP_DATABASE_URL": "postgresql://app:x@db/app", "APP_DATABASE_VIA": via})
    assert caught.value.problems == [
        f"APP_DATABASE_VIA: Value error, expected host:port with a port from 1 to 65535, "
        f"got {via!r}"
    ]


def test_database_via_needs_a_postgresql_url(tmp_path: Path):
    with pytest.raises(ConfigError, match="APP_DATABASE_VIA: a pooler needs a PostgreSQL"):
        load_settings({"APP_DATA_DIR": str(tmp_path), "APP_DATABASE_VIA": "pgbouncer:6432"})
