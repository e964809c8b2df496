"""The audit trail: sign-ins seen, views saved, exports."""

import streamlit as st

from app.dashboard import data

st.title("Audit")
st.caption("Recent events, newest first; kept in the database beyond any session.")
st.dataframe(data.audit_events(), hide_index=True, width="stretch")
