#!/usr/bin/env bash
# The cluster's own images, built locally (no registry is reachable): scratch
# images each holding one static binary, saved as docker-archives that up.sh
# imports into containerd. Cached by version under $CLUSTER_CACHE/images.
#   pause    catatonit -P (Debian's static build): the pod sandbox
#   coredns  cluster DNS         traefik  the ingress controller
# Usage: cluster/images.sh                      the cluster's own images
#        cluster/images.sh --scratch REF BINARY  one more scratch image in podman
#          (e.g. a pinned oauth2-proxy as a stand-in for its registry image)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cluster/versions.sh
source cluster/versions.sh
archives="$CLUSTER_CACHE/images"
mkdir -p "$archives"

# scratch_image REF BINARY [ENTRYPOINT_ARGS...]: FROM scratch + BINARY, its entrypoint.
scratch_image() {
  local ref=$1 binary=$2
  shift 2
  [ -x "$binary" ] || { echo "cluster/images.sh: $binary missing; run cluster/build.sh" >&2; exit 1; }
  local context name entrypoint
  context=$(mktemp -d)
  name=$(basename "$binary")
  cp "$binary" "$context/"
  entrypoint=$(printf ', "%s"' "/$name" "$@")
  printf 'FROM scratch\nCOPY %s /%s\nENTRYPOINT [%s]\n' "$name" "$name" "${entrypoint:2}" \
    >"$context/Containerfile"
  podman build --quiet --tag "$ref" "$context" >/dev/null
  rm -rf "$context"
}

# cluster_image NAME TAG BINARY [ARGS...]: built once, saved where up.sh imports from.
cluster_image() {
  local name=$1 tag=$2
  shift 2
  local archive="$archives/$name-$tag.tar"
  [ -s "$archive" ] && return
  scratch_image "localhost/$name:$tag" "$@"
  podman save --quiet --format docker-archive -o "$archive.partial" "localhost/$name:$tag"
  mv "$archive.partial" "$archive"
}

if [ "${1:-}" = "--scratch" ]; then
  scratch_image "$2" "$3"
  exit 0
fi
cluster_image pause catatonit /usr/bin/catatonit -P
cluster_image coredns "$COREDNS_VERSION" "$CLUSTER_CACHE/coredns-$COREDNS_VERSION/coredns"
cluster_image traefik "$TRAEFIK_VERSION" "$CLUSTER_CACHE/traefik-$TRAEFIK_VERSION/traefik"
