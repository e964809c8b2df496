"""The API's request metrics and request ids, and its /metrics route.

Every request is counted and timed by route template (``/api/v1/forecast``,
never the raw path: bounded labels), method and status; /metrics itself is
not. The request id nginx generated (``X-Request-ID``) is put in every log
line written while the request is served.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import Counter, Gauge, Histogram

from app.core import logs, metrics

METRICS_PATH = "/metrics"
LABELS = ("route", "method", "status")

REQUESTS = Counter("api_requests", "HTTP requests answered", LABELS)
DURATION = Histogram(
    "api_request_duration_seconds",
    "Time to answer an HTTP request",
    LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ERRORS = Counter("api_errors", "Requests that failed on the server's side, by kind", ("kind",))
DATABASE_READY = Gauge(
    "api_database_ready",
    "1 when the latest /readyz found the database answering in time, else 0",
    multiprocess_mode="livemostrecent",
)
# The kinds ERRORS counts (so a dashboard can show zeros before the first one).
ERROR_KINDS = ("database", "unexpected")
for _kind in ERROR_KINDS:
    ERRORS.labels(_kind)


def instrument(app: Flask) -> None:
    """Count and time every request of `app`, carry its request id, serve /metrics."""

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.request_id_token = logs.request_id.set(
            logs.clean_request_id(request.headers.get(logs.REQUEST_ID_HEADER))
        )

    @app.after_request
    def _observe(response: Response) -> Response:
        if request.path != METRICS_PATH and "started" in g:
            route = request.url_rule.rule if request.url_rule else "unmatched"
            labels = (route, request.method, str(response.status_code))
            REQUESTS.labels(*labels).inc()
            DURATION.labels(*labels).observe(time.perf_counter() - g.started)
        return response

    @app.teardown_request
    def _forget(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            logs.request_id.reset(token)

    @app.get(METRICS_PATH)
    def prometheus_metrics():
        """Prometheus text format; the sum over every gunicorn worker."""
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)
