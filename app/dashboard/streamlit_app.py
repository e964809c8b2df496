"""The reference app's entry point (yours replaces it): its pages, inside the platform.

``session.run`` does what every app of this template gets (app/dashboard/session.py):
configuration and session-age checks, request ids, metrics, the signed-in user
and the sign-in audit, the "database unavailable, retrying" notice and the
platform's status page.
"""

import streamlit as st

from app.dashboard import session

st.set_page_config(page_title="Sales dashboard", layout="wide")
who = session.user()
st.sidebar.caption(f"Signed in as {who.email}" + (f" ({who.name})" if who.name else ""))
session.run(
    [
        st.Page("pages/overview.py", title="Overview", default=True),
        st.Page("pages/saved_views.py", title="Saved views"),
        st.Page("pages/audit.py", title="Audit"),
    ]
)
