"""The backend API: heavier computation the dashboard calls over HTTP."""
