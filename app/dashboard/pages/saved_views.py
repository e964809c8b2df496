"""Views saved by any user, newest first, a page at a time."""

import math

import streamlit as st

from app.dashboard import data

st.title("Saved views")
total = data.saved_view_count()
if not total:
    st.info("No saved views yet: save one from the Overview page.")
    st.stop()
pages = math.ceil(total / data.VIEWS_PER_PAGE)
page = 1
if pages > 1:
    page = st.number_input("Page", min_value=1, max_value=pages, value=1, key="views_page")
first = (page - 1) * data.VIEWS_PER_PAGE + 1
last = min(page * data.VIEWS_PER_PAGE, total)
st.caption(f"{total:,} saved views, newest first: {first:,} to {last:,} (page {page} of {pages}).")
st.dataframe(data.saved_views(page), hide_index=True, width="stretch")
