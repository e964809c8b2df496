"""A trivial page, one slider and one metric: the ratio base of the benchmark's targets.

What any Streamlit page costs per rerun on this machine and server config: no
data, no chart, no table. The slider has the reference's label so the same
scenario action moves it; the metric follows it so the load sees it change.
"""

import datetime as dt

import streamlit as st

FIRST, LAST = dt.date(2023, 1, 1), dt.date(2024, 12, 31)

start, end = st.slider(
    "Order dates",
    min_value=FIRST,
    max_value=LAST,
    value=(LAST - dt.timedelta(days=364), LAST),
    step=dt.timedelta(days=1),
    format="YYYY-MM-DD",
)
st.metric("Revenue", f"{((end - start).days + 1) * 1_000:,}")
