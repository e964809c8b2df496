"""checkov's Kubernetes policies over every rendered profile: 0 unexplained findings.

Accepted findings are annotations in the templates (``checkov.io/skipN``),
each with its reason, listed in the chart README. kube-linter is not run: it
cannot be built here (the Go module proxy refuses golang.stackrox.io).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.chart import CHART, PROFILES, named
from tests.support.tools import require_tool

HINT = "make test installs it into .venv-scan (requirements/scan.txt)"


def _checkov(directory: Path) -> list[dict]:
    checkov = require_tool("checkov", HINT)
    result = subprocess.run(
        [checkov, "-d", str(directory), "--framework", "kubernetes", "--skip-download",
         "--compact", "-o", "json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


@pytest.fixture(scope="module")
def rendered(render, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("rendered")
    for profile in PROFILES:
        (directory / f"{profile}.yaml").write_text(yaml.safe_dump_all(render(profile)))
    return directory


def test_checkov_finds_nothing_unexplained(rendered: Path):
    reports = _checkov(rendered)
    failed = [
        (check["check_id"], check["resource"], check["file_path"])
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert sum(report["summary"]["passed"] for report in reports) > 100


def test_every_accepted_finding_is_documented(rendered: Path):
    reports = _checkov(rendered)
    skipped = {
        check["check_id"] for report in reports for check in report["results"]["skipped_checks"]
    }
    readme = (CHART / "README.md").read_text()
    documented = set(re.findall(r"^\| `(CKV\w+)` \|", readme, re.MULTILINE))
    assert skipped
    assert skipped == documented


def test_checkov_reports_a_privileged_container(render, tmp_path: Path):
    """The scan can fail: the same chart with privilege escalation allowed is caught."""
    objects = render("minimal")
    deployment = named(objects, "Deployment", "-api")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["allowPrivilegeEscalation"] = True
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(deployment))
    failed = {c["check_id"] for r in _checkov(tmp_path) for c in r["results"]["failed_checks"]}
    assert "CKV_K8S_20" in failed
