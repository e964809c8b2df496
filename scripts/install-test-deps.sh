#!/usr/bin/env bash
# Install the system programs the test suite drives for real, pinned where the
# source allows: PostgreSQL, PgBouncer, nginx, podman, Chromium (Debian), and Go-built
# tools (oauth2-proxy, ...). Python packages come from `make test` itself.
# Idempotent; needs root (or sudo) for apt-get. Used by .ci/run.
#   --lint-tools  only the Go-built tools `make lint` runs (actionlint, helm), no apt
#   --cluster     only what the cluster layer needs (apt packages, cluster/build.sh)
#   --kind        only the Go tools the cluster tests need on kind (helm, oauth2-proxy)
#   --monitoring-tools  only promtool (the alert rules' checker)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/go-build.sh
source scripts/lib/go-build.sh

# --- Go-built tools, pinned, into a cache outside the repo ---
# Built statically (scripts/lib/go-build.sh), so the cluster tests can put
# oauth2-proxy alone in a scratch image. Rebuilt only when the cached binary's
# version differs (so each tool's version ldflag must be the variable its
# --version prints).
tools_bin="${XDG_CACHE_HOME:-$HOME/.cache}/streamlit-template/bin"
mkdir -p "$tools_bin"
# go_tool NAME MODULE VERSION PACKAGE [LDFLAGS]: build PACKAGE of MODULE@VERSION as tools_bin/NAME
go_tool() {
  local name=$1 module=$2 version=$3 package=$4 ldflags=${5:-}
  if { "$tools_bin/$name" --version || "$tools_bin/$name" version; } 2>/dev/null |
    grep -q "${version#v}"; then return; fi
  go_build "$tools_bin" "$module" "$version" "$ldflags" "$package"
}

# --- make lint: actionlint (the workflows) and helm (helm lint; `make deploy`) ---
lint_tools() {
  # renovate: datasource=github-releases depName=rhysd/actionlint
  local actionlint_version=v1.7.12
  go_tool actionlint github.com/rhysd/actionlint "$actionlint_version" \
    github.com/rhysd/actionlint/cmd/actionlint \
    "-X github.com/rhysd/actionlint.version=${actionlint_version}"
  # renovate: datasource=github-releases depName=helm/helm
  local helm_version=v4.0.1
  local helm_pkg=helm.sh/helm/v4
  # The ldflags are Helm's own Makefile's: without the Kubernetes version of its
  # client-go (0.34 in v4.0.1) `helm template` assumes Kubernetes 1.20.
  local helm_ldflags="-X ${helm_pkg}/internal/version.version=${helm_version}"
  local var
  for var in pkg/chart/common.k8sVersion internal/version.kubeClientVersion \
    pkg/chart/v2/lint/rules.k8sVersion; do
    helm_ldflags+=" -X ${helm_pkg}/${var}Major=1 -X ${helm_pkg}/${var}Minor=34"
  done
  go_tool helm "${helm_pkg}/cmd/helm" "$helm_version" "${helm_pkg}/cmd/helm" "$helm_ldflags"
}

# --- the edge (tests/e2e) and the sidecar image (tests/cluster): oauth2-proxy ---
edge_tools() {
  # The same release compose and the chart pin (tests/workflows checks the three agree).
  # renovate: datasource=github-releases depName=oauth2-proxy/oauth2-proxy
  local oauth2_proxy_version=v7.15.6
  # Since v7.7.0 the version variable lives in pkg/version, not main.
  go_tool oauth2-proxy github.com/oauth2-proxy/oauth2-proxy/v7 "$oauth2_proxy_version" \
    github.com/oauth2-proxy/oauth2-proxy/v7 \
    "-X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=${oauth2_proxy_version}"
}

# --- the alert rules (tests/chart/test_monitoring.py): promtool, Prometheus's rule checker ---
monitoring_tools() {
  # Prometheus 3.x is published to the module proxy as v0.3XX.Y (3.16.0 = v0.316.0).
  # renovate: datasource=go depName=github.com/prometheus/prometheus
  local prometheus_version=v0.316.0
  # Its version string names the module version too, which go_tool checks.
  go_tool promtool github.com/prometheus/prometheus "$prometheus_version" \
    github.com/prometheus/prometheus/cmd/promtool \
    "-X github.com/prometheus/common/version.Version=3.16.0 -X github.com/prometheus/common/version.Revision=${prometheus_version}"
}

# --kind: the Go tools the cluster tests need on a kind cluster (cluster/kind-up.sh)
if [ "${1:-}" = "--kind" ]; then
  lint_tools
  edge_tools
  exit 0
fi
if [ "${1:-}" = "--monitoring-tools" ]; then
  monitoring_tools
  exit 0
fi
if [ "${1:-}" = "--lint-tools" ]; then
  lint_tools
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

# --- cluster layer: tests/cluster, make cluster-up (cluster/README.md) ---
# Debian's etcd, containerd, runc, CNI plugins; socat for the loopback
# forwarders; podman and catatonit for the scratch images. The Kubernetes,
# CoreDNS and Traefik binaries are built from the Go module proxy, cached by
# version (15-25 min the first time, seconds after).
cluster_deps() {
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends containerd runc \
    containernetworking-plugins etcd-server conntrack iptables socat podman catatonit >/dev/null
  cluster/build.sh
  cluster/images.sh
}
if [ "${1:-}" = "--cluster" ]; then
  "${sudo_cmd[@]}" apt-get update -qq
  cluster_deps
  exit 0
fi

apt_packages=(
  postgresql    # integration tests start their own cluster with initdb/pg_ctl
  pgbouncer     # tests/integration/test_pgbouncer.py runs the chart's PgBouncer configuration
)
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null

# --- container layer: tests/container, tests/support/image.py ---
# podman builds and runs docker/Dockerfile; runc because Debian's default crun
# fails on hybrid cgroups in CI sandboxes; debootstrap makes the local base
# image (scripts/build-base-image.sh), since CI cannot pull from a registry.
# catatonit: the init of the pause container `podman kube play` builds for pods.
# The CNI dnsname plugin: containers of a compose project find each other by
# service name (podman recommends it; --no-install-recommends leaves it out).
# podman-compose itself comes from PyPI with the dev tools (docker/README.md).
container_packages=(podman runc debootstrap catatonit golang-github-containernetworking-plugin-dnsname)
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${container_packages[@]}" >/dev/null

# --- edge layer: tests/e2e ---
# nginx (Debian 1.22, has auth_request), Chromium (driven by Playwright, never
# a downloaded browser), oauth2-proxy and its session store: Debian's
# valkey-server where the release has it (trixie), else redis-server
# (bookworm); one protocol, one configuration (tests/support/edge.py).
session_store=redis-server
if apt-cache show valkey-server >/dev/null 2>&1; then session_store=valkey-server; fi
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nginx chromium "$session_store" >/dev/null
edge_tools
monitoring_tools

# --- chart layer: tests/deploy ---
# helm and kubectl for `make deploy`'s refusals and dry run (the chart tests
# render with helm-python-sdk). Debian's kubectl only where none is installed.
if ! command -v kubectl >/dev/null; then
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
fi
lint_tools
cluster_deps
