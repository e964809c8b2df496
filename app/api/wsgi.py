"""The API's routes. gunicorn serves ``app.api.wsgi:create_app()``.

Every answer is JSON, errors included: 400 names the bad parameter, 503 says
the database is unavailable, anything unexpected is a 500 without a trace.
Parameters are bounded before any query sees them (ForecastParams): a bad one
is always a 400, never a driver error (PostgreSQL refuses a NUL byte, say).
No answer carries internals (addresses, driver messages): those are logged.
/metrics serves Prometheus metrics (app/api/metrics.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import typing
from typing import Annotated

from flask import Flask, jsonify, request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from app.api import metrics
from app.api.forecast import forecast
from app.core import migrate, queries
from app.core.db import create_engine_for, describe, wait_limit
from app.core.sales import ExpiringRollup
from app.core.settings import Settings, get_settings

log = logging.getLogger(__name__)
APPLICATION_NAME = "api"


# Bounds of every query parameter value (the API's contract, see docs/reliability.md).
MAX_CHARS = 100  # characters in one value (or a parameter name echoed in an error)
MAX_VALUES = 50  # values of one list parameter (region, category)
EARLIEST, LATEST = dt.date(1970, 1, 1), dt.date(2100, 12, 31)  # dates outside are typos


def _plain_text(value: object) -> object:
    """Any raw value: at most MAX_CHARS characters, no control characters (C0, DEL, C1)."""
    if isinstance(value, str):
        if len(value) > MAX_CHARS:
            raise PydanticCustomError("too_long", "at most {max} characters", {"max": MAX_CHARS})
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
            raise PydanticCustomError("control_character", "control characters are not allowed")
    return value


def _sane_date(value: dt.date | None) -> dt.date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise PydanticCustomError(
            "date_range",
            "must be between {earliest} and {latest}",
            {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
        )
    return value


Text = Annotated[str, BeforeValidator(_plain_text)]
Texts = Annotated[list[Text], Field(max_length=MAX_VALUES)]
Day = Annotated[dt.date | None, BeforeValidator(_plain_text), AfterValidator(_sane_date)]


class ForecastParams(BaseModel):
    """Query parameters of /api/v1/forecast; anything else is refused."""

    model_config = ConfigDict(extra="forbid")
    months: Annotated[int, BeforeValidator(_plain_text), Field(ge=1, le=24)] = 6
    start: Day = None
    end: Day = None
    region: Texts = []
    category: Texts = []

    @model_validator(mode="after")
    def _ordered(self) -> ForecastParams:
        if self.start and self.end and self.start > self.end:
            raise ValueError("start must not be after end")
        return self


class BadParameterError(Exception):
    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter, self.message = parameter, message


def _parse(model: type[BaseModel]) -> BaseModel:
    data: dict[str, str | list[str]] = {}
    for key, values in request.args.lists():
        field = model.model_fields.get(key)
        if field is None or typing.get_origin(field.annotation) is list:
            data[key] = values  # lists keep every value (an unknown name is refused below)
        elif len(values) > 1:
            raise BadParameterError(key, "give it at most once")
        else:
            data[key] = values[0]
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        # A model-level check (start after end) has no location: it is about start.
        parameter = str(first["loc"][0])[:MAX_CHARS] if first["loc"] else "start"
        message = "unknown parameter" if first["type"] == "extra_forbidden" else first["msg"]
        raise BadParameterError(parameter, message) from None


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app with one engine for this process (one gunicorn worker)."""
    settings = settings or get_settings()
    engine = create_engine_for(settings, APPLICATION_NAME)
    schema_head = migrate.head()
    sales = ExpiringRollup(engine, settings.cache_ttl)
    app = Flask(__name__)
    app.json.sort_keys = False
    # Every route is GET (and HEAD); OPTIONS too is a 405 in JSON, not Flask's empty 200.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    metrics.instrument(app)

    @app.get("/healthz")
    def healthz():
        """200 while the process serves requests; says nothing about the database."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        """200 when the database answers within APP_READY_TIMEOUT with the schema this code
        needs (its Alembic head); else 503 naming only which (`database` or `schema`).

        Public: the edge serves it without a session. The detail (the driver's
        message, host and port included) goes to the log, never into the answer.
        """
        try:
            with wait_limit(settings.ready_timeout):
                revision = queries.schema_revision(engine)
        except SQLAlchemyError as error:
            metrics.DATABASE_READY.set(0)
            log.warning("not ready: database %r: %s", engine.url, describe(error))
            return {"status": "unavailable", "reason": "database"}, 503
        if revision != schema_head:
            metrics.DATABASE_READY.set(0)
            log.warning("not ready: schema at %s, this code needs %s", revision, schema_head)
            return {"status": "unavailable", "reason": "schema"}, 503
        metrics.DATABASE_READY.set(1)
        return {"status": "ready"}

    @app.get("/api/v1/forecast")
    def forecast_revenue():
        """Monthly revenue history for the filters and its forecast for `months` ahead."""
        params = _parse(ForecastParams)
        rollup = sales.get()
        dims = rollup.dimensions
        filters = queries.Filters(
            start=params.start or dims.first_date,
            end=params.end or dims.last_date,
            regions=tuple(params.region),
            categories=tuple(params.category),
        )
        history = rollup.monthly_revenue(filters)
        return {
            "method": "linear trend plus monthly seasonality",
            "history": [_month(row) for row in history],
            "forecast": [_month(row) for row in forecast(history, params.months)],
        }

    @app.errorhandler(BadParameterError)
    def bad_parameter(error: BadParameterError):
        return jsonify(
            error="invalid parameter", parameter=error.parameter, detail=error.message
        ), 400

    @app.errorhandler(SQLAlchemyError)
    def database_unavailable(error: SQLAlchemyError):
        metrics.ERRORS.labels("database").inc()
        log.warning("database error at %r: %s", engine.url, describe(error))
        return jsonify(error="database unavailable, try again shortly"), 503

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return jsonify(error=error.name.lower()), error.code

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        metrics.ERRORS.labels("unexpected").inc()
        log.exception("unhandled error")
        return jsonify(error="internal error"), 500

    return app


def _month(row: dict) -> dict:
    return {"month": row["month"].strftime("%Y-%m"), "revenue": row["revenue"]}
