#!/usr/bin/env bash
# Install the programs the test layers drive for real, pinned where the source
# allows; Python packages come from `make test-deps` (the locked dev group).
# Idempotent; needs root (or sudo) for apt-get. CI (.ci/run) runs it with no
# flag: everything. On a laptop pick the layers you run:
#   --postgres          PostgreSQL and PgBouncer      (tests/integration, tests/faults)
#   --edge              nginx, Chromium, oauth2-proxy, Valkey/Redis (tests/e2e, tests/faults)
#   --containers        podman, runc, a local base    (tests/container, tests/chart kube play)
#   --compose           --containers + oauth2-proxy, Pebble (a test ACME CA) and NSS's
#                       certutil (Chromium trusting Pebble's root)  (tests/compose, make up, make standins)
#   --lint-tools        actionlint and helm           (make lint, tests/deploy, tests/workflows)
#   --monitoring-tools  promtool                      (tests/chart/test_monitoring.py)
#   --cluster           Debian's cluster packages, then Kubernetes, CoreDNS and Traefik
#                       built from source (15-25 min the first time)     (tests/cluster)
#   --kind              the Go tools the cluster tests need on kind (helm, oauth2-proxy)
#   --go-tools          actionlint, helm, oauth2-proxy, promtool, pebble alone: no apt, no root
#   --pipeline          act, a registry (Debian's distribution), cosign, Renovate with its Node
#                       (npm), sudo  (tests/pipeline: the workflows run here; 13-30 min cold)
# Go tools are built once per version into ~/.cache/streamlit-platform (shared
# by every project made from this template) and linked into .tools/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/go-build.sh
source scripts/lib/go-build.sh

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
apt_updated=false
apt_install() {
  if [ "$apt_updated" = false ]; then "${sudo_cmd[@]}" apt-get update -qq; apt_updated=true; fi
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
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

# --- the edge's sign-in (tests/e2e), its stand-in image (make standins), the
# chart's sidecar on the test cluster: oauth2-proxy, built statically so it
# runs alone in a scratch image ---
oauth2_proxy() {
  # The same release compose and the chart pin (tests/workflows checks the three agree).
  # renovate: datasource=github-releases depName=oauth2-proxy/oauth2-proxy
  local oauth2_proxy_version=v7.15.6
  # Since v7.7.0 the version variable lives in pkg/version, not main.
  go_tool oauth2-proxy github.com/oauth2-proxy/oauth2-proxy/v7 "$oauth2_proxy_version" \
    github.com/oauth2-proxy/oauth2-proxy/v7 \
    "-X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=${oauth2_proxy_version}"
}

# --- the production profile's HTTPS (tests/compose/test_production.py): Pebble,
# Let's Encrypt's ACME test server, issues the certificates certbot asks for;
# it runs alone in a scratch image on the test's compose network ---
pebble() {
  # renovate: datasource=go depName=github.com/letsencrypt/pebble/v2
  local pebble_version=v2.10.3
  go_tool pebble github.com/letsencrypt/pebble/v2 "$pebble_version" \
    github.com/letsencrypt/pebble/v2/cmd/pebble
}

# --- the alert rules (tests/chart/test_monitoring.py): promtool, Prometheus's rule checker ---
monitoring_tools() {
  # Prometheus 3.x is published to the module proxy as v0.3XX.Y (3.16.0 = v0.316.0).
  # renovate: datasource=go depName=github.com/prometheus/prometheus
  local prometheus_version=v0.316.0
  go_tool promtool github.com/prometheus/prometheus "$prometheus_version" \
    github.com/prometheus/prometheus/cmd/promtool \
    "-X github.com/prometheus/common/version.Version=3.16.0 -X github.com/prometheus/common/version.Revision=${prometheus_version}"
}

# --- integration and fault layers: a PostgreSQL of the tests' own (initdb,
# pg_ctl) and PgBouncer (tests/integration/test_pgbouncer.py) ---
postgres() { apt_install postgresql pgbouncer; }

# --- the edge (tests/e2e): nginx (Debian 1.22, has auth_request), Chromium
# (driven by Playwright, never a downloaded browser), oauth2-proxy and its
# session store: Debian's valkey-server where the release has it (trixie), else
# redis-server (bookworm); one protocol, one configuration (tests/support/edge.py) ---
edge() {
  local session_store=redis-server
  if apt-cache show valkey-server >/dev/null 2>&1; then session_store=valkey-server; fi
  apt_install nginx chromium "$session_store"
  oauth2_proxy
}

# --- containers (tests/container, tests/chart's kube play): podman builds and
# runs docker/Dockerfile; runc because Debian's default crun fails on hybrid
# cgroups in CI sandboxes; debootstrap makes the local base image
# (scripts/build-base-image.sh), since CI cannot pull from a registry;
# catatonit, the init of the pause container `podman kube play` builds; the
# CNI dnsname plugin, so the containers of a compose project find each other
# by service name (--no-install-recommends leaves it out). podman-compose
# comes from PyPI with the dev tools (docker/README.md). ---
containers() {
  apt_install podman runc debootstrap catatonit golang-github-containernetworking-plugin-dnsname
}

# --- compose (tests/compose, make up): containers and the oauth2-proxy the
# stand-in image holds (make standins); for the production profile's test,
# Pebble and certutil (libnss3-tools: Chromium trusts Pebble's root from an
# NSS database of the test's own) ---
compose() {
  containers
  apt_install libnss3-tools
  oauth2_proxy
  pebble
}

# --- the cluster layer (tests/cluster, make cluster-up; cluster/README.md):
# Debian's etcd, containerd, runc, CNI plugins; socat for the loopback
# forwarders; podman and catatonit for the scratch images; the Kubernetes,
# CoreDNS and Traefik binaries built from the Go module proxy, cached by
# version (15-25 min the first time, seconds after); helm and kubectl for
# make deploy (Debian's kubectl only where none is installed). ---
cluster() {
  apt_install containerd runc containernetworking-plugins etcd-server conntrack iptables socat \
    podman catatonit
  if ! command -v kubectl >/dev/null; then apt_install kubernetes-client; fi
  lint_tools
  oauth2_proxy
  cluster/build.sh
  cluster/images.sh
}

# --go-tools: the Go tools of the layers above, without apt (no root needed)
go_tools() {
  lint_tools
  oauth2_proxy
  monitoring_tools
  pebble
}

# --kind: the Go tools the cluster tests need on a kind cluster (cluster/kind-up.sh)
kind() {
  lint_tools
  oauth2_proxy
}

# --- the pipeline layer (tests/pipeline, docs/pipeline.md): act runs the
# workflows' jobs on this machine; a registry (distribution 2.8, Debian's: no
# 3-9 min build; its service never starts here, policy-rc.d or not, since every
# test runs its own binary with its own config on loopback) the release and
# `make push` push to, and the local cluster pulls from; cosign signs what was
# pushed; Renovate, run for real, lists every pinned dependency. sudo: the
# workflows' steps call it, as on GitHub's runners. ---
pipeline() {
  command -v sudo >/dev/null || apt_install sudo
  apt_install docker-registry
  mkdir -p .tools/bin
  ln -sfn /usr/bin/docker-registry .tools/bin/registry
  # renovate: datasource=github-releases depName=nektos/act
  local act_version=v0.2.89
  go_tool act github.com/nektos/act "$act_version" github.com/nektos/act \
    "-X main.version=${act_version}"
  # renovate: datasource=github-releases depName=sigstore/cosign
  local cosign_version=v3.1.3
  go_tool cosign github.com/sigstore/cosign/v3 "$cosign_version" \
    github.com/sigstore/cosign/v3/cmd/cosign \
    "-X sigs.k8s.io/release-utils/version.gitVersion=${cosign_version}"
  renovate_npm
}

# Renovate and Node 24 (its npm package: Debian's and the runners' Node is 20)
# from tests/pipeline/renovate/package-lock.json, every package checked against
# its hash (npm ci), installed once per lock under ~/.cache/streamlit-platform/npm.
# --ignore-scripts: nothing runs at install time (Renovate's optional re2 stays
# unbuilt; Renovate says so and uses JavaScript's RegExp).
renovate_npm() {
  local lock=tests/pipeline/renovate/package-lock.json hash dir tool
  hash=$(sha256sum "$lock" | cut -c 1-16)
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/streamlit-platform/npm/renovate-$hash"
  if [ ! -f "$dir/.complete" ]; then
    command -v npm >/dev/null || apt_install npm
    printf '[npm %s] renovate (lock %s)\n' "$(date +%T)" "$hash"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$(dirname "$lock")/package.json" "$lock" "$dir/"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    for tool in renovate renovate-config-validator; do
      # Run on the locked Node, whichever node is first on PATH.
      cat >"$dir/$tool" <<SH
#!/bin/sh
PATH="$dir/node_modules/.bin:\$PATH" exec "$dir/node_modules/.bin/$tool" "\$@"
SH
      chmod +x "$dir/$tool"
    done
    touch "$dir/.complete"
  fi
  mkdir -p .tools/bin
  for tool in renovate renovate-config-validator; do ln -sfn "$dir/$tool" ".tools/bin/$tool"; done
}

all() {
  postgres
  compose
  edge
  lint_tools
  monitoring_tools
  cluster
  pipeline
}

if [ "$#" -eq 0 ]; then set -- --all; fi
for flag in "$@"; do
  case "$flag" in
    --all | --postgres | --edge | --containers | --compose | --lint-tools | --monitoring-tools | \
      --cluster | --kind | --pipeline | --go-tools)
      name=${flag#--}
      "${name//-/_}"
      ;;
    --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      ;;
    *)
      echo "install-test-deps: unknown flag $flag (--help lists them)" >&2
      exit 2
      ;;
  esac
done
