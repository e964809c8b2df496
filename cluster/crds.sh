#!/usr/bin/env bash
# The CustomResourceDefinitions the cluster's Traefik reads routes from, each
# copied out of the Go module of its pinned release (go mod download through
# the Go module proxy, as every Go source here), cached by version:
#   $CLUSTER_CACHE/gateway-api-VERSION/   Gateway API's standard channel
#       (sigs.k8s.io/gateway-api, config/crd/standard): GatewayClass, Gateway,
#       HTTPRoute, ReferenceGrant, GRPCRoute, BackendTLSPolicy
#   $CLUSTER_CACHE/traefik-crds-VERSION/  Traefik's own (github.com/traefik/traefik/v3):
#       TraefikService, which carries its sticky cookie for a Gateway route
# Usage: cluster/crds.sh              fetch them (cluster/build.sh; seconds)
#        cluster/crds.sh KUBECTL...   fetch, then apply them with that kubectl
#                                     command and wait until they are served
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/go-build.sh
source scripts/lib/go-build.sh
# shellcheck source=cluster/versions.sh
source cluster/versions.sh
gateway_api="$CLUSTER_CACHE/gateway-api-$GATEWAY_API_VERSION"
traefik_crds="$CLUSTER_CACHE/traefik-crds-$TRAEFIK_VERSION"

if [ ! -f "$gateway_api/.complete" ]; then
  go_module_files "$gateway_api" sigs.k8s.io/gateway-api "$GATEWAY_API_VERSION" config/crd/standard
  touch "$gateway_api/.complete"
fi
if [ ! -f "$traefik_crds/.complete" ]; then
  go_module_files "$traefik_crds" github.com/traefik/traefik/v3 "$TRAEFIK_VERSION" \
    docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml
  touch "$traefik_crds/.complete"
fi
[ $# -gt 0 ] || exit 0

# Server-side apply: the largest CRDs exceed client-side apply's annotation limit.
for crd in "$gateway_api"/standard/gateway.networking.k8s.io_*.yaml \
  "$traefik_crds"/kubernetes-crd-definition-v1.yml; do
  "$@" apply --server-side --force-conflicts --filename "$crd" >/dev/null
done
"$@" wait --for condition=established --timeout=60s crd --all >/dev/null
