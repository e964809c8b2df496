#!/usr/bin/env bash
# Make a local stand-in for the official python:3.13-slim-trixie image, for
# machines that cannot pull from a container registry (CI here). Debian trixie
# ships Python 3.13 too, so the Dockerfile builds on it unchanged:
#   podman build --build-arg PYTHON_IMAGE=localhost/python-base:trixie ...
# The root filesystem is cached outside the repository and reused; the image is
# only (re)imported when podman does not have it. Needs root, debootstrap, podman.
# Usage: scripts/build-base-image.sh [IMAGE]
set -euo pipefail

image="${1:-localhost/python-base:trixie}"
suite=trixie
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/streamlit-platform"
rootfs_tar="$cache_dir/python-base-$suite.tar"

if podman image exists "$image"; then
  echo "$image exists"
  exit 0
fi

if [ ! -s "$rootfs_tar" ]; then
  mkdir -p "$cache_dir"
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs" "$rootfs_tar.partial"' EXIT
  # minbase + what the Dockerfile needs: python3 with venv (ensurepip), CA certificates.
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$suite" "$rootfs" >&2
  # Package lists and caches are not part of a slim base image.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  tar -C "$rootfs" -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
fi

# Without PATH in the image config, `podman kube play` cannot even find sh.
podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  "$rootfs_tar" "$image" >/dev/null
echo "$image imported from $rootfs_tar"
