"""Every job of ci.yml, release.yml and deploy.yml, run here by act as GitHub
would run them on a version tag: release.yml calls ci.yml (lint, test, the
cluster job, the image built, run and smoke-checked), then builds the image
again, publishes it to a registry (a real one, on loopback: the repository
variable IMAGE_REGISTRY), signs the pushed digest, and calls deploy.yml for
staging with that digest. Every `run:` step runs as written; each action is a
declared local equivalent (tests/pipeline/actions, docs/pipeline.md).

Inputs the run is given, as a repository's settings would: the variables
IMAGE_REGISTRY, SIGN_IMAGES, APP_URL and PYTEST_ARGS (the test job runs one
test, not the whole suite inside itself), the secret KUBECONFIG, a committed
deploy/staging.yaml; and DRY_RUN=1, so `make deploy` renders what it would
install (no cluster here: tests/cluster/test_registry.py deploys a pushed
image for real)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support import registry as registries
from tests.support.act import Act, commit, exclusive, standin
from tests.support.chart import profile_values
from tests.support.image import base_image, podman, podman_env, require_podman
from tests.support.tools import ROOT, TOOLS_BIN

TAG = "v1.2.3"
# The test job's `make test`: one test of the setting behind the image job's old failure.
PYTEST_ARGS = "-q tests/unit/test_settings.py -k production_mode"
APP_URL = "https://staging.example.org"
IMAGE = "example-owner/streamlit-template"  # GITHUB_REPOSITORY, lowercased
# What ci.yml's image job leaves on the runner (a fresh VM on GitHub).
IMAGE_JOB_LEFTOVERS = (
    ("rm", "--force", "--time", "5", "api", "dashboard"),
    ("network", "rm", "--force", "ci"),
    ("volume", "rm", "--force", "data"),
    ("rmi", "--force", "streamlit-template:ci"),
)
# Each job of the three workflows, as act names it (workflow name / job name).
JOBS = {
    "ci/lint": "lint (ruff, shellcheck, hadolint, actionlint, zizmor, helm lint)",
    "ci/test": "test (bash .ci/run)",
    "ci/cluster": "cluster (tests/cluster on kind)",
    "ci/image": "image (build, run, smoke)",
    "release/image": "image (multi-arch, SBOM, provenance, signature)",
    "deploy/deploy": "deploy",
}


def _clean_image_job() -> None:
    for args in IMAGE_JOB_LEFTOVERS:
        podman(*args, check=False)


@pytest.fixture(scope="module")
def release(clone: Path, registry, keys, tmp_path_factory) -> dict:
    """A tag pushed: release.yml (and so ci.yml and deploy.yml) run by act."""
    require_podman()
    values = clone / "deploy/staging.yaml"
    values.parent.mkdir()
    values.write_text(yaml.safe_dump(profile_values("minimal")))
    sha = commit(clone, "The staging environment's chart values", "deploy/staging.yaml")
    logs = ROOT / "test-artifacts/pipeline"
    act = Act(
        clone,
        logs,
        env={
            "DRY_RUN": "1",
            "CONTAINERS_CONF": podman_env()["CONTAINERS_CONF"],
            "PIPELINE_PYTHON_IMAGE": base_image(),
            "PIPELINE_HELM": str((TOOLS_BIN / "helm").resolve()),
            "PIPELINE_COSIGN": registries.cosign(),
            "PIPELINE_COSIGN_KEY": str(keys.private),
            "PIPELINE_COSIGN_PASSWORD": keys.password,
            "PIPELINE_ARTIFACTS": str(logs / "artifacts"),
        },
        variables={
            "IMAGE_REGISTRY": registry.host,
            "SIGN_IMAGES": "true",
            "APP_URL": APP_URL,
            "PYTEST_ARGS": PYTEST_ARGS,
        },
        secrets={
            "KUBECONFIG": "{apiVersion: v1, kind: Config, clusters: [], users: [], contexts: []}",
            "GITHUB_TOKEN": "no-token-here",
        },
    )
    with exclusive():
        _clean_image_job()
        try:
            result = act.run(
                "push", clone / ".github/workflows/release.yml", name="release",
                payload={"ref": f"refs/tags/{TAG}", "ref_name": TAG, "ref_type": "tag"},
            )  # fmt: skip
        finally:
            _clean_image_job()
            # The release's tags of the image: the registry keeps what was pushed.
            listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", check=False)
            for reference in listed.stdout.split():
                if reference.startswith(f"{registry.host}/"):
                    podman("rmi", "--force", reference, check=False)
    return {"result": result, "sha": sha}


def _job_key(job: str) -> str:
    """'workflow/job id' for act's name of a job, '[caller/]workflow/job name'
    with the name's expressions evaluated ('deploy 1.2.3 to staging')."""
    keys = [
        key
        for key, name in JOBS.items()
        if job.endswith(f"{key.split('/')[0]}/{name}") or f"{key.split('/')[0]}/{name} " in job
    ]
    return keys[0] if len(keys) == 1 else job


def _job_results(result) -> dict[str, str]:
    return {_job_key(job): outcome for job, outcome in result.jobs.items()}


def test_every_job_of_the_three_workflows_succeeds(release):
    result = release["result"]
    assert _job_results(result) == dict.fromkeys(JOBS, "success"), result.summary()
    assert result.returncode == 0, result.summary()


def _output(result, job: str, step: str) -> str:
    """What one step printed, by 'workflow/job' and step name (a prefix is enough)."""
    return "\n".join(
        line
        for key, lines in result.output.items()
        for line in lines
        if _job_key(key.split("\0")[0]) == job and key.split("\0")[1].startswith(step)
    )


def test_the_image_job_smoke_checks_the_running_image(release):
    smoke = _output(release["result"], "ci/image", "Seed its embedded SQLite file")
    assert "OK: 0 of the checks failed" in smoke, smoke[-3000:]


def test_the_test_job_ran_ci_run_with_the_selected_tests(release):
    output = _output(release["result"], "ci/test", "Install the test dependencies")
    # The one test PYTEST_ARGS selects, and only it.
    assert re.search(r"^\.\s+\[100%\]\n1 passed, \d+ deselected", output, re.M), output[-3000:]


def test_the_release_published_one_signed_digest_under_every_tag(release, registry, keys):
    tags = registry.tags(IMAGE)
    versions = [tag for tag in tags if not tag.startswith("sha256-")]
    assert versions == sorted(["1.2.3", "1.2", release["sha"][:7]])
    (digest,) = {registry.digest(IMAGE, tag) for tag in versions}
    # cosign stores the signature under sha256-<digest> (this registry has no referrers API).
    assert f"sha256-{digest.removeprefix('sha256:')}" in tags
    verified = registries.verify(f"{registry.host}/{IMAGE}@{digest}", keys.public)
    assert verified.returncode == 0, verified.stderr
    # Another key's signature would not do.
    other = registries.key_pair(Path(keys.private).parent / "other")
    assert registries.verify(f"{registry.host}/{IMAGE}@{digest}", other.public).returncode != 0


def test_staging_renders_the_digest_the_release_pushed(release, registry):
    digest = registry.digest(IMAGE, "1.2.3")
    rendered = _output(release["result"], "deploy/deploy", "make deploy")
    assert f"image: {registry.host}/{IMAGE}@{digest}" in rendered, rendered[-3000:]


def test_every_action_has_a_declared_equivalent_listed_in_the_docs():
    from tests.support.act import remote_actions

    workflows = sorted((ROOT / ".github/workflows").glob("*.yml"))
    docs = (ROOT / "docs/pipeline.md").read_text()
    for action in sorted(set(remote_actions(*workflows).values()) - {"actions/checkout"}):
        definition = yaml.safe_load((standin(action) / "action.yml").read_text())
        assert definition["runs"]["using"] == "composite", action
        assert f"`{action}`" in docs, f"docs/pipeline.md does not list {action}'s stand-in"


def test_a_failing_run_step_fails_its_job(clone: Path, tmp_path: Path):
    """A copy of ci.yml with `exit 1` at the start of one `run:` step of its lint
    job: the job fails at that step, the steps after it do not run, and act
    exits non-zero. The checks above rely on a failing step being seen."""
    text = (clone / ".github/workflows/ci.yml").read_text()
    step = "run: scripts/install-test-deps.sh --lint-tools"
    assert text.count(step) == 1
    broken = tmp_path / "ci.yml"
    broken.write_text(text.replace(step, "run: exit 1; scripts/install-test-deps.sh --lint-tools"))
    result = Act(clone, tmp_path / "logs").run("push", broken, job="lint", name="broken")
    assert result.returncode != 0, result.summary()
    assert list(result.jobs.values()) == ["failure"], result.summary()
    assert [step for _, step in result.failed_steps] == ["Build actionlint and helm"]
    assert not [key for key in result.output if key.endswith("\0make lint")], result.summary()
