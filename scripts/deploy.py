#!/usr/bin/env python3
"""`make deploy`: install or upgrade the chart on the current kube context, then smoke it.

    make deploy VALUES="base.yaml prod.yaml" \\
        IMAGE_REPOSITORY=ghcr.io/you/app \\
        IMAGE_TAG=abc123 [IMAGE_DIGEST=sha256:...] \\
        [RELEASE=streamlit-app] [NAMESPACE=streamlit-app] \\
        [SMOKE_URL=https://host] [DEPLOY_TIMEOUT=10m] [DRY_RUN=1]

VALUES names one or more values files, later ones winning (as `helm -f a -f b`).
Refuses, with one line saying what to do, before changing anything when:
helm or kubectl is missing, a values file is missing, the chart does not
render with them (a secret value missing, a schema error), a secret value
ends in a newline; then, on the cluster: there is no current kube context,
the cluster does not answer, the image is a local (localhost/) or -dirty one
that no real cluster can pull (allowed on the local cluster of cluster/), an
image the local cluster has neither on its node nor in its own registry, or
a key the rendered pods mount is missing from the existing Secret. Which
secrets the pods mount comes from the chart itself (`helm template` with the
same values and overrides). Then runs `helm upgrade --install --wait`
(Helm 4: `--wait=watcher`), then the gates: `helm test` (the in-cluster smoke
pod; said so when the chart renders none, tests.enabled=false) and, with
SMOKE_URL, `python -m app.ops.smoke` from here against the public URL. When
the upgrade or a gate fails, it prints the release's failing pods (their last
log lines and events), then rolls back to the revision that ran before, or
uninstalls a first install with the hooks Helm leaves (the chart's Secret),
and says "uninstalled" only when Helm had recorded one. With
secrets.existingSecret, the Secret's checksum is passed to the chart so that
a rotated Secret rolls pods.

DRY_RUN=1 prints the helm command, the Secret keys the pods mount, the gates,
and the manifests `helm template` renders from the same chart, values and
overrides instead: no cluster needed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from app.ops.kube import containers, pod_specs  # noqa: E402

CHART = ROOT / "helm/streamlit-app"
# The kube context of the local cluster (cluster/versions.sh): the one place
# where localhost/ images exist, imported into its node.
_VERSIONS = (ROOT / "cluster/versions.sh").read_text()
LOCAL_CONTEXT = re.search(r"^CLUSTER_CONTEXT=(\S+)$", _VERSIONS, re.MULTILINE)[1]
# The local cluster's registry (cluster/up.sh): the one place its node pulls from.
LOCAL_REGISTRY_PORT = re.search(
    r'^CLUSTER_REGISTRY_PORT="\$\{CLUSTER_REGISTRY_PORT:-(\d+)\}"$', _VERSIONS, re.MULTILINE
)[1]
MANIFESTS = (
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)


class Refused(Exception):
    """A precondition is not met; the message says which and what to do."""


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(argv, text=True, capture_output=True, check=False, **kwargs)


def _tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if not path:
        raise Refused(f"{name} not found on PATH: {hint}")
    return path


def _check_values_files(paths: list[str]) -> None:
    if not paths:
        raise Refused("VALUES is not set: name a values file, e.g. VALUES=deploy/prod-values.yaml")
    for path in paths:
        _values(path)


def _values(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise Refused(f"VALUES={path}: no such file")
    try:
        values = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as error:
        raise Refused(f"VALUES={path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(values, dict):
        raise Refused(f"VALUES={path}: expected a mapping of chart values at the top level")
    return values


def _render(helm: str, args: argparse.Namespace) -> tuple[str, list[dict[str, Any]]]:
    """The manifests `helm upgrade` would apply, as text and as objects."""
    rendered = _run([helm, "template", *helm_args(args)])
    if rendered.returncode != 0:
        lines = rendered.stderr.strip().splitlines() or ["no output"]
        error = next((line for line in lines if line.startswith("Error")), lines[-1])
        raise Refused(f"the chart does not render with VALUES={_shown(args)}: {error}")
    return rendered.stdout, [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def _shown(args: argparse.Namespace) -> str:
    return " ".join(args.values)


def mounted_secrets(objects: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Secret name -> the keys the rendered pods mount from it."""
    mounted: dict[str, set[str]] = {}
    for _, spec in pod_specs(objects):
        for volume in spec.get("volumes", []):
            if secret := volume.get("secret"):
                keys = {item["key"] for item in secret.get("items", [])}
                mounted.setdefault(secret["secretName"], set()).update(keys)
    return {name: sorted(keys) for name, keys in mounted.items()}


def _check_secret_values(where: str, data: dict[str, str], keys: list[str]) -> None:
    if missing := [key for key in keys if key not in data]:
        raise Refused(f"{where} lacks the keys {', '.join(missing)}")
    if newline := [key for key in keys if data[key].endswith("\n")]:
        raise Refused(
            f"{where}: {', '.join(newline)} ends in a newline, which oauth2-proxy would "
            "read as part of the secret: write the value with printf %s (or tr -d '\\n')"
        )


def _check_context(kubectl: str) -> str:
    result = _run([kubectl, "config", "current-context"])
    if result.returncode != 0 or not result.stdout.strip():
        raise Refused(
            "no current kube context: point KUBECONFIG at your cluster and run "
            "`kubectl config use-context NAME`"
        )
    return result.stdout.strip()


def _check_reachable(kubectl: str, context: str) -> None:
    """Ask the API server its version: every authenticated user may."""
    result = _run([kubectl, "version", "--output", "json", "--request-timeout", "20s"])
    server = (json.loads(result.stdout or "{}") if result.returncode == 0 else {}).get(
        "serverVersion"
    )
    if not server:
        lines = result.stderr.strip().splitlines() or ["no answer"]
        raise Refused(f"the cluster of kube context {context} does not answer: {lines[-1]}")


def _on_this_machine(context: str) -> bool:
    """A cluster that runs here: the local one (make cluster-up) or kind."""
    return context == LOCAL_CONTEXT or context.startswith("kind-")


def local_registry() -> str:
    """host:port of the local cluster's registry, on the host as in the cluster."""
    return f"127.0.0.1:{os.environ.get('CLUSTER_REGISTRY_PORT') or LOCAL_REGISTRY_PORT}"


def _in_registry(image: str) -> bool:
    """Whether the registry `image` names (host:port/name:tag or @digest) has it."""
    host, _, name = image.partition("/")
    name, _, reference = name.rpartition("@") if "@" in name else name.rpartition(":")
    request = urllib.request.Request(
        f"http://{host}/v2/{name}/manifests/{reference}",
        method="HEAD",
        headers={"Accept": MANIFESTS},
    )
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (http on loopback)
            return True
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return False
        raise Refused(f"the local cluster's registry {host} answered {error.code}") from None
    except OSError as error:
        raise Refused(
            f"the local cluster's registry does not answer on {host} ({error}): "
            "cluster/up.sh starts it once scripts/install-test-deps.sh --pipeline built it"
        ) from None


def _check_images_on_node(kubectl: str, objects: list[dict[str, Any]]) -> None:
    """The local cluster pulls only from its own registry: every other image
    must already be on its node, and a registry image in the registry, or the
    rollout would wait out its timeout."""
    result = _run([kubectl, "get", "nodes", "--output", "json"])
    nodes = json.loads(result.stdout).get("items", []) if result.returncode == 0 else []
    present = {
        name
        for node in nodes
        for image in node["status"].get("images", [])
        for name in image.get("names", [])
    }
    wanted = {c["image"] for _, spec in pod_specs(objects) for c in containers(spec)}
    pulled = {image for image in wanted - present if image.startswith(f"{local_registry()}/")}
    if missing := sorted(wanted - present - pulled):
        raise Refused(
            f"{', '.join(missing)} not on the cluster's node (it pulls only from its own "
            f"registry, {local_registry()}): make cluster-load IMAGE=<image>, or make push "
            f"IMAGE_REPOSITORY={local_registry()}/<name>"
        )
    if absent := sorted(image for image in pulled if not _in_registry(image)):
        raise Refused(
            f"{', '.join(absent)} not in the local cluster's registry: make push "
            f"IMAGE_REPOSITORY={local_registry()}/<name> IMAGE_TAG=<tag> first"
        )


def _check_image(args: argparse.Namespace, context: str) -> None:
    """Refuse images that only exist on this machine, except on a cluster that
    runs on it: the local one (make cluster-up) or kind (images `kind load`ed)."""
    if _on_this_machine(context):
        return
    if args.image_repository.startswith("localhost/"):
        raise Refused(
            f"IMAGE_REPOSITORY={args.image_repository} is a local image, which the cluster of "
            f"context {context} cannot pull: make push IMAGE_REPOSITORY=<your registry>/app, "
            "then deploy that (localhost/ images run only on the local cluster, make "
            "cluster-up, or on kind)"
        )
    if args.image_tag.endswith("-dirty"):
        raise Refused(
            f"IMAGE_TAG={args.image_tag} was built from uncommitted changes: commit, then "
            "make image push, and deploy the commit's tag"
        )


def _secret_data(kubectl: str, namespace: str, name: str) -> dict[str, str]:
    result = _run([kubectl, "--namespace", namespace, "get", "secret", name, "--output", "json"])
    if result.returncode != 0:
        raise Refused(
            f"Secret {name} not found in namespace {namespace} ({result.stderr.strip()}): "
            "create it first (see helm/streamlit-app/README.md)"
        )
    data = json.loads(result.stdout).get("data") or {}
    return {key: base64.b64decode(value).decode(errors="replace") for key, value in data.items()}


def secret_checksum(data: dict[str, str], keys: list[str]) -> str:
    """What changes when any mounted key of the Secret does (and nothing else)."""
    digest = hashlib.sha256()
    for key in keys:
        digest.update(f"{key}={data[key]}\0".encode())
    return digest.hexdigest()


def helm_args(args: argparse.Namespace, extra: tuple[str, ...] = ()) -> list[str]:
    """Chart, namespace, values files and overrides: shared by upgrade and template."""
    overrides = [f"image.repository={args.image_repository}", f"image.tag={args.image_tag}"]
    if args.image_digest:
        overrides.append(f"image.digest={args.image_digest}")
    return [
        args.release,
        str(CHART),
        "--namespace",
        args.namespace,
        *[arg for path in args.values for arg in ("--values", path)],
        *[arg for override in [*overrides, *extra] for arg in ("--set", override)],
    ]


def wait_flags(helm: str) -> list[str]:
    """Wait for the rollout. Not --atomic (Helm 4: --rollback-on-failure): its
    rollback would delete the failing pods before their logs were read; make
    deploy rolls back itself once it printed them (undo)."""
    version = _run([helm, "version", "--template", "{{.Version}}"]).stdout.strip()
    if version.startswith("v3."):
        return ["--wait"]
    return ["--wait=watcher"]


def upgrade_command(helm: str, args: argparse.Namespace, extra: tuple[str, ...] = ()) -> list[str]:
    return [
        helm, "upgrade", "--install", *helm_args(args, extra), "--create-namespace",
        *wait_flags(helm), "--timeout", args.timeout,
    ]  # fmt: skip


def _deployed_revision(helm: str, args: argparse.Namespace) -> int | None:
    """The release's current revision, or None when there is no release."""
    result = _run([helm, "status", args.release, "--namespace", args.namespace, "--output", "json"])
    if result.returncode != 0:
        return None
    return json.loads(result.stdout).get("version")


def _release_scope(args: argparse.Namespace) -> list[str]:
    return [args.release, "--namespace", args.namespace]


Hooks = tuple[tuple[str, str], ...]


def hook_objects(objects: list[dict[str, Any]]) -> Hooks:
    """(kind, name) of each Helm hook the chart renders: `helm uninstall` leaves them."""
    return tuple(
        (o["kind"], o["metadata"]["name"])
        for o in objects
        if "helm.sh/hook" in (o["metadata"].get("annotations") or {})
    )


def undo(
    helm: str,
    kubectl: str,
    args: argparse.Namespace,
    revision_before: int | None,
    hooks: Hooks = (),
) -> str:
    """Back to the revision that ran before this deploy, or to nothing if there
    was none (the release uninstalled, and the hooks it leaves, the chart's
    Secret and a failed migrations Job among them, deleted); says what it did."""
    _delete_test_pods(kubectl, args)
    if revision_before is None:
        if _deployed_revision(helm, args) is None:
            return "it was a first install and Helm had installed nothing"
        _run([helm, "uninstall", *_release_scope(args), "--wait"])
        for kind, name in hooks:
            _run([kubectl, "delete", kind, name, "--namespace", args.namespace,
                  "--ignore-not-found"])  # fmt: skip
        return "it was a first install, so it was uninstalled"
    rollback = [helm, "rollback", *_release_scope(args), str(revision_before)]
    result = _run([*rollback, "--wait", "--timeout", args.timeout])
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["no output"]
        return f"rolling back to revision {revision_before} failed too: {lines[-1]}"
    return f"rolled back to revision {revision_before}, which ran before"


# --- What failed: the release's pods that are not ready ----------------------

LOG_LINES = 20


def _failing(pod: dict[str, Any]) -> bool:
    """A pod that failed, or runs (or waits) without being ready."""
    status = pod.get("status", {})
    if status.get("phase") == "Succeeded" or pod["metadata"].get("deletionTimestamp"):
        return False
    ready = [c for c in status.get("conditions", []) if c.get("type") == "Ready"]
    return status.get("phase") == "Failed" or not (ready and ready[0].get("status") == "True")


def _pod_state(pod: dict[str, Any]) -> str:
    """Its phase, and each container that is not running as it should, with why."""
    status = pod.get("status", {})
    parts = [status.get("phase", "Unknown")]
    for container in [
        *status.get("initContainerStatuses", []),
        *status.get("containerStatuses", []),
    ]:
        state = container.get("state", {})
        reason = (state.get("waiting") or state.get("terminated") or {}).get("reason")
        if reason or not container.get("ready"):
            restarts = container.get("restartCount", 0)
            parts.append(f"{container['name']}: {reason or 'not ready'} ({restarts} restarts)")
    return "; ".join(parts)


def _events(kubectl: str, args: argparse.Namespace, pod: str) -> list[str]:
    result = _run([
        kubectl, "get", "events", "--namespace", args.namespace,
        "--field-selector", f"involvedObject.name={pod}", "--output", "json",
    ])  # fmt: skip
    items = json.loads(result.stdout).get("items", []) if result.returncode == 0 else []
    items.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return [
        f"{e.get('type', '')} {e.get('reason', '')}: {e.get('message', '').strip()}" for e in items
    ]


def report_failing_pods(kubectl: str, args: argparse.Namespace) -> None:
    """Print, to stderr, each failing pod of the release: its state, its
    containers' last LOG_LINES log lines (the previous run's too after a
    restart) and its events: why, before a rollback deletes them."""
    selector = f"app.kubernetes.io/instance={args.release}"
    result = _run([
        kubectl, "get", "pods", "--namespace", args.namespace, "--selector", selector,
        "--output", "json",
    ])  # fmt: skip
    pods = json.loads(result.stdout).get("items", []) if result.returncode == 0 else []
    failing = [pod for pod in pods if _failing(pod)]
    if not failing:
        print(f"make deploy: no failing pod of {args.release} to show", file=sys.stderr)
        return
    for pod in failing:
        name = pod["metadata"]["name"]
        print(f"make deploy: pod {name}: {_pod_state(pod)}", file=sys.stderr)
        logs = [kubectl, "logs", "--namespace", args.namespace, name, "--all-containers"]
        logs += ["--prefix", f"--tail={LOG_LINES}"]
        runs = [logs]
        statuses = pod.get("status", {}).get("containerStatuses", [])
        if any(c.get("restartCount") for c in statuses):
            runs.insert(0, [*logs, "--previous"])
        for run in runs:
            output = _run(run)
            label = "previous run's logs" if "--previous" in run else "logs"
            lines = (output.stdout or output.stderr).strip().splitlines()
            print(f"  last {label}:", file=sys.stderr)
            for line in lines[-LOG_LINES:] or ["(none)"]:
                print(f"    {line}", file=sys.stderr)
        print("  events:", file=sys.stderr)
        for line in _events(kubectl, args, name) or ["(none)"]:
            print(f"    {line}", file=sys.stderr)
    sys.stderr.flush()


def _delete_test_pods(kubectl: str, args: argparse.Namespace) -> None:
    """The smoke pod a failed `helm test` left (its hook policy deletes only a
    passed one): gone with the release, once its logs were printed."""
    selector = f"app.kubernetes.io/instance={args.release},app.kubernetes.io/component=smoke-test"
    _run([kubectl, "delete", "pods", "--namespace", args.namespace, "--selector", selector,
          "--ignore-not-found", "--wait=false"])  # fmt: skip


def _print_secret_keys(secrets: dict[str, list[str]]) -> None:
    for name, keys in secrets.items():
        print(f"# Secret {name}: {', '.join(keys)}", flush=True)


# --- make deploy, step by step ------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--values", action="append", default=[])
    parser.add_argument("--release", default="streamlit-app")
    parser.add_argument("--namespace", default="streamlit-app")
    parser.add_argument("--image-repository", default="")
    parser.add_argument("--image-tag", default="")
    parser.add_argument("--image-digest", default="")
    parser.add_argument("--smoke-url", default="")
    parser.add_argument("--timeout", default="10m")
    parser.add_argument("--dry-run", action="store_true")
    return parser.parse_args(argv)


def check_inputs(args: argparse.Namespace) -> None:
    """The values files and the image, refused in one line before helm reads them."""
    _check_values_files(args.values)
    for name, value in (("IMAGE_REPOSITORY", args.image_repository), ("IMAGE_TAG", args.image_tag)):
        if not value:
            raise Refused(f"{name} is not set: the image to deploy, e.g. make push first")
    if args.image_digest and not re.fullmatch(r"sha256:[0-9a-f]{64}", args.image_digest):
        raise Refused(f"IMAGE_DIGEST={args.image_digest}: expected sha256:<64 hex digits>")


def check_chart_secrets(args: argparse.Namespace, objects: list[dict[str, Any]]) -> None:
    """The chart's own Secret carries the values: every mounted key, no trailing newline.
    (An existing Secret is checked in the cluster: existing_secret_checksum.)"""
    created = _created_secrets(objects)
    for name, keys in mounted_secrets(objects).items():
        if name in created:
            data = created[name].get("stringData") or {}
            _check_secret_values(f"VALUES={_shown(args)} secrets", data, keys)


def _created_secrets(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}


def check_cluster(kubectl: str, args: argparse.Namespace, objects: list[dict[str, Any]]) -> str:
    """The cluster answers and can run the image: its kube context."""
    context = _check_context(kubectl)
    _check_reachable(kubectl, context)
    _check_image(args, context)
    if context == LOCAL_CONTEXT:
        _check_images_on_node(kubectl, objects)
    return context


def existing_secret_checksum(
    kubectl: str, args: argparse.Namespace, objects: list[dict[str, Any]]
) -> tuple[str, ...]:
    """An existing Secret has every mounted key; its checksum as a --set, so that
    pods roll when its mounted keys change."""
    extra: tuple[str, ...] = ()
    created = _created_secrets(objects)
    for name, keys in mounted_secrets(objects).items():
        if name not in created:
            data = _secret_data(kubectl, args.namespace, name)
            _check_secret_values(f"Secret {args.namespace}/{name}", data, keys)
            extra = (f"secrets.checksum={secret_checksum(data, keys)}",)
    return extra


def helm_tests(objects: list[dict[str, Any]]) -> list[str]:
    """The names of the `helm test` hooks the chart renders."""
    return [
        o["metadata"]["name"]
        for o in objects
        if "test" in (o["metadata"].get("annotations") or {}).get("helm.sh/hook", "").split(",")
    ]


def gates(helm: str, args: argparse.Namespace, objects: list[dict[str, Any]]) -> list[list[str]]:
    """What must pass after the rollout: `helm test` when the chart renders a test
    (else it says the in-cluster gate is empty), and the smoke checks from here
    against SMOKE_URL."""
    commands = []
    if helm_tests(objects):
        # No --logs: it fails on a test pod deleted once it passed (hook-succeeded);
        # a failed one's logs are printed by report_failing_pods.
        commands.append([helm, "test", *_release_scope(args)])
    else:
        also = "SMOKE_URL's smoke checks are" if args.smoke_url else "nothing is"
        print(
            "make deploy: the chart renders no helm test pod (tests.enabled=false): the "
            f"in-cluster gate is empty; {also} checked after the rollout",
            file=sys.stderr,
            flush=True,
        )
    if args.smoke_url:
        smoke = [sys.executable, "-m", "app.ops.smoke", "--url", args.smoke_url]
        # Sign-in in front when the chart renders its sidecar (whatever its default).
        names = [c["name"] for _, spec in pod_specs(objects) for c in containers(spec)]
        if "oauth2-proxy" in names:
            smoke.append("--auth")
        commands.append(smoke)
    return commands


def print_dry_run(
    helm: str, args: argparse.Namespace, manifests: str, objects: list[dict[str, Any]]
) -> None:
    print("+", shlex.join(upgrade_command(helm, args)), flush=True)
    _print_secret_keys(mounted_secrets(objects))
    for gate in gates(helm, args, objects):
        print("# Gate:", shlex.join(gate), flush=True)
    print(manifests)


def upgrade(
    helm: str,
    kubectl: str,
    args: argparse.Namespace,
    command: list[str],
    before: int | None,
    hooks: Hooks = (),
) -> bool:
    """Run the upgrade; when it fails, show why and undo it back to revision
    `before` (None: no release). Whether it succeeded."""
    if subprocess.run(command, check=False).returncode == 0:
        return True
    report_failing_pods(kubectl, args)
    outcome = undo(helm, kubectl, args, before, hooks)
    if before is not None:
        outcome += f" (helm history {args.release} --namespace {args.namespace} says why)"
    print(f"make deploy: helm upgrade failed; {outcome}", file=sys.stderr)
    return False


def run_gates(
    helm: str,
    kubectl: str,
    args: argparse.Namespace,
    commands: list[list[str]],
    before: int | None,
    hooks: Hooks = (),
) -> bool:
    """Each gate in turn; the first that fails shows the failing pods and undoes
    the deploy (the rollout succeeded but does not work). Whether all passed."""
    for gate in commands:
        if subprocess.run(gate, check=False, cwd=ROOT).returncode != 0:
            report_failing_pods(kubectl, args)
            outcome = undo(helm, kubectl, args, before, hooks)
            print(f"make deploy: {shlex.join(gate[:3])} failed; {outcome}", file=sys.stderr)
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        helm = _tool("helm", "install Helm 3.14+ or 4 (https://helm.sh/docs/intro/install/)")
        check_inputs(args)
        manifests, objects = _render(helm, args)
        check_chart_secrets(args, objects)
        if args.dry_run:
            print_dry_run(helm, args, manifests, objects)
            return 0
        kubectl = _tool("kubectl", "install kubectl (https://kubernetes.io/docs/tasks/tools/)")
        context = check_cluster(kubectl, args, objects)
        command = upgrade_command(helm, args, existing_secret_checksum(kubectl, args, objects))
        revision_before = _deployed_revision(helm, args)
        print(f"deploying {args.release} to {context}/{args.namespace}", flush=True)
        print("+", shlex.join(command), flush=True)
        _print_secret_keys(mounted_secrets(objects))
        checks = gates(helm, args, objects)
    except Refused as refusal:
        print(f"make deploy: {refusal}", file=sys.stderr)
        return 2
    hooks = hook_objects(objects)
    if not upgrade(helm, kubectl, args, command, revision_before, hooks):
        return 1
    return 0 if run_gates(helm, kubectl, args, checks, revision_before, hooks) else 1


if __name__ == "__main__":
    sys.exit(main())
