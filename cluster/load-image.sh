#!/usr/bin/env bash
# Import a local podman image into the running cluster's containerd, so pods
# can run it with imagePullPolicy IfNotPresent or Never (nothing is pulled).
# Usage: cluster/load-image.sh localhost/NAME:TAG...
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cluster/versions.sh
source cluster/versions.sh
socket="$CLUSTER_RUN/containerd/containerd.sock"
[ -S "$socket" ] || { echo "cluster/load-image.sh: no cluster running (make cluster-up)" >&2; exit 1; }
for image in "$@"; do
  if ! podman image exists "$image"; then
    echo "cluster/load-image.sh: podman has no image $image; build it first (e.g. make image)" >&2
    exit 1
  fi
  archive=$(mktemp --suffix=.tar)
  podman save --quiet --format docker-archive -o "$archive" "$image"
  ctr --address "$socket" --namespace k8s.io images import "$archive" >/dev/null
  rm -f "$archive"
  echo "loaded $image"
done
