# shellcheck shell=bash
# shellcheck disable=SC2034  # sourced: every script uses a subset
# The pinned versions of the local cluster, read by every cluster script and by
# tests/support/cluster.py. Renovate updates the annotated lines.
# renovate: datasource=github-releases depName=kubernetes/kubernetes
KUBERNETES_VERSION=v1.34.4
# renovate: datasource=github-releases depName=coredns/coredns
COREDNS_VERSION=v1.14.3
# renovate: datasource=github-releases depName=traefik/traefik
TRAEFIK_VERSION=v3.6.12
# Gateway API's CRDs (standard channel), from the Go module's config/crd: the
# release the pinned Traefik's Gateway provider implements (its docs say which).
# renovate: datasource=go depName=sigs.k8s.io/gateway-api
GATEWAY_API_VERSION=v1.4.0
# Shared by every project made from this template (one cluster per machine anyway).
CLUSTER_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/streamlit-platform/cluster"
# Where a running cluster keeps its state (PKI, etcd, containerd, logs, pids).
CLUSTER_RUN="${CLUSTER_RUN:-$CLUSTER_CACHE/run}"
# The network namespace holding the whole cluster, and its node address
# (a dead-end veth: nothing inside can reach beyond this machine).
CLUSTER_NETNS=streamlit-cluster
CLUSTER_NODE=local-node
CLUSTER_NODE_IP=10.199.0.1
# Ports on the host's 127.0.0.1 forwarded into the namespace: the API server
# (for kubectl, helm, make deploy) and Traefik's web entrypoint (the ingress).
CLUSTER_API_PORT="${CLUSTER_API_PORT:-16443}"
CLUSTER_HTTP_PORT="${CLUSTER_HTTP_PORT:-30080}"
# The kube context name: scripts/deploy.py allows localhost/ images only here.
CLUSTER_CONTEXT=streamlit-template-local
# The cluster's own registry (up.sh runs it when scripts/install-test-deps.sh
# --pipeline built it): `make push` to 127.0.0.1:PORT/..., the node pulls the
# same reference from there.
CLUSTER_REGISTRY_PORT="${CLUSTER_REGISTRY_PORT:-15000}"
