#!/usr/bin/env bash
# `make run`: migrate the database (the embedded SQLite file unless
# APP_DATABASE_URL says otherwise; DEMO_DATA=true also loads the reference
# app's demo orders), then serve the API (gunicorn) and the dashboard
# (Streamlit) on localhost until Ctrl-C. The addresses are printed once both
# answer, after their start-up lines.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(cd "${VENV:-.venv}/bin" && pwd)"
# The services start as the image starts them (docker/entrypoint.sh), from the venv.
export PATH="$bin:$PATH"
dashboard_port="${DASHBOARD_PORT:-8501}"
api_port="${API_PORT:-8000}"
export APP_API_URL="${APP_API_URL:-http://127.0.0.1:${api_port}}"

# One line per configuration problem and exit 2, before anything starts.
"$bin/python" -m app.core check-config
docker/entrypoint.sh migrate

GUNICORN_BIND="127.0.0.1:${api_port}" docker/entrypoint.sh api &
api_pid=$!
docker/entrypoint.sh dashboard --server.address=127.0.0.1 --server.port "$dashboard_port" &
dashboard_pid=$!
trap 'kill "$api_pid" "$dashboard_pid" 2>/dev/null || true' EXIT

# Both answer (or one died: its log says why), then the banner.
for url in "http://127.0.0.1:${api_port}/healthz" "http://127.0.0.1:${dashboard_port}/_stcore/health"; do
  until "$bin/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
    "$url" 2>/dev/null; do
    kill -0 "$api_pid" "$dashboard_pid" 2>/dev/null || { echo "make run: a service exited"; exit 1; }
    sleep 0.5
  done
done
cat <<MSG

  Dashboard: http://127.0.0.1:${dashboard_port}
  API:       http://127.0.0.1:${api_port}/healthz  (readiness: /readyz)
  Ctrl-C stops both.

MSG
wait -n "$api_pid" "$dashboard_pid"
