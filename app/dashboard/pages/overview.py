"""Sales overview: filters drive cached queries; the forecast comes from the API."""

import datetime as dt

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from app.core.db import UNAVAILABLE, describe, out_of_space, problem
from app.core.queries import Filters, ViewExistsError, ViewNameError
from app.dashboard import charts, data, session

dims = data.dimensions()
if not dims.orders:
    # A fresh deployment migrates but loads nothing: say so rather than fail.
    st.title("Sales overview")
    st.info("No orders yet. Load yours, or the demo data: `make run DEMO_DATA=true`.")
    st.stop()
default = data.default_filters()

with st.sidebar:
    start, end = st.slider(
        "Order dates",
        min_value=dims.first_date,
        # A slider needs two distinct ends, even when every order has one date.
        max_value=max(dims.last_date, dims.first_date + dt.timedelta(days=1)),
        value=(default.start, default.end),
        step=dt.timedelta(days=1),
        format="YYYY-MM-DD",
        key="dates",
    )
    regions = st.multiselect("Regions", dims.regions, key="regions")
    categories = st.multiselect("Categories", dims.categories, key="categories")
    months = st.selectbox("Forecast months", (3, 6, 12), index=1, key="months")

filters = Filters(start, end, tuple(regions), tuple(categories))
st.title("Sales overview")

kpis = data.kpis(filters)
revenue, orders, units, average = st.columns(4)
revenue.metric("Revenue", f"{kpis.revenue:,.0f}")
orders.metric("Orders", f"{kpis.orders:,}")
units.metric("Units", f"{kpis.units:,}")
average.metric("Average order", f"{kpis.average_order:,.2f}")

st.subheader("Revenue by month, with forecast")
try:
    series = data.forecast(filters, months)
except data.ApiError as error:
    st.warning(f"Forecast unavailable: {error}. Showing history from the database only.")
    series = data.monthly_revenue(filters).assign(series="history")
charts.revenue_by_month(series)

st.subheader("Top products")
top = data.top_products(filters)
st.dataframe(top, hide_index=True, width="stretch")
st.download_button(
    "Export top products (CSV)",
    # A callable: the CSV is made when someone clicks, not on every rerun.
    lambda: top.to_csv(index=False),
    file_name="top-products.csv",
    mime="text/csv",
    on_click=session.audit,
    args=("export", f"top products {start}..{end}"),
)


def _save() -> None:
    # str(): whatever a tampered socket sent for the text field, a name is text.
    name = str(st.session_state.view_name or "")
    try:
        data.save_view(name, session.user().email, filters)
    except (ViewNameError, ViewExistsError) as error:
        st.session_state.save_result = ("error", f"Not saved: {error}.")
    except UNAVAILABLE as error:
        data.log.warning("view %r not saved: %s", name, describe(error))
        retry = "." if out_of_space(error) else "; try again in a moment."
        st.session_state.save_result = ("error", f"Not saved: {problem(error)}{retry}")
    except SQLAlchemyError:
        data.log.exception("view %r not saved: the database refused it", name)
        st.session_state.save_result = ("error", "Not saved: the database refused the write.")
    else:
        st.session_state.save_result = ("success", f"Saved view {name.strip()!r}.")


# A form batches the name with the submit: one rerun, one write.
with st.form("save_view", clear_on_submit=True):
    st.text_input("View name", max_chars=80, key="view_name")
    st.form_submit_button("Save view", on_click=_save)
if result := st.session_state.pop("save_result", None):
    getattr(st, result[0])(result[1])
