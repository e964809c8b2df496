"""``python -m app.dashboard run app/dashboard/streamlit_app.py [streamlit options]``.

``streamlit run`` with the dashboard's logs and metrics set up first
(app/dashboard/observability.py): JSON lines from Streamlit's first log line
on, and the metrics server up before any session opens. The image, `make run`
and the tests start the dashboard this way.
"""

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

from app.dashboard import observability

# Every app on the platform is an st.navigation app (session.run), whatever its
# folders are called. Streamlit otherwise decides per process, from a pages/
# folder beside the entry script, that the first session is an old-style
# multipage app, until the first st.navigation call: that session, opened on a
# URL path that is no file in pages/ (the status page at /_platform, a page's
# own url_path), got a "Page not found" dialog over the page it asked for.
PagesManager.uses_pages_directory = False
observability.start()
cli.main(prog_name="streamlit")
