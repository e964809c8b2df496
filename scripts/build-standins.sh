#!/usr/bin/env bash
# Build local stand-ins for the public images docker/compose.yaml runs, for
# machines that cannot pull from a registry (CI here), with podman:
#   postgres, nginx, valkey    docker/standins/<name>/ on the local Debian base
#                      (scripts/build-base-image.sh), the app image's base too
#   oauth2-proxy       the pinned binary scripts/install-test-deps.sh --compose builds,
#                      alone in a scratch image (cluster/images.sh --scratch)
# The dev OpenID provider and the app build from this checkout anyway. Prints
# the .env lines that select the stand-ins. Users with a registry skip this.
# Usage: scripts/build-standins.sh   (BASE_IMAGE=... for another local base)
set -euo pipefail
cd "$(dirname "$0")/.."
base="${BASE_IMAGE:-localhost/python-base:trixie}"
tools_bin=.tools/bin

podman image exists "$base" || scripts/build-base-image.sh "$base" >&2
for name in postgres nginx valkey; do
  # apt fetches over plain HTTP with signed indexes: host network, no CA mount
  # (a read-only /etc/ssl/certs breaks the ssl-cert package's set-up).
  podman build --quiet --network host --build-arg "BASE_IMAGE=$base" \
    --tag "localhost/streamlit-template-$name:standin" "docker/standins/$name" >/dev/null
done
[ -x "$tools_bin/oauth2-proxy" ] ||
  { echo "build-standins: $tools_bin/oauth2-proxy missing; run scripts/install-test-deps.sh --compose" >&2; exit 1; }
cluster/images.sh --scratch localhost/streamlit-template-oauth2-proxy:standin "$tools_bin/oauth2-proxy"

cat <<ENV
# the local stand-ins, for .env:
POSTGRES_IMAGE=localhost/streamlit-template-postgres:standin
NGINX_IMAGE=localhost/streamlit-template-nginx:standin
OAUTH2_PROXY_IMAGE=localhost/streamlit-template-oauth2-proxy:standin
VALKEY_IMAGE=localhost/streamlit-template-valkey:standin
ENV
