"""Entry point: ``python -m app.dashboard run app/dashboard/streamlit_app.py``.

Checks configuration and the session's age, shows who is signed in, records
the sign-in once per session (without waiting for the database), then hands
over to the page the user picked. Every run is counted and timed
(app/dashboard/observability.py). A database that does not answer gives a
"retrying" notice that clears itself, never Streamlit's error page (the run
still counts as an error).
"""

import logging
import time
from pathlib import Path

import streamlit as st

from app.core.settings import ConfigError, get_settings

st.set_page_config(page_title="Sales dashboard", layout="wide")

try:
    get_settings()
except ConfigError as error:
    st.error(f"The dashboard cannot start: {error}")
    st.stop()

from app.core.db import describe  # noqa: E402
from app.dashboard import data, observability  # noqa: E402  (need valid settings to import)

# Sign-in is checked when the WebSocket opens, never again while it stays open
# (Streamlit pings it): past APP_SESSION_MAX_AGE this session serves nothing
# more, and a reload goes through sign-in (docs/reliability.md).
opened = st.session_state.setdefault("session_opened", time.time())
if time.time() - opened > get_settings().session_max_age:
    st.warning("This page has been open a long time: reload it to continue.")
    st.stop()

log = logging.getLogger("app.dashboard")
retry_seconds = get_settings().unavailable_retry


@st.fragment(run_every=retry_seconds)
def retry_later() -> None:
    """The whole page again every retry_seconds (the browser's timer runs the fragment)."""
    if st.session_state.get("retry_armed"):
        st.rerun(scope="app")
    st.session_state.retry_armed = True


st.session_state.retry_armed = False
try:
    with observability.script_run():
        if not st.session_state.get("session_logged"):
            # Logged with the request id of the WebSocket upgrade that opened the session.
            log.info("session started")
            st.session_state.session_logged = True
        # st.user holds what the proxy put in the trusted identity headers, if anything.
        user = st.user.get("email") or "anonymous"
        name = st.user.get("name")
        if user != "anonymous" and not st.session_state.get("sign_in_recorded"):
            data.record(user, "sign_in_seen")  # never waits: the audit backlog writes it
            st.session_state.sign_in_recorded = True
        st.session_state.user = user

        pages = Path(__file__).with_name("pages")
        navigation = st.navigation(
            [
                st.Page(pages / "overview.py", title="Overview", default=True),
                st.Page(pages / "saved_views.py", title="Saved views"),
                st.Page(pages / "audit.py", title="Audit"),
            ]
        )
        st.sidebar.caption(f"Signed in as {user}" + (f" ({name})" if name else ""))
        navigation.run()
except data.UNAVAILABLE as error:
    log.warning("page %s: database unavailable: %s", navigation.title, describe(error))
    st.warning(
        f"The database is not answering right now. This page tries again every "
        f"{retry_seconds:g} s by itself.",
        icon=":material/sync_problem:",
    )
    retry_later()
