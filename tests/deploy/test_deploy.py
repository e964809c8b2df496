"""`make deploy` (scripts/deploy.py): its refusals, and its helm command checked by a dry run.

Real helm (built by scripts/install-test-deps.sh) and real kubectl; no API
server runs here, so the paths that need a cluster (a missing existing Secret,
the rollout itself) are not exercised: they stop at the kube-context check.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.chart import CHART, profile_values
from tests.support.tools import ROOT, TOOLS_BIN, require_tool

HINT = "scripts/install-test-deps.sh builds helm with Go; kubectl: https://kubernetes.io/docs/tasks/tools/"


def deploy(*args: str, path: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts/deploy.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": path, **(env or {})},
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def tool_path() -> str:
    """A PATH holding real helm and kubectl."""
    helm = require_tool("helm", HINT, (str(TOOLS_BIN),))
    kubectl = require_tool("kubectl", HINT)
    return os.pathsep.join({str(Path(helm).parent): None, str(Path(kubectl).parent): None})


def _values_file(tmp_path: Path, values: dict) -> str:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


IMAGE = ("--image-repository", "ghcr.io/acme/dash", "--image-tag", "0123abcd")


def test_refuses_without_helm(tmp_path: Path):
    values = _values_file(tmp_path, profile_values("existing-secret"))
    result = deploy("--values", values, *IMAGE, path=str(tmp_path))  # an empty PATH
    assert result.returncode == 2
    assert "make deploy: helm not found on PATH" in result.stderr
    assert "Traceback" not in result.stderr


def test_refuses_without_a_values_file(tool_path: str):
    result = deploy(*IMAGE, path=tool_path)
    assert result.returncode == 2
    assert "VALUES is not set" in result.stderr


def test_refuses_without_an_image_tag(tool_path: str, tmp_path: Path):
    values = _values_file(tmp_path, profile_values("existing-secret"))
    result = deploy("--values", values, "--image-repository", "ghcr.io/acme/dash", path=tool_path)
    assert result.returncode == 2
    assert "IMAGE_TAG is not set" in result.stderr


def test_refuses_when_secrets_are_missing(tool_path: str, tmp_path: Path):
    values = _values_file(tmp_path, {"secrets": {"databaseUrl": "postgresql://db/app"}})
    result = deploy("--values", values, *IMAGE, path=tool_path)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "secrets.streamlitCookieSecret" in line
    assert "secrets.oauth2ProxyClientSecret" in line
    assert "secrets.databaseUrl," not in line  # given, so not named


def test_refuses_without_a_kube_context(tool_path: str, tmp_path: Path):
    values = _values_file(tmp_path, profile_values("existing-secret"))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n")
    result = deploy("--values", values, *IMAGE, path=tool_path, env={"KUBECONFIG": str(kubeconfig)})
    assert result.returncode == 2
    assert "no current kube context" in result.stderr


def test_make_deploy_passes_its_variables(tool_path: str, tmp_path: Path):
    """The Makefile target reaches the script with VALUES, NAMESPACE and the image."""
    values = _values_file(tmp_path, profile_values("minimal"))
    result = subprocess.run(
        ["make", "--no-print-directory", "deploy", f"VALUES={values}", "NAMESPACE=team-a",
         "IMAGE_REPOSITORY=ghcr.io/acme/dash", "IMAGE_TAG=feedbeef", "DRY_RUN=1"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "PATH": f"{tool_path}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "--namespace team-a" in result.stdout
    assert "image: ghcr.io/acme/dash:feedbeef" in result.stdout


def test_dry_run_command_renders_what_the_chart_engine_renders(
    tool_path: str, tmp_path: Path, render
):
    values = _values_file(tmp_path, profile_values("minimal"))
    result = deploy(
        "--values", values, *IMAGE, "--namespace", "team-a", "--dry-run", path=tool_path
    )
    assert result.returncode == 0, result.stderr
    command_line, manifests = result.stdout.split("\n", 1)
    command = shlex.split(command_line.removeprefix("+ "))
    assert Path(command[0]).name == "helm"
    assert command[1:4] == ["upgrade", "--install", "streamlit-app"]
    assert command[4] == str(CHART)
    assert "--create-namespace" in command
    helm4 = {"--rollback-on-failure", "--wait=watcher"}  # Helm 4's names for --atomic --wait
    assert {"--atomic", "--wait"} <= set(command) or helm4 <= set(command)
    assert command[command.index("--namespace") + 1] == "team-a"
    assert command[command.index("--values") + 1] == values
    # helm template with the same arguments and the chart engine the tests use agree.
    by_helm = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(manifests) if d}
    expected = render("minimal", {"image": {"repository": "ghcr.io/acme/dash", "tag": "0123abcd"}})
    assert set(by_helm) == {
        (d["kind"], d["metadata"]["name"].replace("demo-", "")) for d in expected
    }
    api = by_helm[("Deployment", "streamlit-app-api")]
    assert api["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/acme/dash:0123abcd"
