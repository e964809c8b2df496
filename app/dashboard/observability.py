"""The dashboard's logs and metrics.

``start()`` runs once, before Streamlit starts (``python -m app.dashboard``):
JSON log lines for our loggers, Streamlit's and uvicorn's, and, with
``APP_METRICS_PORT`` set, a Prometheus metrics server on its own port: a port
no edge route points at, so the metrics are never public (nginx and the chart
route only Streamlit's port).

Metrics: ``dashboard_*`` (script runs and their duration, calls to the API),
the shared ``db_pool_*`` (app/core/metrics.py), and Streamlit's own runtime
stats, the ones its ``/_stcore/metrics`` serves, as ``streamlit_*``: active
sessions, session events, cache lookups by result (hits and misses) per
cached function, cache compute time and memory.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

import streamlit as st
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.metrics_core import Metric
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from app.core import logs
from app.core.metrics import POOL_SIZE  # noqa: F401  (db_pool_* from the start)
from app.core.settings import ConfigError, get_settings

log = logging.getLogger(__name__)

RUN_OUTCOMES = ("success", "error", "stopped")
SCRIPT_RUNS = Counter(
    "dashboard_script_runs", "Script runs (reruns) finished, by outcome", ["outcome"]
)
SCRIPT_DURATION = Histogram(
    "dashboard_script_run_duration_seconds",
    "Time from a script run's start to its end (a page rendered)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 60),
)
API_OUTCOMES = ("ok", "error_status", "timeout", "unreachable")
API_CALLS = Counter("dashboard_api_calls", "Calls to the API, by outcome", ["outcome"])
API_DURATION = Histogram(
    "dashboard_api_call_duration_seconds",
    "Time the API took to answer a call (failed calls included)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
for _outcome in RUN_OUTCOMES:
    SCRIPT_RUNS.labels(_outcome)
for _outcome in API_OUTCOMES:
    API_CALLS.labels(_outcome)

# Streamlit stat families not re-exported: per-user events (user names as label
# values: unbounded, and personal data).
SKIPPED_FAMILIES = {"user_session_events"}


class StreamlitStats:
    """Streamlit's runtime stats (its StatsManager) as prometheus_client metrics."""

    def collect(self) -> Iterator[Metric]:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return
        stats = Runtime.instance().stats_mgr.get_stats()
        for family, items in stats.items():
            if family in SKIPPED_FAMILIES or not items:
                continue
            name = f"streamlit_{family}"
            metric = Metric(name, items[0].help or family, items[0].type)
            for stat in items:
                _add_samples(metric, name, stat)
            yield metric


def _add_samples(metric: Metric, name: str, stat) -> None:
    if stat.family_name == "cache_memory_bytes":  # CacheStat: labels are fields
        labels = {"cache_type": stat.category_name, "cache": stat.cache_name}
        metric.add_sample(name, labels, stat.byte_length)
        return
    labels = dict(stat.labels or {})
    if stat.type == "counter":
        metric.add_sample(f"{name}_total", labels, stat.value)
    elif stat.type == "histogram":
        for bound, count in stat.buckets:
            le = "+Inf" if bound == float("inf") else repr(float(bound))
            metric.add_sample(f"{name}_bucket", {**labels, "le": le}, count)
        metric.add_sample(f"{name}_sum", labels, stat.observation_sum)
        metric.add_sample(f"{name}_count", labels, stat.observation_count)
    else:
        metric.add_sample(name, labels, stat.value)


def start() -> None:
    """JSON logs, and the metrics server when APP_METRICS_PORT is set."""
    logs.configure()
    logs.route_streamlit_logs()
    try:
        settings = get_settings()
    except ConfigError:
        return  # the page says what is wrong (streamlit_app.py)
    if settings.metrics_port:
        REGISTRY.register(StreamlitStats())
        start_http_server(settings.metrics_port, addr=settings.metrics_address)
        log.info(
            "metrics server started",
            extra={"address": settings.metrics_address, "port": settings.metrics_port},
        )


@contextlib.contextmanager
def script_run() -> Iterator[None]:
    """Count and time one script run; the session's request id goes on its log lines.

    The request id is the one nginx gave the WebSocket upgrade that opened the
    session (what ``st.context.headers`` holds for the whole session).
    """
    token = logs.request_id.set(
        logs.clean_request_id(st.context.headers.get(logs.REQUEST_ID_HEADER))
    )
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "success"
    except ScriptControlException:
        # st.stop, st.rerun and a newer rerun cutting this one short: not failures.
        outcome = "stopped"
        raise
    finally:
        SCRIPT_RUNS.labels(outcome).inc()
        SCRIPT_DURATION.observe(time.perf_counter() - started)
        logs.request_id.reset(token)


@contextlib.contextmanager
def api_call() -> Iterator[dict]:
    """Time one call to the API; the caller sets ``outcome`` in the dict it gets."""
    result = {"outcome": "unreachable"}
    started = time.perf_counter()
    try:
        yield result
    finally:
        API_DURATION.observe(time.perf_counter() - started)
        API_CALLS.labels(result["outcome"]).inc()
