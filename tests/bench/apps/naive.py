"""The overview page written the way not to: for the benchmark only, never deployed.

Every rerun (every slider move) builds a new engine in the script body, opens
connections from it, never disposes of it and caches nothing: the failure the
reference app is built to avoid. Its queries (sql.py) aggregate the orders
per filter, as a page written without a rollup does.
"""

import pandas as pd
import requests

from app.core.db import create_engine_for
from app.core.settings import get_settings
from tests.bench.apps import layout, sql

settings = get_settings()
engine = create_engine_for(settings, "dashboard")  # the anti-pattern: one per rerun
filters, months = layout.sidebar(sql.dimensions(engine))
kpis = sql.kpis(engine, filters)
# The API too is called on every rerun, uncached.
try:
    response = requests.get(
        f"{str(settings.api_url).rstrip('/')}/api/v1/forecast",
        params={
            "months": months,
            "start": filters.start.isoformat(),
            "end": filters.end.isoformat(),
            "region": list(filters.regions),
            "category": list(filters.categories),
        },
        timeout=settings.api_timeout,
    )
    body = response.json()
    series = pd.concat(
        [pd.DataFrame(body[part]).assign(series=part) for part in ("history", "forecast")]
    )
except (requests.RequestException, ValueError, KeyError):
    series = pd.DataFrame(sql.monthly_revenue(engine, filters)).assign(series="history")
top = pd.DataFrame(sql.top_products(engine, filters))
layout.body(kpis, series, top)
