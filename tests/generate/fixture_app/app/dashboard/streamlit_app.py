"""Fleet Monitor's entry point: its two pages, inside the platform (app/dashboard/session.py)."""

import streamlit as st

from app.dashboard import session

st.set_page_config(page_title="Fleet Monitor", layout="wide")
session.run(
    [
        st.Page("pages/readings.py", title="Readings", url_path="readings", default=True),
        st.Page("pages/notes.py", title="Notes", url_path="notes"),
    ]
)
