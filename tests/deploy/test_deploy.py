"""`make deploy` (scripts/deploy.py): its refusals, and its helm command checked by a dry run.

Real helm (built by scripts/install-test-deps.sh) and real kubectl; no API
server runs here, so the paths that need a cluster (a missing existing Secret,
the rollout itself) are not exercised: they stop at the kube-context check.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.ops.kube import containers, merge, pod_specs
from tests.support.chart import CHART, profile_values
from tests.support.tools import ROOT, TOOLS_BIN, free_port, require_tool

HINT = "scripts/install-test-deps.sh --lint-tools builds helm with Go; kubectl: https://kubernetes.io/docs/tasks/tools/"


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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image: [unclosed\n", "not valid YAML"),
        ("- a list\n", "expected a mapping of chart values"),
        ("dashboard: {replicaCount: many}\n", "the chart does not render with VALUES="),
    ],
)
def test_refuses_a_malformed_values_file_in_one_line(
    tool_path: str, tmp_path: Path, text: str, message: str
):
    values = tmp_path / "values.yaml"
    values.write_text(text)
    result = deploy("--values", str(values), *IMAGE, path=tool_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert message in line
    assert "Traceback" not in result.stderr


def test_refuses_without_an_image_tag(tool_path: str, tmp_path: Path):
    values = _values_file(tmp_path, profile_values("existing-secret"))
    result = deploy("--values", values, "--image-repository", "ghcr.io/acme/dash", path=tool_path)
    assert result.returncode == 2
    assert "IMAGE_TAG is not set" in result.stderr


def test_refuses_when_secrets_are_missing(tool_path: str, tmp_path: Path):
    """The chart names the first secret it lacks; oauth2-proxy's are needed by default."""
    values = _values_file(tmp_path, {"secrets": {"APP_DATABASE_URL": "postgresql://db/app"}})
    result = deploy("--values", values, *IMAGE, path=tool_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("make deploy: the chart does not render with VALUES=")
    assert "secrets.OAUTH2_PROXY_CLIENT_SECRET is required" in line


def test_refuses_a_secret_value_ending_in_a_newline(tool_path: str, tmp_path: Path):
    secrets = profile_values("gateway")["secrets"]
    values = _values_file(
        tmp_path,
        {
            **profile_values("gateway"),
            "secrets": {**secrets, "OAUTH2_PROXY_COOKIE_SECRET": "x" * 32 + "\n"},
        },
    )
    result = deploy("--values", values, *IMAGE, "--dry-run", path=tool_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "OAUTH2_PROXY_COOKIE_SECRET ends in a newline" in line
    assert "printf %s" in line


def test_refuses_without_a_kube_context(tool_path: str, tmp_path: Path):
    values = _values_file(tmp_path, profile_values("existing-secret"))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n")
    result = deploy("--values", values, *IMAGE, path=tool_path, env={"KUBECONFIG": str(kubeconfig)})
    assert result.returncode == 2
    assert "no current kube context" in result.stderr


def test_refuses_a_cluster_that_does_not_answer(tool_path: str, tmp_path: Path):
    """Nothing listens at the context's server: said as such, not as a missing Secret."""
    values = _values_file(tmp_path, profile_values("existing-secret"))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "gone",
            "clusters": [{"name": "gone", "cluster": {"server": f"https://127.0.0.1:{free_port()}"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
        })
    )  # fmt: skip
    result = deploy("--values", values, *IMAGE, path=tool_path, env={"KUBECONFIG": str(kubeconfig)})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("make deploy: the cluster of kube context gone does not answer:")
    assert "Secret" not in line


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
    assert "--wait" in command or "--wait=watcher" in command  # Helm 3, Helm 4
    # make deploy rolls back itself, once it printed why the rollout failed.
    assert not {"--atomic", "--rollback-on-failure"} & set(command)
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


def _compose_secrets() -> dict[str, set[str]]:
    """Secret name -> its file under secrets/, and every service's mounts and *_FILE paths."""
    compose = yaml.safe_load((ROOT / "docker/compose.yaml").read_text())
    declared = {name: Path(spec["file"]).name for name, spec in compose["secrets"].items()}
    for service in compose["services"].values():
        for name in service.get("secrets", []):
            assert name in declared, name
        for variable, value in (service.get("environment") or {}).items():
            if variable.endswith("_FILE"):
                # Each consumer's variable names the file of the same name.
                assert value == f"/run/secrets/{variable.removesuffix('_FILE')}", variable
                assert Path(value).name in service["secrets"], variable
    return declared


def test_every_place_spells_the_secrets_alike(tool_path: str, tmp_path: Path, render):
    """compose, `make secrets`, the chart (Secret keys, mounted files) and `make deploy`
    name each secret once, as the variable its consumer knows."""
    compose = _compose_secrets()
    assert all(name == file for name, file in compose.items()), compose

    subprocess.run(
        [str(ROOT / "scripts/make-secrets.sh"), str(tmp_path / "secrets")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    written = {p.name for p in (tmp_path / "secrets").iterdir() if p.stat().st_size > 0}
    assert written == set(compose)
    password = (tmp_path / "secrets/POSTGRES_PASSWORD").read_text()
    assert password in (tmp_path / "secrets/APP_DATABASE_URL").read_text()

    # oauth2-proxy on, its sessions in Redis: every secret
    redis = {"sessionStore": {"type": "redis", "redisUrl": "redis://sessions:6379/0"}}
    objects = render(
        "gateway", {"oauth2Proxy": redis, "secrets": {"OAUTH2_PROXY_REDIS_PASSWORD": "pw"}}
    )
    (secret,) = [o for o in objects if o["kind"] == "Secret"]
    mounted = set()
    for _, spec in pod_specs(objects):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in containers(spec):
            for mount in container.get("volumeMounts", []):
                if items := volumes[mount["name"]].get("secret", {}).get("items"):
                    assert mount["mountPath"] == "/run/secrets", mount
                    assert all(item["path"] == item["key"] for item in items), items
                    mounted |= {item["key"] for item in items}
    assert set(secret["stringData"]) == mounted == set(compose) - {"POSTGRES_PASSWORD"}

    # make deploy's list, derived from the chart it renders: the same.
    values = _values_file(
        tmp_path, merge(profile_values("existing-secret"), {"oauth2Proxy": redis})
    )
    result = deploy("--values", values, *IMAGE, "--dry-run", path=tool_path)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("# Secret ")]
    assert line == f"# Secret streamlit-app-secrets: {', '.join(sorted(mounted))}"


@pytest.mark.parametrize("tests", [True, False])
def test_an_empty_test_gate_is_reported(tool_path: str, tmp_path: Path, tests: bool):
    """tests.enabled=false leaves `helm test` nothing to run: said, not passed silently."""
    values = _values_file(tmp_path, merge(profile_values("minimal"), {"tests": {"enabled": tests}}))
    result = deploy("--values", values, *IMAGE, "--dry-run", path=tool_path)
    assert result.returncode == 0, result.stderr
    gates = [line for line in result.stdout.splitlines() if line.startswith("# Gate: ")]
    if tests:
        (gate,) = gates
        assert shlex.split(gate.removeprefix("# Gate: "))[1:] == [
            "test",
            "streamlit-app",
            "--namespace",
            "streamlit-app",
        ]
        assert "gate is empty" not in result.stderr
    else:
        assert gates == []
        assert (
            "the chart renders no helm test pod (tests.enabled=false): the in-cluster gate "
            "is empty; nothing is checked after the rollout" in result.stderr
        )


# --- A failed rollout, with kubectl's and helm's answers faked -----------------


def _deploy_module():
    spec = importlib.util.spec_from_file_location("deploy_under_test", ROOT / "scripts/deploy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CRASHING = {
    "metadata": {"name": "web-dashboard-7f9-abc"},
    "status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [{
            "name": "dashboard", "ready": False, "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        }],
    },
}  # fmt: skip
BACK_OFF = {
    "type": "Warning",
    "reason": "BackOff",
    "message": "Back-off restarting failed container",
    "lastTimestamp": "2026-12-07T23:00:00Z",
}
SERVING = {
    "metadata": {"name": "web-dashboard-5c4-old"},
    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
}


def _fake(calls: list[list[str]], answers: dict[str, tuple[int, str]]):
    """A stand-in for deploy._run: records each command and answers by its first words."""

    def run(argv: list[str], **_):
        calls.append(argv)
        words = " ".join(argv[:3])
        code, out = next((a for k, a in answers.items() if words.startswith(k)), (0, ""))
        return subprocess.CompletedProcess(argv, code, stdout=out, stderr="")

    return run


def _failed_upgrade(monkeypatch, capsys, before: int | None, after: int | None):
    deploy = _deploy_module()
    calls: list[list[str]] = []
    status = (0, json.dumps({"version": after})) if after else (1, "")
    answers = {
        "kubectl get pods": (0, json.dumps({"items": [SERVING, CRASHING]})),
        "kubectl logs --namespace": (0, "dashboard: APP_DB_POOL_SIZE: not an integer\n"),
        "kubectl get events": (0, json.dumps({"items": [BACK_OFF]})),
        "helm status web": status,
    }
    monkeypatch.setattr(deploy, "_run", _fake(calls, answers))
    monkeypatch.setattr(deploy.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1))
    args = argparse.Namespace(release="web", namespace="apps", timeout="5m")
    hooks = (("Secret", "web-secrets"), ("Job", "web-migrate"))
    assert deploy.upgrade("helm", "kubectl", args, ["helm", "upgrade"], before, hooks) is False
    return calls, capsys.readouterr().err


def test_a_failed_upgrade_prints_the_failing_pods_before_rolling_back(monkeypatch, capsys):
    """No cluster here: kubectl's and helm's answers are faked (deploy._run), so this
    checks what make deploy asks and prints, in which order. On a cluster:
    tests/cluster/test_install.py, test_a_failed_rollout_rolls_back_to_the_working_revision."""
    calls, err = _failed_upgrade(monkeypatch, capsys, before=3, after=4)
    assert (
        "make deploy: pod web-dashboard-7f9-abc: Running; dashboard: CrashLoopBackOff "
        "(3 restarts)" in err
    )
    assert "    dashboard: APP_DB_POOL_SIZE: not an integer" in err
    assert "    Warning BackOff: Back-off restarting failed container" in err
    assert "web-dashboard-5c4-old" not in err  # a ready pod of the old revision
    assert "helm upgrade failed; rolled back to revision 3, which ran before" in err
    order = [" ".join(c[:2]) for c in calls]
    assert order.index("kubectl logs") < order.index("helm rollback")
    (logs_previous, logs) = [c for c in calls if c[:2] == ["kubectl", "logs"]]
    assert "--previous" in logs_previous
    assert "--previous" not in logs
    assert "--tail=20" in logs


def test_a_first_install_that_installed_nothing_is_not_said_uninstalled(monkeypatch, capsys):
    """No cluster here (answers faked, as above): Helm recorded no release, so there is
    nothing to uninstall and make deploy does not claim it did; when it had, the
    release goes and so do the hooks `helm uninstall` leaves."""
    calls, err = _failed_upgrade(monkeypatch, capsys, before=None, after=None)
    assert "it was a first install and Helm had installed nothing" in err
    assert "uninstalled" not in err
    assert not [c for c in calls if c[:2] == ["helm", "uninstall"]]
    assert not [c for c in calls if c[:3] == ["kubectl", "delete", "Secret"]]
    calls, err = _failed_upgrade(monkeypatch, capsys, before=None, after=1)
    assert "it was a first install, so it was uninstalled" in err
    assert [c for c in calls if c[:2] == ["helm", "uninstall"]]
    # The hooks `helm uninstall` leaves: the chart's Secret, a failed migrations Job.
    deleted = [c[2:4] for c in calls if c[:2] == ["kubectl", "delete"]]
    assert ["Secret", "web-secrets"] in deleted
    assert ["Job", "web-migrate"] in deleted
