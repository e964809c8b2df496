"""The smallest app on the platform, owned by the platform's tests: one page that
reads the database on every run (uncached), shows who is signed in, and writes a
note to the audit trail from a form (a write the page waits for, then acknowledges).

Any app passes these tests the same way: they check what ``session.run`` does
around a page (app/dashboard/session.py), not the page.
"""

import streamlit as st
from sqlalchemy import text

from app.core import audit
from app.dashboard import session


def home() -> None:
    with session.engine().connect() as conn:
        st.text(f"database says: {conn.execute(text('SELECT 1')).scalar_one()}")
    st.text(f"page sees: {session.user().email}")
    with st.form("note", clear_on_submit=True):
        note = st.text_input("Note", key="note")
        if st.form_submit_button("Record") and note:
            audit.record(session.engine(), session.user().email, "note", note)
            st.success(f"Recorded {note!r}.")


session.run([st.Page(home, title="Home", default=True)])
