"""Operational tooling shipped with the app: the browserless Streamlit client, smoke checks."""
