"""The smallest app on the platform, owned by the platform's tests: one page that
reads the database on every run (uncached) and shows who is signed in.

Any app passes these tests the same way: they check what ``session.run`` does
around a page (app/dashboard/session.py), not the page.
"""

import streamlit as st
from sqlalchemy import text

from app.dashboard import session


def home() -> None:
    with session.engine().connect() as conn:
        st.text(f"database says: {conn.execute(text('SELECT 1')).scalar_one()}")
    st.text(f"page sees: {session.user().email}")


session.run([st.Page(home, title="Home", default=True)])
