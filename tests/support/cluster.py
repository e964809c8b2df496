"""The local single-node Kubernetes of cluster/, driven from tests.

cluster/up.sh runs the whole cluster inside a network namespace and forwards
the API server and the ingress (Traefik) to the host's 127.0.0.1, so tests use
kubectl, helm and `make deploy` as a user would, with KUBECONFIG set.

It needs root and the binaries cluster/build.sh makes (15-25 min cold, cached
by version). In CI a missing piece fails the test; on a laptop it skips and
says how to get it.

With KIND_CLUSTER set, the same tests run on that kind cluster instead
(cluster/kind-up.sh made it; the GitHub workflow does this): only the way to
the node's network differs (`docker exec` into the node, the Service network
routed through it, a forwarder on the Docker network's gateway for pods).
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

import yaml

from app.ops.kube import merge
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
    # The address pods reach this host's forwarders at (the node, or kind's gateway).
    node_ip: str
    # A command prefix that runs a program in the node's network.
    node_command: tuple[str, ...]
    env: dict[str, str] = field(repr=False)
    # The local cluster's network namespace; None on kind.
    netns: str | None = None

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
    def reach(self, target: str) -> Iterator[str]:
        """A URL on this host that reaches `target` (host:port, e.g. a
        Service's ClusterIP) as a client on the node would: every connection
        from one address. Locally a loopback forwarder into the namespace; on
        kind the Service network is routed through the node (kind-up.sh)."""
        if self.netns is None:
            yield f"http://{target}"
            return
        port = free_port()
        with _process(
            "socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
            f"EXEC:nsenter --net=/run/netns/{self.netns} socat STDIO TCP\\:{_escaped(target)}",
        ):  # fmt: skip
            wait_for(lambda: _listening(port), f"forwarder on 127.0.0.1:{port}")
            yield f"http://127.0.0.1:{port}"

    def wait_for_affinity(self, namespace: str, service: str, expected: bool) -> None:
        """Until kube-proxy's rules for `service` do (or do not) pin clients by IP."""
        name = f"{namespace}/{service.removeprefix('service/')}"

        def programmed() -> bool:
            rules = subprocess.run(
                [*self.node_command, "iptables-save", "-t", "nat"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            pinned = any(name in rule and "--rcheck" in rule for rule in rules.splitlines())
            return pinned == expected

        wait_for(programmed, f"kube-proxy affinity={expected} for {name}")

    @contextlib.contextmanager
    def expose_to_pods(self, port: int, target: str) -> Iterator[str]:
        """Listen on node_ip:port, where pods can connect, and forward to
        `target` (host:port) on this host: how pods reach a server a test runs
        on the host's loopback. Yields the URL pods use."""
        listen = f"TCP-LISTEN:{port},bind={self.node_ip},reuseaddr,fork"
        if self.netns is None:  # kind: the gateway address is this host's own
            command = ("socat", listen, f"TCP:{target}")
        else:
            host_netns = f"/proc/{os.getpid()}/ns/net"
            command = (
                "nsenter", f"--net=/run/netns/{self.netns}", "socat", listen,
                f"EXEC:nsenter --net={host_netns} socat STDIO TCP\\:{_escaped(target)}",
            )  # fmt: skip
        with _process(*command):
            yield f"http://{self.node_ip}:{port}"


@contextlib.contextmanager
def _process(*argv: str) -> Iterator[subprocess.Popen]:
    """A helper process for the length of a block (a forwarder), then ended."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
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
    found = versions()
    if kind := os.environ.get("KIND_CLUSTER"):
        yield _on_kind(kind, found)
        return
    if os.geteuid() != 0:
        missing("root (the local cluster needs network namespaces, mounts and cgroups)", BUILD_HINT)
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
    netns = found["CLUSTER_NETNS"]
    try:
        yield Cluster(
            kubeconfig=run / "kubeconfig",
            ingress_url=f"http://localhost:{found['CLUSTER_HTTP_PORT']}",
            node_ip=found["CLUSTER_NODE_IP"],
            node_command=("nsenter", f"--net=/run/netns/{netns}"),
            env=_environment(run / "kubeconfig", _bin_dirs(found)),
            netns=netns,
        )
    finally:
        if not already_up:
            subprocess.run([str(ROOT / "cluster/down.sh"), "--wipe"], timeout=300, check=False)


def _on_kind(name: str, found: dict[str, str]) -> Cluster:
    """The kind cluster cluster/kind-up.sh made (its kubeconfig is the current one)."""
    kubeconfig = Path(found["CLUSTER_CACHE"]) / f"kind-{name}.kubeconfig"
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    kubeconfig.write_text(
        subprocess.run(
            ["kind", "get", "kubeconfig", "--name", name],
            capture_output=True, text=True, check=True,
        ).stdout
    )  # fmt: skip
    gateway = subprocess.run(
        ["docker", "network", "inspect", "kind", "--format",
         "{{range .IPAM.Config}}{{.Gateway}} {{end}}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return Cluster(
        kubeconfig=kubeconfig,
        ingress_url=f"http://localhost:{found['CLUSTER_HTTP_PORT']}",
        node_ip=next(address for address in gateway if "." in address),
        node_command=("docker", "exec", f"{name}-control-plane"),
        env=_environment(kubeconfig, [str(TOOLS_BIN)]),
    )


def _environment(kubeconfig: Path, bin_dirs: list[str]) -> dict[str, str]:
    return {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "PATH": os.pathsep.join([*bin_dirs, os.environ["PATH"]]),
    }


# --- what the cluster tests deploy ------------------------------------------

# The app's Kubernetes resources on a 2-core node with 3 dashboard replicas.
SMALL = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


@dataclass
class Image:
    repository: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"


def deploy_postgres(cluster, namespace: str, image: str) -> None:
    """cluster/manifests/postgres.yaml in `namespace`, ready before returning."""
    manifest = (ROOT / "cluster/manifests/postgres.yaml").read_text()
    path = Path(cluster.kubeconfig).parent / f"postgres-{namespace}.yaml"
    path.write_text(manifest.replace("POSTGRES_IMAGE", image))
    cluster.kubectl("apply", "--namespace", namespace, "--filename", str(path))
    cluster.kubectl(
        "rollout", "status", "deployment/postgresql", "--namespace", namespace, "--timeout=180s",
        timeout=200,
    )  # fmt: skip


@dataclass
class Provider:
    """The test OpenID provider: browsers reach `browser_url`, pods `cluster_url`."""

    browser_url: str
    cluster_url: str


@contextlib.contextmanager
def environ(name: str, value: str) -> Iterator[None]:
    """`name=value` in os.environ for the block, as it was after."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def write_values(path: Path, *layers: dict) -> Path:
    """A values file for `make deploy` (it takes several, later ones win)."""
    merged: dict = {}
    for layer in layers:
        merged = merge(merged, layer)
    path.write_text(yaml.safe_dump(merged))
    return path


def local_values() -> dict:
    """What every install here adds to a chart profile: images imported into the
    node (never pulled) and requests small enough for 3 replicas on 2 cores."""
    return {
        "image": {"pullPolicy": "Never"},
        "dashboard": {"resources": SMALL},
        "api": {"resources": SMALL},
        "migrations": {"resources": SMALL},
    }


def helm_test_passed(output: str) -> bool:
    """make deploy's gate ran `helm test` and the smoke pod succeeded (the pod is
    gone once it passed, so its own report is not in the output)."""
    return bool(
        re.search(r"TEST SUITE:\s+\S+-smoke", output) and re.search(r"Phase:\s+Succeeded", output)
    )


def make_deploy(
    cluster,
    image: Image,
    values: list[Path],
    release: str,
    namespace: str,
    smoke_url: str = "",
    timeout: str = "5m",
) -> subprocess.CompletedProcess:
    """The user's command, `make deploy`, against the local cluster."""
    return cluster.run(
        "make", "deploy",
        f"VALUES={' '.join(str(path) for path in values)}",
        f"IMAGE_REPOSITORY={image.repository}", f"IMAGE_TAG={image.tag}",
        f"RELEASE={release}", f"NAMESPACE={namespace}",
        f"SMOKE_URL={smoke_url}", f"DEPLOY_TIMEOUT={timeout}",
        check=False, timeout=1200,
    )  # fmt: skip


# --- the production profile behind Traefik -------------------------------------
# Sign-in through the oauth2-proxy sidecars, Traefik's sticky cookie, three
# dashboards, behind one edge: installed once per test session and edge (the
# `site` fixture) and shared by tests/cluster/test_ingress.py and test_rollout.py.
SITE_RELEASE = "streamlit-app"
SITE_SECRET = "streamlit-app-secrets"  # the Secret both profiles name
SITE_DASHBOARD = f"app.kubernetes.io/instance={SITE_RELEASE},app.kubernetes.io/component=dashboard"
CHART_CI = ROOT / "helm/streamlit-app/ci"


@dataclass(frozen=True)
class Edge:
    """One way in: the chart profile a user would deploy, its namespace here, and
    what this machine changes in it (plain HTTP on localhost)."""

    profile: Path
    namespace: str
    local: dict


# The Gateway's plain-HTTP listener (cluster/manifests/traefik.yaml), not the
# profile's HTTPS one.
LOCAL_GATEWAY = {"name": "traefik-gateway", "namespace": "traefik", "sectionName": "web"}
EDGES = {
    "gateway": Edge(
        CHART_CI / "traefik-gateway-values.yaml",
        "gateway",
        {"gateway": {"parentRefs": [LOCAL_GATEWAY]}},
    ),
    "ingress": Edge(
        CHART_CI / "traefik-values.yaml", "production", {"ingress": {"tls": {"enabled": False}}}
    ),
}


def access_log(cluster, since: str = "") -> list[dict]:
    """Traefik's access log: one JSON object per request (cluster/manifests/traefik.yaml).
    The last 2000 entries, or with `since` (RFC 3339) every entry logged from then on."""
    window = f"--since-time={since}" if since else "--tail=2000"
    log = cluster.kubectl("logs", "--namespace", "traefik", "deployment/traefik", window)
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def create_secret(cluster, namespace: str, tmp: Path) -> None:
    """The chart README's `kubectl create secret` step, with the same keys and files."""
    files = {
        "APP_DATABASE_URL": "postgresql://app:change-me@postgresql:5432/app",
        "STREAMLIT_SERVER_COOKIE_SECRET": "local-cluster-streamlit-cookie-secret",
        "OAUTH2_PROXY_CLIENT_SECRET": "local-cluster-client-secret",
        "OAUTH2_PROXY_COOKIE_SECRET": "0123456789abcdef0123456789abcdef",
    }
    arguments = []
    for key, value in files.items():
        (tmp / key).write_text(value)  # as `printf %s`: no trailing newline
        arguments.append(f"--from-file={key}={tmp / key}")
    cluster.kubectl(
        "create", "secret", "generic", SITE_SECRET, "--namespace", namespace,
        *arguments,
    )  # fmt: skip


def install_site(
    cluster, edge_name: str, image: Image, oauth2_proxy_image: Image, postgres_image: str,
    provider: Provider, tmp: Path,
) -> dict:  # fmt: skip
    """The release behind one edge (EDGES), installed by `make deploy` with the
    smoke checks through it: {"edge", "url", "result", "namespace", "values", "tmp"}."""
    edge = EDGES[edge_name]
    namespace = cluster.namespace(edge.namespace)
    deploy_postgres(cluster, namespace, postgres_image)
    create_secret(cluster, namespace, tmp)
    url = cluster.ingress_url
    local = write_values(
        tmp / "local.yaml",
        local_values(),
        edge.local,
        {
            # The edge on this machine: plain HTTP on localhost.
            "host": "localhost",
            "oauth2Proxy": {
                "image": {
                    "repository": oauth2_proxy_image.repository,
                    "tag": oauth2_proxy_image.tag,
                    "pullPolicy": "Never",
                },
                "issuerUrl": provider.cluster_url,
                "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}},
                # Test-only: the mock provider's endpoints where each caller reaches
                # them (no discovery), plain-HTTP cookies, its unverified e-mails.
                "extraArgs": [
                    "--skip-oidc-discovery",
                    f"--login-url={provider.browser_url}/oauth2/authorize",
                    f"--redeem-url={provider.cluster_url}/oauth2/token",
                    f"--oidc-jwks-url={provider.cluster_url}/jwks",
                    f"--redirect-url={url}/oauth2/callback",
                    "--cookie-secure=false",
                    "--cookie-name=_local_session",
                    "--insecure-oidc-allow-unverified-email",
                ],
            },
        },
    )
    values = [edge.profile, local]
    result = make_deploy(cluster, image, values, SITE_RELEASE, namespace, smoke_url=url)
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        "edge": edge_name, "url": url, "result": result, "namespace": namespace,
        "values": values, "tmp": tmp,
    }  # fmt: skip


def remove_site(cluster, site: dict) -> None:
    """Both edges route host localhost on Traefik's one entrypoint: one edge's
    route goes before the next is installed, and its namespace meanwhile."""
    cluster.kubectl("delete", "ingress,httproute", "--all", "--namespace", site["namespace"])
    cluster.kubectl("delete", "namespace", site["namespace"], "--wait=false")
