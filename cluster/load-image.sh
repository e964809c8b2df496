#!/usr/bin/env bash
# Import local podman images into the running cluster so pods can run them
# with imagePullPolicy IfNotPresent or Never (nothing is pulled): into the
# local cluster's containerd, or with KIND_CLUSTER set into that kind cluster.
# Usage: cluster/load-image.sh localhost/NAME:TAG...
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cluster/versions.sh
source cluster/versions.sh
socket="$CLUSTER_RUN/containerd/containerd.sock"
if [ -z "${KIND_CLUSTER:-}" ] && [ ! -S "$socket" ]; then
  echo "cluster/load-image.sh: no cluster running (make cluster-up)" >&2
  exit 1
fi
for image in "$@"; do
  if ! podman image exists "$image"; then
    echo "cluster/load-image.sh: podman has no image $image; build it first (e.g. make image)" >&2
    exit 1
  fi
  archive=$(mktemp --suffix=.tar)
  podman save --quiet --format docker-archive -o "$archive" "$image"
  if [ -n "${KIND_CLUSTER:-}" ]; then
    kind load image-archive "$archive" --name "$KIND_CLUSTER"
  else
    ctr --address "$socket" --namespace k8s.io images import "$archive" >/dev/null
  fi
  rm -f "$archive"
  echo "loaded $image"
done
