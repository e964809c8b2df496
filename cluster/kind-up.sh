#!/usr/bin/env bash
# The cluster tests' cluster on kind, where cluster/up.sh cannot run (GitHub
# runners: Docker, no root network-namespace set-up). The same versions and
# manifests: a kind cluster named $KIND_CLUSTER with Traefik's NodePort on the
# host's 127.0.0.1:$CLUSTER_HTTP_PORT, the Gateway API and Traefik CRDs
# (cluster/crds.sh), Traefik and its Gateway from cluster/manifests/ with its
# public image (CoreDNS comes with kind), and a route to the Service network
# through the node, so tests reach ClusterIPs as a client on the node would.
# Then: KIND_CLUSTER=... make test PYTEST_ARGS=tests/cluster. Needs kind,
# kubectl, docker and sudo (the route).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cluster/versions.sh
source cluster/versions.sh
name=${KIND_CLUSTER:?set KIND_CLUSTER to the kind cluster name}
# The node runs versions.sh's Kubernetes, as the local cluster does. kind
# publishes node images for a few patch releases only, each made for one kind
# release (kind's own default would be another version), so the pinned kind
# builds the image from that Kubernetes release's binaries (dl.k8s.io) on its
# own base image: about 2 min.
node_image="localhost/kind-node:$KUBERNETES_VERSION"
kind build node-image --type release --image "$node_image" "$KUBERNETES_VERSION"
config=$(mktemp)
cat >"$config" <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    extraPortMappings:
      - {containerPort: $CLUSTER_HTTP_PORT, hostPort: $CLUSTER_HTTP_PORT, listenAddress: 127.0.0.1}
YAML
kind create cluster --name "$name" --image "$node_image" --config "$config" --wait 180s
rm -f "$config"
cluster/crds.sh kubectl --context "kind-$name"
sed -e "s|localhost/traefik:TRAEFIK_VERSION|docker.io/library/traefik:$TRAEFIK_VERSION|" \
  -e "s|imagePullPolicy: Never|imagePullPolicy: IfNotPresent|" \
  -e "s/CLUSTER_HTTP_PORT/$CLUSTER_HTTP_PORT/" cluster/manifests/traefik.yaml |
  kubectl --context "kind-$name" apply -f -
kubectl --context "kind-$name" -n traefik rollout status deployment/traefik --timeout=180s
kubectl --context "kind-$name" -n traefik wait gateway/traefik-gateway --for condition=Programmed \
  --timeout=60s
node=$(docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' \
  "$name-control-plane")
service_cidr=$(docker exec "$name-control-plane" \
  sh -c 'grep -o -- "--service-cluster-ip-range=[^ ]*" /etc/kubernetes/manifests/kube-apiserver.yaml' |
  cut -d= -f2)
sudo ip route replace "$service_cidr" via "$node"
echo "kind cluster $name up: ingress on http://localhost:$CLUSTER_HTTP_PORT"
