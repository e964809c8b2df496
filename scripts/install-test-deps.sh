#!/usr/bin/env bash
# Install the system programs the test suite drives for real, pinned where the
# source allows: PostgreSQL, nginx, podman, Chromium (Debian), and Go-built
# tools (oauth2-proxy, ...). Python packages come from `make test` itself.
# Idempotent; needs root (or sudo) for apt-get. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

apt_packages=(
  postgresql    # integration tests start their own cluster with initdb/pg_ctl
)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null

# --- container layer: tests/container, tests/support/image.py ---
# podman builds and runs docker/Dockerfile; runc because Debian's default crun
# fails on hybrid cgroups in CI sandboxes; debootstrap makes the local base
# image (scripts/build-base-image.sh), since CI cannot pull from a registry.
container_packages=(podman runc debootstrap)
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${container_packages[@]}" >/dev/null
