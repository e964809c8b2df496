"""Chart specs written as plain Vega-Lite, once.

`st.line_chart` builds an Altair chart on every rerun and Altair validates it
against the Vega-Lite JSON schema: about 95% of the overview page's script time
in a cProfile of its runs under AppTest. A fixed spec passed to
`st.vega_lite_chart` draws the same chart with no validation per run.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

# Monthly revenue, one line per series (history, forecast).
REVENUE_BY_MONTH = {
    "mark": {"type": "line", "point": True, "tooltip": True},
    "encoding": {
        "x": {"field": "month", "type": "temporal", "title": "Month"},
        "y": {"field": "revenue", "type": "quantitative", "title": "Revenue"},
        "color": {"field": "series", "type": "nominal", "title": None},
    },
}


def revenue_by_month(series: pd.DataFrame) -> None:
    """The line chart of `series` (columns month, revenue, series)."""
    st.vega_lite_chart(series, REVENUE_BY_MONTH, width="stretch")
