"""The local single-node Kubernetes of cluster/, driven from tests.

cluster/up.sh runs the whole cluster inside a network namespace and forwards
the API server and the ingress (Traefik) to the host's 127.0.0.1, so tests use
kubectl, helm and `make deploy` as a user would, with KUBECONFIG set.

It needs root and the binaries cluster/build.sh makes (15-25 min cold, cached
by version). In CI a missing piece fails the test; on a laptop it skips and
says how to get it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.tools import ROOT, TOOLS_BIN, free_port, missing

BUILD_HINT = (
    "run as root: scripts/install-test-deps.sh --cluster (builds Kubernetes, CoreDNS and "
    "Traefik from the Go module proxy, 15-25 min the first time), then make cluster-up"
)


def versions() -> dict[str, str]:
    """The variables of cluster/versions.sh, as the cluster scripts see them."""
    script = f"source {ROOT / 'cluster/versions.sh'} && set -o posix && set"
    output = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=True
    ).stdout
    names = re.findall(r"^([A-Z_]+)=", (ROOT / "cluster/versions.sh").read_text(), re.MULTILINE)
    pairs = (line.split("=", 1) for line in output.splitlines() if "=" in line)
    return {name: value.strip("'") for name, value in pairs if name in names}


@dataclass
class Cluster:
    """A running cluster: its kubeconfig, the ingress URL and an environment
    in which kubectl, helm and `make deploy` reach it."""

    kubeconfig: Path
    ingress_url: str
    netns: str
    node_ip: str
    env: dict[str, str] = field(repr=False)

    def run(
        self, *argv: str, check: bool = True, timeout: float = 300, **env: str
    ) -> subprocess.CompletedProcess:
        """A command with the cluster's environment (plus `env`), output captured as text."""
        result = subprocess.run(
            argv, env={**self.env, **env}, cwd=ROOT, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def kubectl(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        return self.run("kubectl", *args, check=check, timeout=timeout).stdout

    def json(self, *args: str) -> dict:
        return json.loads(self.kubectl(*args, "--output", "json"))

    def load(self, *images: str) -> None:
        """Import local podman images into the cluster's containerd."""
        self.run(str(ROOT / "cluster/load-image.sh"), *images)

    def namespace(self, name: str, pod_security: str = "restricted") -> str:
        """A fresh namespace that enforces a Pod Security level, as the chart README says."""
        self.kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=true", timeout=180)
        self.kubectl("create", "namespace", name)
        self.kubectl(
            "label", "namespace", name,
            f"pod-security.kubernetes.io/enforce={pod_security}",
            f"pod-security.kubernetes.io/warn={pod_security}",
        )  # fmt: skip
        return name

    def pods(self, namespace: str, selector: str) -> list[dict]:
        """Running, not terminating pods matching a label selector."""
        items = self.json("get", "pods", "--namespace", namespace, "--selector", selector)["items"]
        return [
            pod
            for pod in items
            if pod["status"].get("phase") == "Running"
            and not pod["metadata"].get("deletionTimestamp")
        ]

    @contextlib.contextmanager
    def forward_to_netns(self, target: str) -> Iterator[str]:
        """Listen on a free port of this host's loopback and forward to `target`
        (host:port, e.g. a Service's ClusterIP) inside the cluster's namespace.
        Every connection enters from the node, as one client would."""
        port = free_port()
        process = subprocess.Popen(
            [
                "socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                f"EXEC:nsenter --net=/run/netns/{self.netns} socat STDIO TCP\\:{_escaped(target)}",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for(lambda: _listening(port), f"forwarder on 127.0.0.1:{port}")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)

    def wait_for_affinity(self, namespace: str, service: str, expected: bool) -> None:
        """Until kube-proxy's rules for `service` do (or do not) pin clients by IP."""
        name = f"{namespace}/{service.removeprefix('service/')}"

        def programmed() -> bool:
            rules = subprocess.run(
                ["nsenter", f"--net=/run/netns/{self.netns}", "iptables-save", "-t", "nat"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            pinned = any(name in rule and "--rcheck" in rule for rule in rules.splitlines())
            return pinned == expected

        wait_for(programmed, f"kube-proxy affinity={expected} for {name}")

    @contextlib.contextmanager
    def forward_from_netns(self, port: int, target: str) -> Iterator[str]:
        """Listen on node_ip:port inside the cluster's namespace and forward to
        `target` (host:port) in this process's namespace: how pods reach a
        server a test runs on the host's loopback. Yields the in-cluster URL."""
        host_netns = f"/proc/{os.getpid()}/ns/net"
        process = subprocess.Popen(
            [
                "nsenter", f"--net=/run/netns/{self.netns}",
                "socat", f"TCP-LISTEN:{port},bind={self.node_ip},reuseaddr,fork",
                f"EXEC:nsenter --net={host_netns} socat STDIO TCP\\:{_escaped(target)}",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            yield f"http://{self.node_ip}:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _escaped(address: str) -> str:
    """host:port inside a socat EXEC command, where a bare colon would split it."""
    return address.replace(":", "\\:")


def wait_for(condition, what: str, timeout: float = 120) -> None:
    """Poll `condition` until true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout} s")
        time.sleep(0.5)


def _alive(pid_file: Path) -> bool:
    """Whether the process a cluster script recorded still runs."""
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def _bin_dirs(found: dict[str, str]) -> list[str]:
    kubernetes = Path(found["CLUSTER_CACHE"]) / f"kubernetes-{found['KUBERNETES_VERSION']}"
    return [str(kubernetes), str(TOOLS_BIN)]


def start() -> Iterator[Cluster]:
    """Bring the cluster up (or reuse a running one) for a test session; take
    it down at the end only if this session brought it up."""
    if os.geteuid() != 0:
        missing("root (the local cluster needs network namespaces, mounts and cgroups)", BUILD_HINT)
    found = versions()
    kubernetes = Path(_bin_dirs(found)[0])
    if not (kubernetes / ".complete").exists():
        missing(f"the local cluster's binaries ({kubernetes})", BUILD_HINT)
    run = Path(found["CLUSTER_RUN"])
    already_up = _alive(run / "pids/kube-apiserver")
    started = time.monotonic()
    result = subprocess.run(
        [str(ROOT / "cluster/up.sh")], capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise AssertionError(f"cluster/up.sh failed:\n{result.stdout}\n{result.stderr}")
    print(f"cluster up in {time.monotonic() - started:.0f} s")
    env = {
        **os.environ,
        "KUBECONFIG": str(run / "kubeconfig"),
        "PATH": os.pathsep.join([*_bin_dirs(found), os.environ["PATH"]]),
    }
    try:
        yield Cluster(
            kubeconfig=run / "kubeconfig",
            ingress_url=f"http://localhost:{found['CLUSTER_HTTP_PORT']}",
            netns=found["CLUSTER_NETNS"],
            node_ip=found["CLUSTER_NODE_IP"],
            env=env,
        )
    finally:
        if not already_up:
            subprocess.run([str(ROOT / "cluster/down.sh"), "--wipe"], timeout=300, check=False)
