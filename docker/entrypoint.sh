#!/usr/bin/env bash
# Start one service: the one place the services' commands are written. The
# image runs it, and so do `make run` (scripts/run-local.sh) and the tests
# (tests/support/servers.py), with the virtual environment first on PATH. Each
# branch execs, so the server is PID 1 and receives SIGTERM itself: Streamlit
# and gunicorn then shut down gracefully.
#   dashboard [ARGS]                  Streamlit on 0.0.0.0:8501 (later --server.* ARGS win);
#                                     $DASHBOARD_SCRIPT, default the reference page
#   api                               gunicorn on $GUNICORN_BIND (0.0.0.0:8000)
#   migrate                           python -m app.core migrate; with DEMO_DATA=true, seed
#                                     (the reference app's demo orders: compose's .env, `make run`)
#   seed|rollup|downgrade|check-config|connections|pgbouncer-config   python -m app.core ...
#   anything else                     run as given (e.g. bash for a look inside)
set -euo pipefail

command="${1:-dashboard}"
if [ "$#" -gt 0 ]; then shift; fi

case "$command" in
  dashboard)
    # A bad configuration stops here, one line per problem and exit 2: Streamlit
    # would serve an error page and answer its health path with 200. (The API's
    # gunicorn.conf.py does the same check as gunicorn reads it.)
    python3 -m app.core check-config >/dev/null
    # Every replica must share the cookie secret. Secrets come as files
    # (compose secrets, Kubernetes volumes); Streamlit reads it from this variable.
    if [ -n "${STREAMLIT_SERVER_COOKIE_SECRET_FILE:-}" ]; then
      STREAMLIT_SERVER_COOKIE_SECRET="$(cat "$STREAMLIT_SERVER_COOKIE_SECRET_FILE")"
      export STREAMLIT_SERVER_COOKIE_SECRET
    fi
    exec python3 -m app.dashboard run "${DASHBOARD_SCRIPT:-app/dashboard/streamlit_app.py}" \
      --server.address=0.0.0.0 --server.headless=true "$@"
    ;;
  api)
    exec gunicorn -c app/api/gunicorn.conf.py 'app.api.wsgi:create_app()' "$@"
    ;;
  migrate)
    if [ "${DEMO_DATA:-false}" = true ]; then command=seed; fi
    exec python3 -m app.core "$command" "$@"
    ;;
  seed | rollup | downgrade | check-config | connections | pgbouncer-config)
    exec python3 -m app.core "$command" "$@"
    ;;
  *)
    exec "$command" "$@"
    ;;
esac
