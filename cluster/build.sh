#!/usr/bin/env bash
# Build (or reuse) the binaries of the local single-node cluster from the Go
# module proxy, and fetch the CRDs it installs (cluster/crds.sh), each pinned
# and cached by version under
#   ${XDG_CACHE_HOME:-~/.cache}/streamlit-platform/cluster/NAME-VERSION/
# A cold build takes 15-25 min on 2 cores (Kubernetes is most of it); a warm
# one is a few checks. Prints nothing but progress; exit 1 names what failed.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/go-build.sh
source scripts/lib/go-build.sh
# shellcheck source=cluster/versions.sh
source cluster/versions.sh

# built NAME VERSION: true when the cache holds a finished build of it.
built() { [ -f "$CLUSTER_CACHE/$1-$2/.complete" ]; }
# finish NAME VERSION: mark a build finished (a half-built folder is rebuilt).
finish() { touch "$CLUSTER_CACHE/$1-$2/.complete"; }
step() { printf '[cluster build %s] %s\n' "$(date +%T)" "$*"; }

if ! built kubernetes "$KUBERNETES_VERSION"; then
  step "Kubernetes $KUBERNETES_VERSION (the long one: 15-25 min cold)"
  minor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")
  # Without these stamps the server reports v0.0.0 and Helm's kubeVersion checks fail.
  ldflags=""
  for var in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $var.gitVersion=$KUBERNETES_VERSION -X $var.gitMajor=1 -X $var.gitMinor=$minor"
    ldflags+=" -X $var.gitTreeState=clean"
  done
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
  # with folders of its own repository; published as k8s.io/NAME v0.MINOR.PATCH.
  staging_version="v0.${KUBERNETES_VERSION#v1.}"
  staging_replaces=""
  for module in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go \
    cloud-provider cluster-bootstrap code-generator component-base component-helpers \
    controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation \
    endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy \
    kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission \
    sample-apiserver sample-cli-plugin sample-controller; do
    staging_replaces+=" k8s.io/$module=k8s.io/$module@$staging_version"
  done
  out="$CLUSTER_CACHE/kubernetes-$KUBERNETES_VERSION"
  GO_REPLACE=$staging_replaces go_build "$out" k8s.io/kubernetes "$KUBERNETES_VERSION" "$ldflags" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet \
    k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl
  finish kubernetes "$KUBERNETES_VERSION"
fi

if ! built coredns "$COREDNS_VERSION"; then
  step "CoreDNS $COREDNS_VERSION"
  go_build "$CLUSTER_CACHE/coredns-$COREDNS_VERSION" github.com/coredns/coredns \
    "$COREDNS_VERSION" "" github.com/coredns/coredns
  finish coredns "$COREDNS_VERSION"
fi

if ! built traefik "$TRAEFIK_VERSION"; then
  step "Traefik $TRAEFIK_VERSION"
  # Traefik's go.mod replaces three modules with its own forks.
  GO_REPLACE="github.com/abbot/go-http-auth=github.com/containous/go-http-auth@v0.4.1-0.20200324110947-a37a7636d23e
    github.com/gorilla/mux=github.com/containous/mux@v0.0.0-20250523120546-41b6ec3aed59
    github.com/mailgun/minheap=github.com/containous/minheap@v0.0.0-20190809180810-6e71eb837595" \
    go_build "$CLUSTER_CACHE/traefik-$TRAEFIK_VERSION" github.com/traefik/traefik/v3 \
    "$TRAEFIK_VERSION" "-X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    github.com/traefik/traefik/v3/cmd/traefik
  finish traefik "$TRAEFIK_VERSION"
fi
# Not binaries: the Gateway API and Traefik CRDs, from the same module proxy.
cluster/crds.sh
step "binaries ready in $CLUSTER_CACHE"
