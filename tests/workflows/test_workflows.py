"""The GitHub Actions pipeline (.github/workflows), checked without running it.

What runs here: actionlint and zizmor (offline) on our workflows and on a
deliberately bad one, our own policy checks on the parsed files, and the
deploy job's shell steps under bash as a runner runs them (with `make
deploy`'s DRY_RUN, real helm, no cluster). tests/pipeline runs every job of
the workflows with act, and Renovate itself on the repository.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.support.chart import profile_values
from tests.support.tools import ROOT, TOOLS_BIN, require_tool

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
# An environment's APP_URL variable.
APP_URL = "https://app.example.org"
INSTALL = "scripts/install-test-deps.sh --lint-tools (actionlint, helm); make test (zizmor)"
# What every pinned `uses:` line looks like: owner/repo[/path]@<commit> # v<version>
PINNED = re.compile(r"uses: [\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
# A workflow a careless author might write: every line of it is a finding.
BAD_WORKFLOW = textwrap.dedent(
    """\
    name: greet
    on: pull_request_target
    jobs:
      greet:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
            with:
              ref: ${{ github.event.pull_request.head.sha }}
          - run: echo "Thanks for ${{ github.event.pull_request.title }}"
    """
)


def _load(path: Path) -> dict:
    document = yaml.safe_load(path.read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on:` as True
    return document


def _jobs() -> list[tuple[str, str, dict]]:
    return [
        (path.name, name, job) for path in WORKFLOWS for name, job in _load(path)["jobs"].items()
    ]


def _steps() -> list[tuple[str, dict]]:
    return [(f"{wf}:{name}", step) for wf, name, job in _jobs() for step in job.get("steps", [])]


def _run(*argv: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=120, check=False, **kwargs
    )


@pytest.fixture
def bad_repo(tmp_path: Path) -> Path:
    """A repository holding only the bad workflow."""
    workflows = tmp_path / ".github/workflows"
    workflows.mkdir(parents=True)
    (workflows / "greet.yml").write_text(BAD_WORKFLOW)
    return tmp_path


def test_we_have_the_three_workflows():
    assert [path.name for path in WORKFLOWS] == ["ci.yml", "deploy.yml", "release.yml"]


def test_actionlint_passes_ours_and_flags_untrusted_input(bad_repo: Path):
    actionlint = require_tool("actionlint", INSTALL, (str(TOOLS_BIN),))
    ours = _run(actionlint, "-no-color", *WORKFLOWS, cwd=ROOT)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    bad = _run(actionlint, "-no-color", "-oneline", ".github/workflows/greet.yml", cwd=bad_repo)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert '"github.event.pull_request.title" is potentially untrusted' in bad.stdout


def test_zizmor_passes_ours_and_flags_a_bad_workflow(bad_repo: Path):
    zizmor = require_tool("zizmor", INSTALL)
    ours = _run(zizmor, "--offline", "--no-progress", "--format", "json", ".github", cwd=ROOT)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    assert json.loads(ours.stdout) == []
    bad = _run(zizmor, "--offline", "--no-progress", "--format", "json", ".github", cwd=bad_repo)
    assert bad.returncode != 0
    found = {finding["ident"] for finding in json.loads(bad.stdout)}
    assert {"template-injection", "dangerous-triggers", "unpinned-uses", "artipacked"} <= found


def test_every_action_is_pinned_to_a_commit_with_its_version():
    lines = [
        (path.name, line.strip().removeprefix("- "))
        for path in WORKFLOWS
        for line in path.read_text().splitlines()
        if "uses:" in line and "uses: ./" not in line
    ]
    assert lines
    unpinned = [(name, line) for name, line in lines if not PINNED.search(line)]
    assert unpinned == []
    # One version of each action everywhere: the same commit for the same tag.
    commits: dict[str, set[str]] = {}
    for _, line in lines:
        action, rest = line.removeprefix("uses: ").split("@")
        commits.setdefault(action, set()).add(rest)
    assert {action: pins for action, pins in commits.items() if len(pins) > 1} == {}


def test_permissions_start_empty_and_each_job_names_its_own():
    for path in WORKFLOWS:
        assert _load(path)["permissions"] == {}, path.name
    writes = {}
    for workflow, name, job in _jobs():
        assert isinstance(job.get("permissions"), dict), (workflow, name)
        granted = {scope for scope, level in job["permissions"].items() if level == "write"}
        if granted:
            writes[f"{workflow}:{name}"] = granted
    # Only the release's image job writes: the package, and an OIDC token to sign it.
    assert writes == {"release.yml:image": {"packages", "id-token"}}


def test_jobs_are_bounded_in_time():
    for workflow, name, job in _jobs():
        if "runs-on" in job:
            assert 0 < job["timeout-minutes"] <= 90, (workflow, name)


def test_checkouts_keep_no_credentials():
    checkouts = [
        (where, step) for where, step in _steps() if "actions/checkout@" in step.get("uses", "")
    ]
    assert len(checkouts) >= 4
    for where, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, where


def test_shell_steps_take_expressions_only_through_env():
    """`${{ }}` is pasted into the script before bash sees it: inputs go in through env."""
    runs = [(where, step["run"]) for where, step in _steps() if "run" in step]
    assert runs
    assert [(where, run) for where, run in runs if "${{" in run] == []


def test_the_test_job_is_our_ci_entry_point():
    ci = _load(ROOT / ".github/workflows/ci.yml")["jobs"]
    assert any(step.get("run", "").strip().endswith("bash .ci/run") for step in ci["test"]["steps"])
    assert any(step.get("run") == "make lint" for step in ci["lint"]["steps"])


def _deploy_step(name: str) -> str:
    steps = _load(ROOT / ".github/workflows/deploy.yml")["jobs"]["deploy"]["steps"]
    return next(step["run"] for step in steps if step.get("name", "").startswith(name))


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A step's script as the runner's default shell runs it."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
        env={**os.environ, **env},
    )  # fmt: skip


def test_deploy_refuses_a_bad_tag_a_missing_values_file_or_url(tmp_path: Path):
    check = _deploy_step("Check the inputs")
    values = tmp_path / "staging.yaml"
    values.write_text("{}\n")
    good = {"ENVIRONMENT": "staging", "VALUES_FILE": str(values), "IMAGE_TAG": "1.2.3",
            "APP_URL": APP_URL}  # fmt: skip
    assert _bash(check, good).returncode == 0
    cases = {
        "IMAGE_TAG": ("1.2.3; curl evil", "::error::image-tag '1.2.3; curl evil' is not a valid"),
        "VALUES_FILE": (str(tmp_path / "nope.yaml"), f"{tmp_path}/nope.yaml not found"),
        "APP_URL": ("", "::error::the staging environment has no APP_URL variable"),
    }
    for variable, (value, message) in cases.items():
        result = _bash(check, {**good, variable: value})
        assert result.returncode == 1, variable
        assert message in result.stdout, result.stdout


def test_deploy_step_runs_make_deploy_with_the_environment(tmp_path: Path):
    """The step's own command, with DRY_RUN=1 so `make deploy` renders instead of installing."""
    helm = require_tool("helm", INSTALL, (str(TOOLS_BIN),))
    kubectl = require_tool("kubectl", "apt-get install kubernetes-client")
    values = tmp_path / "staging.yaml"
    values.write_text(yaml.safe_dump(profile_values("minimal")))
    path = os.pathsep.join([str(Path(helm).parent), str(Path(kubectl).parent), os.environ["PATH"]])
    result = _bash(
        _deploy_step("make deploy"),
        {"VALUES_FILE": str(values), "IMAGE_TAG": "1.2.3", "APP_URL": APP_URL,
         "GITHUB_REPOSITORY": "Acme/Sales-Dash", "REGISTRY": "ghcr.io", "DRY_RUN": "1",
         "PATH": path},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # GHCR wants lowercase: the step lowercases the repository name.
    assert "image: ghcr.io/acme/sales-dash:1.2.3" in result.stdout
    assert f"--values {values}" in result.stdout


def test_oauth2_proxy_is_pinned_at_one_version_everywhere():
    """compose's image, the chart's image and the binary the edge tests run move together."""
    compose = yaml.safe_load((ROOT / "docker/compose.yaml").read_text())
    # ${OAUTH2_PROXY_IMAGE:-<public image>}: a local stand-in may replace it.
    variable, image = compose["services"]["oauth2-proxy"]["image"].strip("${}").split(":-")
    assert variable == "OAUTH2_PROXY_IMAGE"
    chart = yaml.safe_load((ROOT / "helm/streamlit-app/values.yaml").read_text())
    script = (ROOT / "scripts/install-test-deps.sh").read_text()
    (built,) = re.findall(r"^\s*local oauth2_proxy_version=(\S+)$", script, re.MULTILINE)
    assert image == f"quay.io/oauth2-proxy/oauth2-proxy:{built}"
    assert chart["oauth2Proxy"]["image"]["tag"] == built
    rules = json.loads((ROOT / "renovate.json").read_text())["packageRules"]
    (group,) = [rule for rule in rules if rule.get("groupName") == "oauth2-proxy"]
    assert set(group["matchPackageNames"]) == {image.split(":")[0], "oauth2-proxy/oauth2-proxy"}
