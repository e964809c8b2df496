"""One JSON object per line: the log format of the dashboard, the API and gunicorn.

Every line has ``time``, ``level``, ``logger`` and ``message``, the request id
nginx generated (``X-Request-ID``) while one is known, any ``extra={...}``
fields, and ``exception`` with the traceback. gunicorn's access log becomes
fields (method, path, status, duration): its query strings and headers, the
request id excepted, are never written, so neither is a cookie.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys

# The request id of what this thread or task is serving (nginx's $request_id).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
REQUEST_ID_HEADER = "X-Request-ID"
# nginx sends 32 hex digits; anything longer is cut before it reaches a log.
MAX_REQUEST_ID = 64

# gunicorn access-log atoms written, and under which name (glogging.Logger.atoms).
_ACCESS_FIELDS = {"m": "method", "U": "path", "s": "status", "B": "bytes", "L": "duration_seconds"}
_ACCESS_TYPES = {"status": int, "duration_seconds": float}
_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# Libraries' INFO chatter that says nothing an operator acts on: from WARNING up only.
# (Alembic logs each of its plugins at INFO whenever a process reads the migrations.)
QUIET_LOGGERS = ("alembic.runtime.plugins",)


def clean_request_id(value: str | None) -> str | None:
    """A request id fit to log: printable, at most MAX_REQUEST_ID characters."""
    if not value:
        return None
    return "".join(c for c in value[:MAX_REQUEST_ID] if c.isprintable()) or None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            atoms = record.args
            entry["message"] = "request"
            entry.update({name: atoms.get(atom) for atom, name in _ACCESS_FIELDS.items()})
            for name, kind in _ACCESS_TYPES.items():
                with contextlib.suppress(TypeError, ValueError):
                    entry[name] = kind(entry[name])
            entry["request_id"] = clean_request_id(atoms.get("{x-request-id}i"))
        else:
            entry["message"] = record.getMessage()
            entry.update(
                (key, value)
                for key, value in vars(record).items()
                if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
            )
        if not entry.get("request_id"):
            entry["request_id"] = request_id.get()
        if entry["request_id"] is None:
            del entry["request_id"]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def json_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    return handler


def configure(level: str = "INFO") -> None:
    """JSON lines on stdout for the root logger (once; other handlers are kept)."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.addHandler(json_handler())
    root.setLevel(level)
    _quiet()


def _quiet() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def route_streamlit_logs() -> None:
    """Send Streamlit's own loggers, which have a text handler each and do not
    propagate, through the root's JSON handler instead: now and for every
    logger Streamlit makes later (it calls ``setup_formatter`` for each). The
    same for uvicorn, Streamlit's server, whose default logging config (which
    Streamlit keeps) would otherwise add text handlers when it starts."""
    import streamlit.logger as streamlit_logger
    from uvicorn.config import LOGGING_CONFIG

    for logger in LOGGING_CONFIG["loggers"].values():
        logger.update(handlers=[], propagate=True)

    def setup(logger: logging.Logger) -> None:
        handler = getattr(logger, "streamlit_console_handler", None)
        if handler is not None:
            logger.removeHandler(handler)
        logger.propagate = True

    streamlit_logger.setup_formatter = setup
    streamlit_logger.update_formatter()


def gunicorn_logconfig() -> dict:
    """gunicorn's ``logconfig_dict``: its error and access logs as JSON lines on stdout."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": handler},
        "root": {"level": "INFO", "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["json"], "propagate": False},
            **{name: {"level": "WARNING"} for name in QUIET_LOGGERS},
        },
    }
