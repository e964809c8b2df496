"""Readings from a CSV the user uploads: a chart of its numeric columns and the rows to edit.

Nothing is stored: the upload lives in the session (and so on one replica).
"""

import io

import pandas as pd
import streamlit as st


@st.cache_data(ttl=600, max_entries=16, show_spinner=False)
def parse(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data))


st.title("Fleet readings")
upload = st.file_uploader("Readings (CSV)", type="csv")
if upload is None:
    st.info("Upload a CSV: one row per reading, numeric columns are charted.")
else:
    readings = parse(upload.getvalue())
    st.line_chart(readings.select_dtypes("number"))
    edited = st.data_editor(readings, num_rows="dynamic", key="readings")
    st.text(f"rows: {len(edited)}")
