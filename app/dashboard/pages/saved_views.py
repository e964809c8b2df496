"""Views saved by any user, newest first."""

import streamlit as st

from app.dashboard import data

st.title("Saved views")
views = data.saved_views()
if views.empty:
    st.info("No saved views yet: save one from the Overview page.")
else:
    st.dataframe(views, hide_index=True, width="stretch")
