"""Notes, written through a form into the app's own table (Note) on the platform's engine."""

import sqlalchemy as sa
import streamlit as st

from app.core.models import Note
from app.dashboard import session


@st.cache_data(ttl=30, max_entries=1, show_spinner=False)
def note_count() -> int:
    with session.engine().connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(Note))


def add_note(body: str) -> None:
    with session.engine().begin() as conn:
        conn.execute(sa.insert(Note).values(body=body, author=session.user().email))
    note_count.clear()


st.title("Notes")
with st.form("note", clear_on_submit=True):
    body = st.text_area("Note", max_chars=2000)
    saved = st.form_submit_button("Save note")
if saved and body.strip():
    add_note(body.strip())
    st.success("Saved.")
elif saved:
    st.warning("Write something first.")
st.text(f"notes: {note_count()}")
