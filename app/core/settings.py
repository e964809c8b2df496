"""The one typed settings module of the dashboard, the API and the CLI.

Every setting is read, in this order of precedence, from:

1. the environment variable ``APP_<NAME>`` (for example ``APP_DB_POOL_SIZE``);
2. a file called ``APP_<NAME>`` (any case) in the directory named by
   ``APP_SECRETS_DIR``: a Kubernetes-style secret mount, one value per file;
3. the default below.

No configuration at all gives a working local setup: an SQLite file under
``data/``, seeded demo data, the API on localhost. ``APP_ENV=production`` (the
image and the chart set it) turns that fallback off: there a missing database
URL is an error, never a silent empty SQLite file. A wrong value stops the
process at start-up with one line per bad setting, naming it and what was
expected (``python -m app.core check-config`` prints them and exits 2).
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine.url import make_url

log = logging.getLogger(__name__)
ENV_PREFIX = "APP_"
SECRETS_DIR_VARIABLE = "APP_SECRETS_DIR"

# URL schemes accepted in APP_DATABASE_URL and the driver each one means.
SUPPORTED_SCHEMES = {
    "postgresql": "postgresql+psycopg2",
    "postgres": "postgresql+psycopg2",
    "postgresql+psycopg2": "postgresql+psycopg2",
    "sqlite": "sqlite",
}

PositiveInt = Annotated[int, Field(ge=1)]
PositiveFloat = Annotated[float, Field(gt=0)]


class ConfigError(Exception):
    """Configuration is wrong; `problems` holds one line per bad setting, each naming it."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class Settings(BaseModel):
    # Unknown APP_* names are ignored with a warning (load_settings): a typo
    # must not stop a service, nor pass unnoticed. The chart's schema refuses them.
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    env: Literal["development", "production"] = Field(
        "development",
        description="production: APP_DATABASE_URL is required (no SQLite fallback). "
        "The image and the chart set it; `make run` keeps development.",
    )
    data_dir: Path = Field(
        Path("data"),
        description="Directory for the embedded SQLite file when APP_DATABASE_URL is unset.",
    )
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg2://user:pass@host:5432/db. "
        "Unset: an SQLite file in APP_DATA_DIR. A secret: prefer the secret file.",
    )
    database_via: str | None = Field(
        None,
        description="host:port of a connection pooler (PgBouncer) the services reach the "
        "database through: it replaces APP_DATABASE_URL's host and port, keeping its user, "
        "password and database name. The chart sets it with pgbouncer.enabled.",
    )
    db_pool_size: PositiveInt = Field(
        5, description="Connections each process keeps open in its pool."
    )
    db_max_overflow: Annotated[int, Field(ge=0)] = Field(
        5, description="Extra connections a process may open above the pool size under load."
    )
    db_pool_timeout: PositiveFloat = Field(
        10.0, description="Seconds a request waits for a free pooled connection before failing."
    )
    db_pool_recycle: PositiveInt = Field(
        1800, description="Seconds after which a pooled connection is replaced (server idle cuts)."
    )
    db_statement_timeout_ms: PositiveInt = Field(
        15000, description="PostgreSQL statement_timeout for every session, in milliseconds."
    )
    db_connect_timeout: PositiveInt = Field(
        5, description="Seconds to wait for a new database connection."
    )
    api_url: AnyHttpUrl = Field(
        AnyHttpUrl("http://127.0.0.1:8000"),
        description="Base URL of the API as the dashboard reaches it.",
    )
    api_timeout: PositiveFloat = Field(
        5.0, description="Seconds the dashboard waits for an API answer before showing a message."
    )
    session_max_age: PositiveInt = Field(
        3600,
        description=(
            "Seconds a dashboard session (one open tab's WebSocket) serves the page after"
            " it opened; then the page asks for a reload, which signs in again if the"
            " session cookie is gone. Without APP_SESSION_CHECK_URL, how long an open tab"
            " outlives sign-out."
        ),
    )
    session_check_url: AnyHttpUrl | None = Field(
        None,
        description="oauth2-proxy's /oauth2/auth as the dashboard reaches it (compose:"
        " http://oauth2-proxy:4180/oauth2/auth; the chart's sidecar: http://127.0.0.1:4180/"
        "oauth2/auth). Set: a run asks it, at most every APP_SESSION_RECHECK_SECONDS, whether"
        " the session's sign-in still holds, and a refused one stops the page with a request"
        " to sign in again. Unset (`make run`, no sign-in): no check.",
    )
    session_recheck_seconds: Annotated[int, Field(ge=0)] = Field(
        30,
        description="Seconds between two checks of a session's sign-in (APP_SESSION_CHECK_URL):"
        " how long an open tab outlives sign-out or expiry, counted to its next run. 0: every run.",
    )
    cache_ttl: PositiveInt = Field(
        300,
        description="Seconds the sales rollup (dashboard and API) and the dashboard's cached"
        " answers stay fresh: how long new orders take to show.",
    )
    cache_max_entries: PositiveInt = Field(
        1000, description="Most cached results kept per query function in a dashboard process."
    )
    unavailable_retry: PositiveFloat = Field(
        2.0,
        description="Seconds between a dashboard page's own retries while the database "
        "is unavailable, and between tries of an audit event waiting to be written.",
    )
    ready_timeout: PositiveFloat = Field(
        2.0, description="Seconds the API's /readyz waits for the database before answering 503."
    )
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = Field(
        0,
        description="Port of the dashboard's Prometheus metrics server (/metrics on every "
        "address; keep it off the public route). 0: no server. The API serves /metrics itself.",
    )
    metrics_address: str = Field(
        "0.0.0.0",  # noqa: S104 (Prometheus scrapes it from another host)
        description="Address the dashboard's metrics server listens on.",
    )
    seed_rows: PositiveInt = Field(
        20_000, description="Orders the seed command generates when --rows is not given."
    )

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        url = value.get_secret_value().strip()
        scheme, separator, rest = url.partition("://")
        if not separator or scheme not in SUPPORTED_SCHEMES:
            raise ValueError(
                "expected a URL starting with postgresql:// (psycopg2 driver) or sqlite:///"
            )
        # psycopg2 is the driver this app ships; a bare postgresql:// means it.
        return SecretStr(f"{SUPPORTED_SCHEMES[scheme]}://{rest}")

    @field_validator("database_via")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if value is None:
            return value
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"expected host:port with a port from 1 to 65535, got {value!r}")
        return value

    @model_validator(mode="after")
    def _via_needs_postgresql(self) -> Settings:
        if self.database_via is not None and not self.sqlalchemy_url.startswith("postgresql"):
            raise ValueError(
                "APP_DATABASE_VIA: a pooler needs a PostgreSQL APP_DATABASE_URL to forward to"
            )
        return self

    @model_validator(mode="after")
    def _production_names_its_database(self) -> Settings:
        if self.env == "production" and self.database_url is None:
            raise ValueError(
                "APP_DATABASE_URL: required when APP_ENV=production (set the variable, "
                f"or the file APP_DATABASE_URL in {SECRETS_DIR_VARIABLE})"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL itself; SQLite under data_dir when none is set."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'app.db').resolve()}"

    @property
    def connect_url(self) -> str:
        """The URL the services connect to: through APP_DATABASE_VIA when set.

        The TLS options go: they are for PostgreSQL, which the pooler reaches
        with its own (`pgbouncer-config`); the hop to the pooler stays in the cluster.
        """
        if self.database_via is None:
            return self.sqlalchemy_url
        host, _, port = self.database_via.rpartition(":")
        url = make_url(self.sqlalchemy_url).set(host=host, port=int(port))
        ssl = [key for key in url.query if key.startswith("ssl")]
        return url.difference_update_query(ssl).render_as_string(hide_password=False)

    @property
    def pool_bound(self) -> int:
        """Most connections one process can hold: the figure load tests check."""
        return self.db_pool_size + self.db_max_overflow


class ServerSettings(BaseModel):
    """The API server's process settings: ``GUNICORN_<NAME>`` variables, checked
    like the app's (one line each, exit 2) before gunicorn reads any of them."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    bind: str = Field("127.0.0.1:8000", description="host:port gunicorn listens on.")
    workers: PositiveInt = Field(2, description="Worker processes, each with its own pool.")
    threads: PositiveInt = Field(4, description="Threads per worker.")
    timeout: PositiveInt = Field(
        30, description="Seconds a request may take before its worker is killed and logged."
    )
    graceful_timeout: Annotated[int, Field(ge=0)] = Field(
        20, description="Seconds in-flight requests get to finish after SIGTERM (rollouts)."
    )
    worker_tmp_dir: str | None = Field(
        None, description="Directory of the workers' heartbeat files (default: /dev/shm)."
    )

    @field_validator("bind")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"expected host:port with a port from 0 to 65535, got {value!r}")
        return value


SERVER_PREFIX = "GUNICORN_"


def _describe(error: dict, prefix: str = ENV_PREFIX) -> str:
    if not error["loc"]:  # a rule across settings: its message names them
        return str(error["ctx"]["error"])
    return f"{prefix}{str(error['loc'][0]).upper()}: {error['msg']}"


def _read_secrets_dir(directory: Path) -> dict[str, str]:
    """Values from files named like the variables (APP_DATABASE_URL, any case)."""
    values = {}
    for path in directory.iterdir():
        name = path.name.upper()
        if name.startswith(ENV_PREFIX) and path.is_file():
            values[name[len(ENV_PREFIX) :].lower()] = path.read_text().rstrip("\r\n")
    return values


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (default: os.environ) and the secrets directory.

    Raises ConfigError with one problem per bad setting.
    """
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    secrets_dir = env.get(SECRETS_DIR_VARIABLE)
    if secrets_dir is not None:
        if not Path(secrets_dir).is_dir():
            raise ConfigError(
                [
                    f"{SECRETS_DIR_VARIABLE}: expected a directory of secret files, "
                    f"but {secrets_dir!r} is not one"
                ]
            )
        values.update(_read_secrets_dir(Path(secrets_dir)))
    values.update(
        (key[len(ENV_PREFIX) :].lower(), value)
        for key, value in env.items()
        if key.startswith(ENV_PREFIX) and key != SECRETS_DIR_VARIABLE
    )
    for name in sorted(set(values) - set(Settings.model_fields)):
        close = difflib.get_close_matches(name, Settings.model_fields, n=1)
        hint = f"; did you mean {ENV_PREFIX}{close[0].upper()}?" if close else ""
        log.warning(
            "%s%s is not a setting of this app and is ignored%s", ENV_PREFIX, name.upper(), hint
        )
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        raise ConfigError([_describe(e) for e in error.errors()]) from None


def load_server_settings(environ: Mapping[str, str] | None = None) -> ServerSettings:
    """The API server's GUNICORN_* settings; ConfigError with one problem per bad one.

    Other GUNICORN_* names are left alone: gunicorn reads GUNICORN_CMD_ARGS itself.
    """
    env = os.environ if environ is None else environ
    values = {
        name: env[f"{SERVER_PREFIX}{name.upper()}"]
        for name in ServerSettings.model_fields
        if f"{SERVER_PREFIX}{name.upper()}" in env
    }
    try:
        return ServerSettings.model_validate(values)
    except ValidationError as error:
        raise ConfigError([_describe(e, SERVER_PREFIX) for e in error.errors()]) from None


def load_settings_or_exit(server: bool = False) -> Settings:
    """The settings, or exit 2 after one ``configuration error:`` line per problem,
    the API server's GUNICORN_* ones included when `server`.

    What every entry point runs before it starts a server: no traceback, and
    nothing else to read past.
    """
    problems, loaded = [], []
    for load in (load_settings, load_server_settings)[: 1 + server]:
        try:
            loaded.append(load())
        except ConfigError as error:
            problems += error.problems
    for problem in problems:
        print(f"configuration error: {problem}", file=sys.stderr)
    if problems:
        raise SystemExit(2)
    return loaded[0]


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
