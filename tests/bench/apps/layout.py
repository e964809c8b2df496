"""The overview page's widgets and elements, shared by the naive, pandas and floor apps.

The same labels, elements and defaults as app/dashboard/pages/overview.py, so
the three apps send the same page and differ only in how they get the data.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from app.core.queries import Dimensions, Filters, Kpis
from app.dashboard import charts


def sidebar(dims: Dimensions) -> tuple[Filters, int]:
    """The filter widgets; returns the filters and the forecast months chosen."""
    with st.sidebar:
        start, end = st.slider(
            "Order dates",
            min_value=dims.first_date,
            max_value=dims.last_date,
            value=(max(dims.first_date, dims.last_date - dt.timedelta(days=364)), dims.last_date),
            step=dt.timedelta(days=1),
            format="YYYY-MM-DD",
        )
        regions = st.multiselect("Regions", dims.regions)
        categories = st.multiselect("Categories", dims.categories)
        months = st.selectbox("Forecast months", (3, 6, 12), index=1)
    return Filters(start, end, tuple(regions), tuple(categories)), months


def body(kpis: Kpis, series: pd.DataFrame, top: pd.DataFrame, csv: str | None = None) -> None:
    """KPIs, the monthly chart (month, revenue, series), top products, export and form.

    `csv` is the export's text when already made (the floor's); else made from `top`.
    """
    st.title("Sales overview")
    revenue, orders, units, average = st.columns(4)
    revenue.metric("Revenue", f"{kpis.revenue:,.0f}")
    orders.metric("Orders", f"{kpis.orders:,}")
    units.metric("Units", f"{kpis.units:,}")
    average.metric("Average order", f"{kpis.average_order:,.2f}")
    st.subheader("Revenue by month, with forecast")
    charts.revenue_by_month(series)
    st.subheader("Top products")
    st.dataframe(top, hide_index=True, width="stretch")
    csv = top.to_csv(index=False) if csv is None else csv
    st.download_button("Export top products (CSV)", csv, "top-products.csv")
    with st.form("save_view", clear_on_submit=True):
        st.text_input("View name", max_chars=80)
        st.form_submit_button("Save view")
