"""Updating a generated project from a newer template with cruft, as docs/template.md says.

A git repository of the template at commit A (this checkout's HEAD with its working
tree's changes), a project generated from it with cookiecutter and changed the way a
user changes theirs (the reference app replaced by its script and the fixture app, a
line of its own in the edge's config), then a template commit B changing platform
files (session.py, nginx.conf) and reference files the project deleted or replaced:
`cruft update` brings B's platform changes in without a conflict and leaves the
project's own changes as they were. `cruft create` makes the same project as
cookiecutter.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.generate.generation import BIN, generate, git, overlay, run_in
from tests.support.tools import ROOT

ANSWERS = {"project_name": "Fleet Monitor", "auth": "on"}
# Template commit B: (file, line after which it adds one, the line it adds).
PLATFORM_CHANGES = {
    "app/dashboard/session.py": (
        '"""The platform around any Streamlit app: your entry script hands its pages to ``run``.',
        "(Template commit B: a platform change that must reach every project.)",
    ),
    "nginx/nginx.conf": (
        "# The edge: one nginx in front of every service.",
        "# Template commit B: the edge changed too.",
    ),
}
REFERENCE_CHANGES = {
    "app/dashboard/pages/overview.py": "# Template commit B: the reference page changed.\n",
    "app/dashboard/streamlit_app.py": "# Template commit B: the reference entry changed.\n",
    "app/core/models.py": "# Template commit B: the reference tables changed.\n",
    "tests/reference/test_b.py": '"""Template commit B: a new reference test."""\n',
}
USER_LINE = "# Fleet Monitor: our own line at the end of the edge's config.\n"


def cruft(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_in(project, BIN / "cruft", *args, timeout=600)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository of the template at commit A: this checkout's HEAD, plus the changes of
    its working tree to tracked files (what these tests are run on), committed."""
    repo = tmp_path_factory.mktemp("template") / "streamlit-production-template"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True)
    changes = subprocess.run(
        ["git", "-C", str(ROOT), "diff", "HEAD", "--binary"], capture_output=True, check=True
    ).stdout
    if changes:
        subprocess.run(["git", "-C", str(repo), "apply", "--index"], input=changes, check=True)
        git(repo, "commit", "--quiet", "--message", "A: the working tree under test")
    return repo


@pytest.fixture(scope="module")
def updated(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The project, changed by its user, then updated by `cruft update` to commit B."""
    project = generate(
        tmp_path_factory.mktemp("project"), str(template), *(f"{k}={v}" for k, v in ANSWERS.items())
    )
    git(project, "commit", "--quiet", "--message", "Generated")
    removed = run_in(project, "scripts/remove-reference-app.sh", VENV=sys.prefix)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    git(project, "commit", "--quiet", "--message", "The reference app removed")
    overlay(project)
    git(project, "rm", "--quiet", "app/dashboard/pages/home.py")
    migration = run_in(project, "make", "migration", "MESSAGE=notes", f"VENV={sys.prefix}")
    assert migration.returncode == 0, migration.stdout + migration.stderr
    with (project / "nginx/nginx.conf").open("a") as edge:
        edge.write(USER_LINE)
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "Our own app, and a line of ours")
    ours = {name: (project / name).read_bytes() for name in git(project, "ls-files").split()}

    for name, (after, added) in PLATFORM_CHANGES.items():
        path = template / name
        text = path.read_text()
        assert text.count(after + "\n") == 1, name
        path.write_text(text.replace(after + "\n", f"{after}\n{added}\n"))
    for name, added in REFERENCE_CHANGES.items():
        path = template / name
        path.write_text((path.read_text() if path.exists() else "") + added)
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "--message", "B: platform and reference changes")
    result = cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")
    return {"project": project, "ours": ours, "result": result, "template": template}


def test_cruft_update_brings_the_platform_change_without_a_conflict(updated):
    project, result = updated["project"], updated["result"]
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Good work! Project's cruft has been updated" in output
    assert not re.search(r"(?i)conflict|failed|\.rej\b|error", output), output
    assert git(project, "status", "--porcelain", "--untracked-files=all").count("??") == 0
    changed = git(project, "diff", "HEAD", "--name-only").split()
    assert sorted(changed) == [".cruft.json", *sorted(PLATFORM_CHANGES)], changed
    for name, (_, added) in PLATFORM_CHANGES.items():
        assert added in (project / name).read_text(), name
    head = git(updated["template"], "rev-parse", "HEAD").strip()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == head
    assert not list(project.rglob("*.rej"))


def test_the_projects_own_changes_are_intact(updated):
    project, ours = updated["project"], updated["ours"]
    edge = (project / "nginx/nginx.conf").read_text()
    assert edge.endswith(USER_LINE)  # both changes in one file: merged
    for name, text in ours.items():
        if name not in (".cruft.json", *PLATFORM_CHANGES):
            assert (project / name).read_bytes() == text, name
    assert "class Note(Base)" in (project / "app/core/models.py").read_text()
    # Reference files the project deleted stay deleted, changed or new in the template.
    for name in REFERENCE_CHANGES:
        assert "Template commit B" not in (
            (project / name).read_text() if (project / name).exists() else ""
        )
    assert not (project / "app/dashboard/pages/overview.py").exists()
    assert not (project / "tests/reference").exists()


def test_cruft_create_makes_the_same_project_as_cookiecutter(updated, tmp_path: Path):
    """At commit B: cruft runs the hook without cookiecutter's _repo_dir (it clones the
    commit itself) and writes its own .cruft.json; the files are the same."""
    template = updated["template"]
    (tmp_path / "cookiecutter").mkdir()
    by_cookiecutter = generate(
        tmp_path / "cookiecutter", str(template), *(f"{k}={v}" for k, v in ANSWERS.items())
    )
    (tmp_path / "cruft").mkdir()
    created = run_in(
        tmp_path, BIN / "cruft", "create", str(template), "--directory", "template",
        "--no-input", "--output-dir", str(tmp_path / "cruft"),
        "--extra-context", json.dumps(ANSWERS),
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    by_cruft = tmp_path / "cruft" / by_cookiecutter.name

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(root).parts
        }

    cookiecutter_files, cruft_files = files(by_cookiecutter), files(by_cruft)
    link = {name: json.loads(tree.pop(".cruft.json")) for name, tree in (
        ("cookiecutter", cookiecutter_files), ("cruft", cruft_files))}  # fmt: skip
    assert cruft_files.keys() == cookiecutter_files.keys()
    assert [n for n in cruft_files if cruft_files[n] != cookiecutter_files[n]] == []
    assert not (by_cruft / ".git").exists()  # cruft's diffs must not see one
    for key in ("template", "commit", "directory"):
        assert link["cruft"][key] == link["cookiecutter"][key], key
    answers = {k: v for k, v in link["cruft"]["context"]["cookiecutter"].items() if k[0] != "_"}
    assert answers == {k: v for k, v in link["cookiecutter"]["context"]["cookiecutter"].items()
                       if k[0] != "_"}  # fmt: skip


def test_the_skip_list_is_what_the_removal_script_replaces():
    """pyproject's [tool.cruft] skip names exactly the reference app's files and the
    starters scripts/remove-reference-app.sh writes over them."""
    script = (ROOT / "scripts/remove-reference-app.sh").read_text()
    listed = [
        path
        for array in ("REFERENCE", "STARTERS")
        for path in re.search(rf"(?ms)^{array}=\((.*?)^\)", script)[1].split()
    ]
    skip = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]
    assert sorted(skip) == sorted(listed)
    assert all((ROOT / path).exists() for path in skip)
