"""The render floor: the overview page with every answer computed before the first rerun.

The same layout as the reference (layout.py: metrics, chart with history and
forecast, table, download, form). At import, once per process, it computes a
small fixed set of answers (KPIs, monthly series with a forecast-shaped part,
top products and their CSV) for a handful of filters; each rerun picks one by
a checksum of the filters: a dict lookup, no query, no pandas. So a rerun
costs Streamlit's rendering of this page alone, and Revenue still follows
the filters.
"""

from tests.bench.apps import layout
from tests.bench.apps.precomputed import DIMENSIONS, answer

filters, months = layout.sidebar(DIMENSIONS)
layout.body(*answer(filters, months))
