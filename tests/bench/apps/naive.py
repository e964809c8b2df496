"""The overview page written the way not to: for the benchmark only, never deployed.

Every rerun (every slider move) builds a new engine in the script body, opens
connections from it, never disposes of it and caches nothing: the failure the
reference app is built to avoid. The queries are app.core's, so the work per
query is the same as the reference's; only the discipline differs.
"""

import pandas as pd
import requests

from app.core import queries
from app.core.db import create_engine_for
from app.core.settings import get_settings
from tests.bench.apps import layout

settings = get_settings()
engine = create_engine_for(settings, "dashboard")  # the anti-pattern: one per rerun
filters, months = layout.sidebar(queries.dimensions(engine))
kpis = queries.kpis(engine, filters)
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
    series = pd.DataFrame(queries.monthly_revenue(engine, filters)).assign(series="history")
top = pd.DataFrame(queries.top_products(engine, filters))
layout.body(kpis, series, top)
