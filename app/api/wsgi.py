"""The API's WSGI app, built by the platform: gunicorn serves ``app.api.wsgi:create_app()``.

The platform gives every route (the app's own come from app/api/routes.py):

- ``/healthz`` (the process serves) and ``/readyz`` (the database answers with
  the schema this code needs), both public at the edge;
- JSON answers only, errors included: 400 names the bad parameter
  (app/api/params.py), 503 says the database is unavailable, anything
  unexpected is a 500 without a trace, a path with "//" is a 404 like any
  unknown path (never Werkzeug's HTML redirect, which repeats the link); no
  answer carries internals (addresses, driver messages): those are logged;
- ``Cache-Control: no-store`` on every answer: they are per user and of the moment;
- request metrics and ``/metrics``, request ids in the logs (app/api/metrics.py).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from app.api import metrics, routes
from app.api.params import BadParameterError
from app.core import migrate
from app.core.db import create_engine_for, describe, wait_limit
from app.core.settings import Settings, get_settings

log = logging.getLogger(__name__)
APPLICATION_NAME = "api"


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app with one engine for this process (one gunicorn worker)."""
    settings = settings or get_settings()
    engine = create_engine_for(settings, APPLICATION_NAME)
    app = Flask(__name__)
    # Before any route is added: each rule takes the map's setting as it is bound.
    app.url_map.merge_slashes = False
    app.json.sort_keys = False
    # Every route is GET (and HEAD); OPTIONS too is a 405 in JSON, not Flask's empty 200.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    metrics.instrument(app)
    app.after_request(_no_store)
    _add_health_routes(app, engine, settings)
    _add_json_errors(app, engine)
    routes.register(app, engine, settings)
    return app


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _add_health_routes(app: Flask, engine: Engine, settings: Settings) -> None:
    schema_head = migrate.head()

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
                revision = migrate.current(engine)
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


def _add_json_errors(app: Flask, engine: Engine) -> None:
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
