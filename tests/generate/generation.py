"""Generating projects from this checkout, for the template's own tests (tests/generate).

Real cookiecutter (and cruft) with the real hooks. The generated projects run their
commands and tests with this repository's interpreter: the same locked dependencies,
where a virtual environment per project would cost minutes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.tools import ROOT

BIN = Path(sys.executable).parent
WING_LIST = ROOT / "template/wing.txt"
# A second app, which the tests put in a generated project in place of the reference app.
FIXTURE_APP = Path(__file__).with_name("fixture_app")


def wing() -> tuple[str, ...]:
    """The template's own paths (template/wing.txt, which the hook reads too)."""
    lines = WING_LIST.read_text().splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def wing_mentions() -> re.Pattern[str]:
    """Text naming a wing path, its module (tests.bench) or a make target of the
    Makefile's template-only part (make bench): what no generated file may say."""
    names = []
    for path in wing():
        # A folder of one part is named with its slash ("template/"), others without.
        name = path.rstrip("/") if "/" in path.rstrip("/") else path
        names.append(rf"(?<![\w./-]){re.escape(name)}(?![\w-])")
        if path.startswith("tests/") and path.endswith("/"):
            names.append(rf"\b{re.escape(path.rstrip('/').replace('/', '.'))}\b")
    makefile = (ROOT / "Makefile").read_text()
    marked = r"(?ms)^# template-only:start.*?^# template-only:end"
    template_only = "".join(re.findall(marked, makefile))
    targets = re.findall(r"(?m)^([a-z][a-z-]*):", template_only)
    assert targets, "the Makefile's template-only part has no target: the scan would miss them"
    names.append(rf"\bmake (?:{'|'.join(map(re.escape, targets))})\b")
    return re.compile("|".join(names))


def cookiecutter(out: Path, source: str, *answers: str) -> subprocess.CompletedProcess[str]:
    """`cookiecutter --no-input SOURCE --directory template KEY=VALUE...` into `out`."""
    # A config of its own: clones and replays stay out of the user's home.
    config = out / "cookiecutter.yaml"
    config.write_text(f"cookiecutters_dir: {out / 'clones'}\nreplay_dir: {out / 'replay'}\n")
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", str(config)]
    return subprocess.run(
        [*command, "--directory", "template", "--output-dir", str(out), source, *answers],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},  # the hook's ruff
    )


def generate(out: Path, source: str, *answers: str) -> Path:
    """The project generated into `out` (fails the test with cookiecutter's output if not)."""
    result = cookiecutter(out, source, *answers)
    assert result.returncode == 0, result.stdout + result.stderr
    (project,) = [p for p in out.iterdir() if (p / "pyproject.toml").is_file()]
    # Its locks as old as this run's environments, built from the same ones: the
    # project's make targets (VENV=this run's) then use them as they are.
    for lock in (project / "requirements").glob("*.txt"):
        os.utime(lock, (0, 0))
    return project


def project_env(project: Path, **extra: str) -> dict[str, str]:
    """The environment a project's commands run in: no APP_* setting of this run, the
    project's code first on the import path, this interpreter's tools first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    path = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "PYTHONPATH": str(project), "PATH": path, **extra}


def run_in(
    project: Path, *command: str | Path, timeout: float = 900, **env: str
) -> subprocess.CompletedProcess[str]:
    """`command` in `project`, its output captured."""
    return subprocess.run(
        [str(c) for c in command],
        cwd=project,
        env=project_env(project, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def text_files(project: Path):
    """(relative path, lines) of every text file of `project`, .git left out."""
    for file in sorted(project.rglob("*")):
        if ".git" in file.relative_to(project).parts or not file.is_file():
            continue
        try:
            yield file.relative_to(project), file.read_text().splitlines()
        except UnicodeDecodeError:
            continue


def git(project: Path, *args: str) -> str:
    """`git ARGS` in `project` as a named user; its output (fails the test if git does)."""
    result = run_in(project, "git", "-c", "user.name=Test", "-c", "user.email=t@example.com", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def overlay(project: Path) -> None:
    """The fixture app's files over the project's, as a user copies theirs in
    (its README, which says what it is, stays out)."""
    for source in sorted(FIXTURE_APP.rglob("*")):
        relative = source.relative_to(FIXTURE_APP)
        if source.is_file() and relative != Path("README.md") and "__pycache__" not in str(source):
            (project / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, project / relative)
