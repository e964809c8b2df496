"""The one typed settings module of the dashboard, the API and the CLI.

Every setting is read, in this order of precedence, from:

1. the environment variable ``APP_<NAME>`` (for example ``APP_DB_POOL_SIZE``);
2. a file called ``APP_<NAME>`` (any case) in the directory named by
   ``APP_SECRETS_DIR``: a Kubernetes-style secret mount, one value per file;
3. the default below.

No configuration at all gives a working local setup: an SQLite file under
``data/``, seeded demo data, the API on localhost. A wrong value stops the
process at start-up with a message naming the setting and what was expected.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

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
    """Configuration is wrong; the message names each bad setting."""


class Settings(BaseModel):
    # Unknown APP_* names are ignored with a warning (load_settings): a typo
    # must not stop a service, nor pass unnoticed. The chart's schema refuses them.
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    data_dir: Path = Field(
        Path("data"),
        description="Directory for the embedded SQLite file when APP_DATABASE_URL is unset.",
    )
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg2://user:pass@host:5432/db. "
        "Unset: an SQLite file in APP_DATA_DIR. A secret: prefer the secret file.",
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
            " session cookie is gone: how long an open tab outlives sign-out."
        ),
    )
    cache_ttl: PositiveInt = Field(
        300, description="Seconds a cached query or API answer stays fresh in the dashboard."
    )
    cache_max_entries: PositiveInt = Field(
        1000, description="Most cached results kept per query function in a dashboard process."
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

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL to connect to; SQLite under data_dir when none is set."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'app.db').resolve()}"

    @property
    def pool_bound(self) -> int:
        """Most connections one process can hold: the figure load tests check."""
        return self.db_pool_size + self.db_max_overflow


def _describe(error: dict) -> str:
    field = str(error["loc"][0]) if error["loc"] else "?"
    return f"{ENV_PREFIX}{field.upper()}: {error['msg']}"


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

    Raises ConfigError with one line per bad setting.
    """
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    secrets_dir = env.get(SECRETS_DIR_VARIABLE)
    if secrets_dir is not None:
        if not Path(secrets_dir).is_dir():
            raise ConfigError(
                f"{SECRETS_DIR_VARIABLE}: expected a directory of secret files, "
                f"but {secrets_dir!r} is not one"
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
        lines = "\n".join(f"  {_describe(e)}" for e in error.errors())
        raise ConfigError(f"invalid configuration:\n{lines}") from None


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
