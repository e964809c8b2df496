"""``python -m app.dashboard run app/dashboard/streamlit_app.py [streamlit options]``.

``streamlit run`` with the dashboard's logs and metrics set up first
(app/dashboard/observability.py): JSON lines from Streamlit's first log line
on, and the metrics server up before any session opens. The image, `make run`
and the tests start the dashboard this way.
"""

from streamlit.web import cli

from app.dashboard import observability

observability.start()
cli.main(prog_name="streamlit")
