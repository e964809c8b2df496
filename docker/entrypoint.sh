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
#   oauth2-proxy-config FILE          oauth2-proxy's config with its Redis password, at FILE
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
  oauth2-proxy-config)
    # oauth2-proxy (v7.15.6) takes the Redis password of its session store from
    # its config file, a flag or the environment only, never from a file of its
    # own: write its config ($OAUTH2_PROXY_CONFIG) with the password from the
    # secret file $OAUTH2_PROXY_REDIS_PASSWORD_FILE added, readable by the group
    # only (compose's one-shot service, the chart's init container).
    out="${1:?usage: oauth2-proxy-config FILE}"
    password="$(cat "${OAUTH2_PROXY_REDIS_PASSWORD_FILE:?}")"
    case "$password" in
      "" | *[!A-Za-z0-9._~+/=-]*)
        echo "oauth2-proxy-config: the Redis password must be letters, digits and ._~+/=- only" >&2
        exit 2
        ;;
    esac
    umask 027
    { cat "${OAUTH2_PROXY_CONFIG:?}"; printf '\nredis_password = "%s"\n' "$password"; } >"$out.new"
    mv "$out.new" "$out"
    ;;
  *)
    exec "$command" "$@"
    ;;
esac
