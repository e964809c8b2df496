"""The audit trail: sign-ins seen, views saved, exports."""

import pandas as pd
import streamlit as st

from app.dashboard import session

st.title("Audit")
st.caption("Recent events, newest first; kept in the database beyond any session.")
events = pd.DataFrame(session.audit_events(), columns=["at", "user", "action", "detail"])
st.dataframe(events, hide_index=True, width="stretch")
