#!/usr/bin/env bash
# Bring up the local single-node Kubernetes: etcd, the control plane,
# containerd + kubelet, kube-proxy, CoreDNS and Traefik (Ingress and Gateway
# API controller, with Gateway API's CRDs), all inside one network
# namespace whose only way out is a dead-end veth (nothing in it reaches
# beyond this machine; the host's iptables stay untouched). The host reaches it
# through loopback forwarders: the API server on 127.0.0.1:CLUSTER_API_PORT,
# the ingress on 127.0.0.1:CLUSTER_HTTP_PORT and the cluster's registry on
# 127.0.0.1:CLUSTER_REGISTRY_PORT.
# About 15 s from built binaries (cluster/build.sh, cluster/images.sh).
# Needs root: namespaces, mounts, cgroups. Prints the kubeconfig to use.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cluster/versions.sh
source cluster/versions.sh
k8s_bin="$CLUSTER_CACHE/kubernetes-$KUBERNETES_VERSION"
run=$CLUSTER_RUN
pki=$run/pki
logs=$run/logs
kubeconfig=$run/kubeconfig   # the host's, through the forwarder

fail() { echo "cluster/up.sh: $*" >&2; exit 1; }
step() { printf '[cluster up %s] %s\n' "$(date +%T)" "$*"; }
in_netns() { nsenter --net="/run/netns/$CLUSTER_NETNS" "$@"; }
# start NAME COMMAND...: a daemon inside the namespace, its PID in run/pids.
start() {
  local name=$1
  shift
  (exec nsenter --net="/run/netns/$CLUSTER_NETNS" "$@" >"$logs/$name.log" 2>&1) &
  echo $! >"$run/pids/$name"
}
# wait_for WHAT SECONDS COMMAND...: retry COMMAND until it succeeds.
wait_for() {
  local what=$1 seconds=$2
  local deadline=$((SECONDS + seconds))
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what not ready after $seconds s; see $logs/"
    sleep 0.5
  done
  step "$what ready"
}
kubectl_in() { in_netns "$k8s_bin/kubectl" --kubeconfig "$run/admin.kubeconfig" "$@"; }

[ "$(id -u)" -eq 0 ] || fail "needs root (network namespace, mounts, cgroups)"
[ -f "$k8s_bin/.complete" ] || fail "no Kubernetes $KUBERNETES_VERSION binaries; run cluster/build.sh"
for tool in containerd runc etcd socat conntrack iptables /usr/lib/cni/bridge; do
  command -v "$tool" >/dev/null || [ -x "$tool" ] ||
    fail "$tool missing; run scripts/install-test-deps.sh --cluster"
done
cluster/images.sh
if [ -f "$run/pids/kube-apiserver" ] && kill -0 "$(cat "$run/pids/kube-apiserver")" 2>/dev/null; then
  step "already up; kubeconfig: $kubeconfig"
  exit 0
fi
# Leftovers of a cluster whose processes were killed (a reboot, an ended CI
# job): its namespace, mounts and pod state would trip this start.
if [ -e "/run/netns/$CLUSTER_NETNS" ] || compgen -G "$run/pids/*" >/dev/null; then
  step "cleaning up a cluster that was not shut down"
  cluster/down.sh --wipe >/dev/null
fi
mkdir -p "$logs" "$run/etcd" "$run/containerd" "$run/kubelet" "$run/cni/net.d" "$run/pids"

# --- 1. PKI and kubeconfigs (made once, kept with the run folder) ----------
# cert NAME CN ORG [SAN]: a key pair signed by the cluster CA.
cert() {
  local name=$1 cn=$2 org=$3 san=${4:-}
  [ -f "$pki/$name.crt" ] && return
  openssl req -newkey rsa:2048 -nodes -keyout "$pki/$name.key" -out "$pki/$name.csr" \
    -subj "/CN=$cn${org:+/O=$org}" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -out "$pki/$name.crt" -days 3650 -extfile "$pki/$name.ext" 2>/dev/null
  rm -f "$pki/$name.csr" "$pki/$name.ext"
}
# kubeconfig USER SERVER FILE
write_kubeconfig() {
  cat >"$3" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: $CLUSTER_CONTEXT
    cluster: {certificate-authority: $pki/ca.crt, server: "$2"}
users:
  - name: $1
    user: {client-certificate: $pki/$1.crt, client-key: $pki/$1.key}
contexts:
  - name: $CLUSTER_CONTEXT
    context: {cluster: $CLUSTER_CONTEXT, user: $1}
current-context: $CLUSTER_CONTEXT
YAML
}
mkdir -p "$pki"
[ -f "$pki/ca.crt" ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" \
  -out "$pki/ca.crt" -days 3650 -subj "/CN=$CLUSTER_CONTEXT-ca" 2>/dev/null
cert apiserver kube-apiserver "" "IP:127.0.0.1,IP:$CLUSTER_NODE_IP,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
cert admin kubernetes-admin system:masters
cert controller-manager system:kube-controller-manager ""
cert scheduler system:kube-scheduler ""
cert kubelet "system:node:$CLUSTER_NODE" system:nodes
cert kube-proxy system:kube-proxy ""
[ -f "$pki/sa.key" ] || {
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}
for user in admin controller-manager scheduler kubelet kube-proxy; do
  write_kubeconfig "$user" https://127.0.0.1:6443 "$run/$user.kubeconfig"
done
write_kubeconfig admin "https://127.0.0.1:$CLUSTER_API_PORT" "$kubeconfig"

# --- 2. the network namespace: node address on a dead-end veth ----------------
if [ ! -e "/run/netns/$CLUSTER_NETNS" ]; then
  ip netns add "$CLUSTER_NETNS"
  ip -n "$CLUSTER_NETNS" link set lo up
  ip -n "$CLUSTER_NETNS" link add node0 type veth peer name node0p
  ip -n "$CLUSTER_NETNS" addr add "$CLUSTER_NODE_IP/24" dev node0
  ip -n "$CLUSTER_NETNS" link set node0 up
  ip -n "$CLUSTER_NETNS" link set node0p up
  # A default route that leads nowhere: kube-proxy and the kubelet need one.
  ip -n "$CLUSTER_NETNS" route add default via 10.199.0.254 dev node0 onlink
  in_netns sysctl -qw net.ipv4.ip_forward=1
  in_netns sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
fi
step "network namespace $CLUSTER_NETNS"

# --- 3. etcd (Debian's), loopback only --------------------------------------
start etcd etcd --name default --data-dir "$run/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster default=http://127.0.0.1:2380 --unsafe-no-fsync
wait_for etcd 30 in_netns curl -sf http://127.0.0.1:2379/health

# --- 4. control plane (PodSecurity admission is on by default) ---------------
start kube-apiserver "$k8s_bin/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
  --bind-address=0.0.0.0 --advertise-address="$CLUSTER_NODE_IP" --secure-port=6443 \
  --service-cluster-ip-range=10.96.0.0/16 --service-node-port-range=30000-32767 \
  --client-ca-file="$pki/ca.crt" --tls-cert-file="$pki/apiserver.crt" \
  --tls-private-key-file="$pki/apiserver.key" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --profiling=false
wait_for kube-apiserver 120 kubectl_in get --raw /readyz
start kube-controller-manager "$k8s_bin/kube-controller-manager" \
  --kubeconfig="$run/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$run/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$run/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
  --allocate-node-cidrs=true --cluster-cidr=10.244.0.0/16 --node-cidr-mask-size=24 \
  --service-cluster-ip-range=10.96.0.0/16 --profiling=false
start kube-scheduler "$k8s_bin/kube-scheduler" --kubeconfig="$run/scheduler.kubeconfig" \
  --authentication-kubeconfig="$run/scheduler.kubeconfig" \
  --authorization-kubeconfig="$run/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false

# --- 5. containerd (Debian's 1.6) with runc, cgroupfs and the bridge CNI -----
cat >"$run/containerd/config.toml" <<TOML
version = 2
root = "$run/containerd/root"
state = "$run/containerd/state"
[grpc]
  address = "$run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:catatonit"
  netns_mounts_under_state_dir = true
  # No CAP_SYS_RESOURCE on these VMs: runc cannot lower oom_score_adj as the kubelet asks.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$run/cni/net.d"
  # A hosts.toml per registry (step 10: the cluster's own).
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$run/containerd/certs.d"
TOML
cat >"$run/cni/net.d/10-bridge.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$CLUSTER_NETNS",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$run/cni/ipam",
              "ranges": [[{"subnet": "10.244.0.0/24", "gateway": "10.244.0.1"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
start containerd containerd --config "$run/containerd/config.toml"
ctr=(ctr --address "$run/containerd/containerd.sock" --namespace k8s.io)
wait_for containerd 30 "${ctr[@]}" version
for archive in "$CLUSTER_CACHE"/images/*.tar; do
  "${ctr[@]}" images import "$archive" >/dev/null
done
step "images imported"

# --- 6. kubelet ---------------------------------------------------------------
echo "nameserver $CLUSTER_NODE_IP" >"$run/resolv.conf"
cat >"$run/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 with cgroupfs on these machines (1.35+ would refuse cgroup v1).
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$run/containerd/containerd.sock
address: $CLUSTER_NODE_IP
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [10.96.0.10]
resolvConf: $run/resolv.conf
# Never garbage-collect images: they cannot be pulled again.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
serializeImagePulls: false
rotateCertificates: false
YAML
start kubelet "$k8s_bin/kubelet" --config="$run/kubelet/config.yaml" \
  --kubeconfig="$run/kubelet.kubeconfig" --root-dir="$run/kubelet/root" \
  --cert-dir="$run/kubelet/pki" --hostname-override="$CLUSTER_NODE" \
  --node-ip="$CLUSTER_NODE_IP" --v=1

# --- 7. kube-proxy (iptables, inside the namespace; changes no sysctl) --------
cat >"$run/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $run/kube-proxy.kubeconfig}
hostnameOverride: $CLUSTER_NODE
clusterCIDR: 10.244.0.0/16
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
start kube-proxy "$k8s_bin/kube-proxy" --config="$run/kube-proxy.yaml"
node_ready() {
  kubectl_in get node "$CLUSTER_NODE" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' | grep -q True
}
wait_for "node $CLUSTER_NODE" 180 node_ready
wait_for "default ServiceAccount" 60 kubectl_in get serviceaccount default

# --- 8. CoreDNS, and Traefik with its Gateway (first the CRDs it reads) -------
cluster/crds.sh nsenter --net="/run/netns/$CLUSTER_NETNS" "$k8s_bin/kubectl" \
  --kubeconfig "$run/admin.kubeconfig"
step "Gateway API $GATEWAY_API_VERSION and Traefik CRDs served"
for manifest in coredns traefik; do
  sed -e "s/COREDNS_VERSION/$COREDNS_VERSION/" -e "s/TRAEFIK_VERSION/$TRAEFIK_VERSION/" \
    -e "s/CLUSTER_HTTP_PORT/$CLUSTER_HTTP_PORT/" "cluster/manifests/$manifest.yaml" |
    kubectl_in apply -f - >/dev/null
done
wait_for CoreDNS 120 kubectl_in -n kube-system rollout status deploy/coredns --timeout=2s
wait_for Traefik 120 kubectl_in -n traefik rollout status deploy/traefik --timeout=2s
wait_for "Gateway traefik/traefik-gateway" 60 kubectl_in -n traefik wait gateway/traefik-gateway \
  --for condition=Programmed --timeout=2s

# --- 9. the host's way in: loopback forwarders into the namespace -------------
# forward NAME HOST_PORT TARGET: 127.0.0.1:HOST_PORT -> TARGET inside the namespace.
forward() {
  (exec socat "TCP-LISTEN:$2,bind=127.0.0.1,reuseaddr,fork" \
    "EXEC:nsenter --net=/run/netns/$CLUSTER_NETNS socat STDIO TCP\:${3//:/\\:}" \
    >"$logs/forward-$1.log" 2>&1) &
  echo $! >"$run/pids/forward-$1"
}
forward api "$CLUSTER_API_PORT" 127.0.0.1:6443
forward http "$CLUSTER_HTTP_PORT" "$CLUSTER_NODE_IP:$CLUSTER_HTTP_PORT"
wait_for "API on 127.0.0.1:$CLUSTER_API_PORT" 30 \
  "$k8s_bin/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz
wait_for "ingress on 127.0.0.1:$CLUSTER_HTTP_PORT" 60 \
  curl -sf "http://127.0.0.1:$CLUSTER_HTTP_PORT/ping"

# --- 10. the cluster's registry (distribution, Debian's: install-test-deps.sh --pipeline) ---
# Inside the namespace, where containerd pulls from it over plain HTTP, and
# forwarded to the same address on the host, where `make push` pushes: one
# image reference on both sides, 127.0.0.1:CLUSTER_REGISTRY_PORT/NAME:TAG.
registry=127.0.0.1:$CLUSTER_REGISTRY_PORT
if [ -x .tools/bin/registry ]; then
  mkdir -p "$run/registry" "$run/containerd/certs.d/$registry"
  printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
    "$registry" "$registry" >"$run/containerd/certs.d/$registry/hosts.toml"
  printf 'version: 0.1\nlog: {level: warn}\nhttp: {addr: "%s", secret: %s}\n%s\n' "$registry" \
    "$CLUSTER_CONTEXT" "storage: {filesystem: {rootdirectory: $run/registry/data}, delete: {enabled: true}}" \
    >"$run/registry/config.yml"
  start registry env OTEL_TRACES_EXPORTER=none "$(readlink -f .tools/bin/registry)" serve \
    "$run/registry/config.yml"
  forward registry "$CLUSTER_REGISTRY_PORT" "$registry"
  wait_for "registry on $registry" 30 curl -sf "http://$registry/v2/"
else
  step "no registry (scripts/install-test-deps.sh --pipeline builds it): images are loaded"
fi
step "cluster up: export KUBECONFIG=$kubeconfig"
