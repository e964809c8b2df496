#!/usr/bin/env bash
# Generate the local secrets docker/compose.yaml mounts, one file each, under
# secrets/ (gitignored), named as the variable each consumer knows. Written
# with printf '%s', no trailing newline: oauth2-proxy reads its files as they
# are. Existing files are kept, so re-running never logs anyone out or breaks
# the database password.
# Usage: scripts/make-secrets.sh [DIR]   (default: secrets)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-secrets}"
mkdir -p "$dir"

random() {  # $1 random bytes, URL-safe base64 without padding
  python3 -c 'import base64, os, sys; print(base64.urlsafe_b64encode(os.urandom(int(sys.argv[1]))).decode().rstrip("="))' "$1"
}

write_once() {  # file, value
  if [ ! -s "$dir/$1" ]; then
    printf '%s' "$2" >"$dir/$1"
    echo "wrote $dir/$1"
  fi
}

write_once POSTGRES_PASSWORD "$(random 24)"
write_once APP_DATABASE_URL "postgresql://app:$(cat "$dir/POSTGRES_PASSWORD")@postgres:5432/app"
write_once STREAMLIT_SERVER_COOKIE_SECRET "$(random 32)"
write_once OAUTH2_PROXY_COOKIE_SECRET "$(random 24)"   # 24 bytes -> 32 characters, as oauth2-proxy wants
# Any value works with the dev provider; replace it with your provider's secret.
write_once OAUTH2_PROXY_CLIENT_SECRET "$(random 24)"
# oauth2-proxy's session store (valkey): URL-safe characters, as its config quotes it.
write_once OAUTH2_PROXY_REDIS_PASSWORD "$(random 24)"
# Compose bind-mounts these files as they are, and the containers' own users
# (uid 10001, postgres, nginx, valkey's 65532) must read them: keep the checkout itself private.
chmod 0644 "$dir"/*
chmod 0755 "$dir"
