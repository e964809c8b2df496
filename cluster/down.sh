#!/usr/bin/env bash
# Stop the local cluster started by cluster/up.sh: every process it recorded,
# the pod containers, their mounts and network namespaces, the kubelet's
# cgroups and the cluster's own namespace. --wipe also deletes its state
# (etcd, images, pods), keeping the PKI and the built binaries.
# Safe to run when nothing is up. Needs root.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=cluster/versions.sh
source cluster/versions.sh
run=$CLUSTER_RUN

# stop NAME: SIGTERM the recorded PID, SIGKILL after 5 s.
stop() {
  local file="$run/pids/$1" pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

stop forward-http
stop forward-api
stop forward-registry
stop registry
stop kube-proxy
stop kubelet
# Pod containers, before containerd goes: their sandboxes' network namespaces
# and the shims containerd started (recorded in its state folder).
socket="$run/containerd/containerd.sock"
pod_netns=()
shims=()
if [ -S "$socket" ]; then
  ctr=(ctr --address "$socket" --namespace k8s.io)
  for container in $("${ctr[@]}" containers ls -q 2>/dev/null); do
    netns=$("${ctr[@]}" containers info "$container" 2>/dev/null |
      grep -o '/[a-z/]*netns/cni-[0-9a-f-]*' | head -n 1)
    [ -n "$netns" ] && pod_netns+=("$netns")
  done
  mapfile -t shims < <(cat "$run"/containerd/state/io.containerd.runtime.v2.task/k8s.io/*/shim.pid 2>/dev/null)
  for task in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
    "${ctr[@]}" tasks kill --signal SIGKILL "$task" >/dev/null 2>&1
  done
  sleep 1
  for task in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
    "${ctr[@]}" tasks delete --force "$task" >/dev/null 2>&1
  done
  for container in $("${ctr[@]}" containers ls -q 2>/dev/null); do
    "${ctr[@]}" containers rm "$container" >/dev/null 2>&1
  done
fi
stop containerd
stop kube-scheduler
stop kube-controller-manager
stop kube-apiserver
stop etcd
for pid in "${shims[@]}"; do kill -9 "$pid" 2>/dev/null; done
# Mounts under the run folder, deepest first; then the pods' network namespaces.
awk '{print $2}' /proc/self/mounts | grep -E "^$run/" | sort -r |
  while read -r mount; do umount -l "$mount" 2>/dev/null; done
for netns in "${pod_netns[@]}"; do
  umount -l "$netns" 2>/dev/null
  rm -f "$netns"
done
ip netns del "$CLUSTER_NETNS" 2>/dev/null
# The kubelet's QoS cgroups (cgroup v1: one tree per controller).
for tree in /sys/fs/cgroup/*/kubepods; do
  [ -d "$tree" ] && find "$tree" -depth -type d -exec rmdir {} \; 2>/dev/null
done
if [ "${1:-}" = "--wipe" ]; then
  rm -rf "$run/etcd" "$run/containerd" "$run/kubelet" "$run/cni" "$run/logs" "$run/registry"
fi
echo "cluster down"
