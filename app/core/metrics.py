"""Prometheus metrics both services share: the connection pool, and how to serve them.

Names follow Prometheus conventions (snake_case, ``_total`` counters, base
units); labels have a bounded set of values. Under gunicorn the API runs
prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by
``app/api/gunicorn.conf.py``): every worker writes its samples to files there
and a scrape of any worker adds them up. The dashboard is one process.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# No *_created series: one more series per counter that no query here uses.
disable_created_metrics()

# Pool gauges add up over the live workers of a multi-process service.
POOL_SIZE = Gauge(
    "db_pool_size",
    "Connections the pools keep open (APP_DB_POOL_SIZE)",
    multiprocess_mode="livesum",
)
POOL_MAX = Gauge(
    "db_pool_max_connections",
    "Most connections the pools may hold (pool size plus overflow)",
    multiprocess_mode="livesum",
)
POOL_CHECKED_OUT = Gauge(
    "db_pool_checked_out_connections",
    "Pooled connections in use right now",
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "db_pool_overflow_connections",
    "Connections open above the pool size right now",
    multiprocess_mode="livesum",
)
POOL_WAITS = Counter(
    "db_pool_waits", "Checkouts that found every allowed connection in use and had to wait"
)
POOL_TIMEOUTS = Counter(
    "db_pool_timeouts", "Checkouts that gave up after APP_DB_POOL_TIMEOUT seconds"
)


class MeteredQueuePool(sa.QueuePool):
    """SQLAlchemy's QueuePool, reporting its state to the db_pool_* metrics."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._report()

    def _limit(self) -> float:
        return float("inf") if self._max_overflow < 0 else self.size() + self._max_overflow

    def _report(self) -> None:
        POOL_SIZE.set(self.size())
        POOL_MAX.set(self._limit())
        POOL_CHECKED_OUT.set(self.checkedout())
        POOL_OVERFLOW.set(max(self.overflow(), 0))

    def _do_get(self):
        if self.checkedout() >= self._limit():
            POOL_WAITS.inc()
        try:
            return super()._do_get()
        except sa.exc.TimeoutError:
            POOL_TIMEOUTS.inc()
            raise
        finally:
            self._report()

    def _do_return_conn(self, record) -> None:
        try:
            super()._do_return_conn(record)
        finally:
            self._report()


def exposition() -> tuple[bytes, str]:
    """This process's metrics (all workers' in multiprocess mode) in the text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
