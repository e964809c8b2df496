#!/usr/bin/env python3
"""`make deploy`: install or upgrade the chart on the current kube context, then smoke it.

    make deploy VALUES=my-values.yaml IMAGE_REPOSITORY=ghcr.io/you/app IMAGE_TAG=abc123 \\
        [RELEASE=streamlit-app] [NAMESPACE=streamlit-app] [SMOKE_URL=https://host] [DRY_RUN=1]

Refuses, with one line saying what to do, before touching the cluster when:
helm or kubectl is missing, the values file is missing, the chart does not
render with it (a secret value missing, a schema error), a secret the rendered
pods mount is missing from the named existing Secret or ends in a newline, or
there is no current kube context. Which secrets the pods mount comes from the
chart itself (`helm template` with the same values and overrides). Then runs
`helm upgrade --install --atomic --wait` (Helm 4: `--rollback-on-failure
--wait=watcher`), so a failed rollout rolls back, then the gates: `helm test`
(the in-cluster smoke pod) and, with SMOKE_URL, `python -m app.ops.smoke` from
here against the public URL; a failed gate rolls back to the previous revision.

DRY_RUN=1 prints the helm command, the Secret keys the pods mount, and the
manifests `helm template` renders from the same chart, values and overrides
instead: no cluster needed.
"""

from __future__ import annotations

import argparse
import base64
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm/streamlit-app"
POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod")


class Refused(Exception):
    """A precondition is not met; the message says which and what to do."""


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(argv, text=True, capture_output=True, check=False, **kwargs)


def _tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if not path:
        raise Refused(f"{name} not found on PATH: {hint}")
    return path


def _values(path: str) -> dict[str, Any]:
    if not path:
        raise Refused("VALUES is not set: name a values file, e.g. VALUES=deploy/prod-values.yaml")
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
        raise Refused(f"the chart does not render with VALUES={args.values}: {error}")
    return rendered.stdout, [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def _pod_specs(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        o["spec"] if o["kind"] == "Pod" else o["spec"]["template"]["spec"]
        for o in objects
        if o["kind"] in POD_KINDS
    ]


def mounted_secrets(objects: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Secret name -> the keys the rendered pods mount from it."""
    mounted: dict[str, set[str]] = {}
    for spec in _pod_specs(objects):
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


def _check_existing_secret(kubectl: str, namespace: str, name: str, keys: list[str]) -> None:
    result = _run([kubectl, "--namespace", namespace, "get", "secret", name, "--output", "json"])
    if result.returncode != 0:
        raise Refused(
            f"Secret {name} not found in namespace {namespace} ({result.stderr.strip()}): "
            "create it first (see helm/streamlit-app/README.md)"
        )
    data = json.loads(result.stdout).get("data") or {}
    decoded = {key: base64.b64decode(value).decode(errors="replace") for key, value in data.items()}
    _check_secret_values(f"Secret {namespace}/{name}", decoded, keys)


def helm_args(args: argparse.Namespace) -> list[str]:
    """Chart, namespace, values file and overrides: shared by upgrade and template."""
    overrides = [f"image.repository={args.image_repository}", f"image.tag={args.image_tag}"]
    return [
        args.release,
        str(CHART),
        "--namespace",
        args.namespace,
        "--values",
        args.values,
        *[arg for override in overrides for arg in ("--set", override)],
    ]


def rollback_flags(helm: str) -> list[str]:
    """Wait for the rollout and roll back if it fails: --atomic in Helm 3, renamed in Helm 4."""
    version = _run([helm, "version", "--template", "{{.Version}}"]).stdout.strip()
    if version.startswith("v3."):
        return ["--atomic", "--wait"]
    return ["--rollback-on-failure", "--wait=watcher"]


def upgrade_command(helm: str, args: argparse.Namespace) -> list[str]:
    return [
        helm, "upgrade", "--install", *helm_args(args), "--create-namespace",
        *rollback_flags(helm), "--timeout", args.timeout,
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--values", default="")
    parser.add_argument("--release", default="streamlit-app")
    parser.add_argument("--namespace", default="streamlit-app")
    parser.add_argument("--image-repository", default="")
    parser.add_argument("--image-tag", default="")
    parser.add_argument("--smoke-url", default="")
    parser.add_argument("--timeout", default="10m")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    try:
        helm = _tool("helm", "install Helm 3.14+ or 4 (https://helm.sh/docs/intro/install/)")
        _values(args.values)  # readable refusals before helm reads it
        for name, value in (
            ("IMAGE_REPOSITORY", args.image_repository),
            ("IMAGE_TAG", args.image_tag),
        ):
            if not value:
                raise Refused(f"{name} is not set: the image to deploy, e.g. make push first")
        manifests, objects = _render(helm, args)
        secrets = mounted_secrets(objects)
        # The chart's own Secret carries the values; an existing one is checked in the cluster.
        created = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
        for name, keys in secrets.items():
            if name in created:
                data = created[name].get("stringData") or {}
                _check_secret_values(f"VALUES={args.values} secrets", data, keys)
        command = upgrade_command(helm, args)
        print("+", shlex.join(command), flush=True)
        for name, keys in secrets.items():
            print(f"# Secret {name}: {', '.join(keys)}", flush=True)
        if args.dry_run:
            print(manifests)
            return 0
        kubectl = _tool("kubectl", "install kubectl (https://kubernetes.io/docs/tasks/tools/)")
        context = _check_context(kubectl)
        for name, keys in secrets.items():
            if name not in created:
                _check_existing_secret(kubectl, args.namespace, name, keys)
        print(f"deploying {args.release} to {context}/{args.namespace}", flush=True)
    except Refused as refusal:
        print(f"make deploy: {refusal}", file=sys.stderr)
        return 2
    if subprocess.run(command, check=False).returncode != 0:
        print("make deploy: helm upgrade failed and was rolled back", file=sys.stderr)
        return 1
    gates = [[helm, "test", args.release, "--namespace", args.namespace, "--logs"]]
    if args.smoke_url:
        smoke = [sys.executable, "-m", "app.ops.smoke", "--url", args.smoke_url]
        # Sign-in in front when the chart renders its sidecar (whatever its default).
        containers = [c["name"] for spec in _pod_specs(objects) for c in spec["containers"]]
        if "oauth2-proxy" in containers:
            smoke.append("--auth")
        gates.append(smoke)
    for gate in gates:
        if subprocess.run(gate, check=False, cwd=ROOT).returncode != 0:
            # The rollout succeeded but does not work: back to the previous revision.
            print(f"make deploy: {shlex.join(gate[:3])} failed; rolling back", file=sys.stderr)
            rollback = [helm, "rollback", args.release, "--namespace", args.namespace, "--wait"]
            subprocess.run(rollback, check=False)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
