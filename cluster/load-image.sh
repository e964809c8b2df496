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
# wait_on_node IMAGE: until the node's status lists IMAGE, which is where make
# deploy looks (the kubelet refreshes that list every 30 s or so).
wait_on_node() {
  local kubectl="$CLUSTER_CACHE/kubernetes-$KUBERNETES_VERSION/kubectl" deadline=$((SECONDS + 120))
  until "$kubectl" --kubeconfig "$CLUSTER_RUN/kubeconfig" get nodes \
    --output jsonpath='{.items[*].status.images[*].names}' | grep -qF "\"$1\""; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "cluster/load-image.sh: the node does not list $1 after 120 s" >&2
      exit 1
    fi
    sleep 2
  done
}

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
    wait_on_node "$image"
  fi
  rm -f "$archive"
  echo "loaded $image"
done
