"""Static checks of the container files: Dockerfiles, shell scripts, compose files.

The scanners run as programs from .venv-scan (`make test` puts it on PATH).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.tools import ROOT, require_tool

SCAN_HINT = (
    "make .venv-scan/.scan (installs requirements/scan.txt), then put .venv-scan/bin on PATH"
)
DOCKERFILES = sorted((ROOT / "docker").rglob("Dockerfile"))
COMPOSE_FILES = [ROOT / "docker/compose.yaml", ROOT / "docker/compose.override.yaml"]


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    program = require_tool(tool, SCAN_HINT)
    return subprocess.run(
        [program, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def _shell_scripts() -> list[str]:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.sh"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [*tracked, ".ci/run"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_finds_nothing(dockerfile: Path):
    result = _run("hadolint", "--failure-threshold", "style", str(dockerfile))
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_the_dockerfiles():
    """Each skip is a `# checkov:skip=ID: reason` line in the Dockerfile itself."""
    result = _run(
        "checkov", "--framework", "dockerfile", "--skip-download", "--quiet", "--compact",
        "--directory", "docker",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed checks" in result.stdout  # it really scanned something


def test_shellcheck_passes_every_script():
    scripts = _shell_scripts()
    assert "docker/entrypoint.sh" in scripts
    result = _run("shellcheck", *scripts)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("compose_file", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_file_follows_the_compose_specification(compose_file: Path):
    result = _run("check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(compose_file))
    assert result.returncode == 0, result.stdout + result.stderr
