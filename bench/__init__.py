"""Load benchmark: many browserless Streamlit sessions against the dashboard."""
