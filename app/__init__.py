"""Reference Streamlit data app: dashboard, API and their shared core."""
