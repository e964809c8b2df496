"""The cookiecutter template rendered from this checkout for two answer sets, each project checked.

Real cookiecutter, real hooks. The generated projects run their own tests with this
repository's interpreter (the same locked dependencies; a venv per project would cost
minutes): all unit tests and `make run`'s test for the auth-on project, and for the auth-off
project the tests its answers touch (API, settings, and the chart, whose auth default moved).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.generate.generation import (
    BIN,
    cookiecutter,
    run_in,
    text_files,
    wing,
    wing_mentions,
)
from tests.support.tools import ROOT, TOOLS_BIN, require_tool

ANSWERS = {
    "on": {
        "project_name": "Acme Sales",
        "image_registry": "registry.acme.test/data",
        "domain": "dash.acme.test",
        "auth": "on",
    },
    # A slug of its own, longer than "streamlit-app": lines grow.
    "off": {
        "project_name": "Zed Metrics",
        "project_slug": "zed-metrics-board",
        "image_registry": "ghcr.io/zed-org",
        "domain": "metrics.zed.test",
        "auth": "off",
    },
}
# Both documented forms: a local checkout (its working tree) and a git URL (a clone of HEAD).
SOURCES = {"on": str(ROOT), "off": f"git+file://{ROOT}"}
SUBSETS = {
    "on": ["tests/unit", "tests/integration/test_make_run.py"],
    "off": ["tests/unit/test_api.py", "tests/unit/test_settings.py", "tests/chart/test_render.py"],
}
# Reference names of this repository that must not survive generation (word-bounded).
LEFTOVERS = re.compile(
    r"streamlit[-_]template|\bstreamlit-app\b|\bstreamlit\.example\.com\b|ghcr\.io/(example|you)/"
    r"|\bapp\.example\.org\b"
)
HOOK = ROOT / "template/hooks/post_gen_project.py"
# What .cruft.json names as the template: git's spelling of each source.
CLONED_FROM = {"on": str(ROOT), "off": f"file://{ROOT}"}


def source_state() -> tuple[str, dict[str, str]]:
    status = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "-uall"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.split()
    return status, {
        f: hashlib.sha256((ROOT / f).read_bytes()).hexdigest()
        for f in files
        if (ROOT / f).is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    before = source_state()
    projects = {}
    for auth, answers in ANSWERS.items():
        out = tmp_path_factory.mktemp(f"generated-{auth}")
        result = cookiecutter(out, SOURCES[auth], *(f"{k}={v}" for k, v in answers.items()))
        assert result.returncode == 0, result.stdout + result.stderr
        (projects[auth],) = [p for p in out.iterdir() if (p / "pyproject.toml").is_file()]
    projects["source unchanged"] = source_state() == before
    return projects


@pytest.fixture(params=list(ANSWERS))
def project(request, generated) -> tuple[dict[str, str], Path]:
    return ANSWERS[request.param], generated[request.param]


def test_generation_leaves_the_source_tree_unchanged(generated):
    assert generated["source unchanged"]


def test_no_reference_name_is_left(project):
    _, path = project
    found = [
        f"{name}:{n}: {line.strip()}"
        for name, lines in text_files(path)
        for n, line in enumerate(lines, 1)
        # The source is named on purpose (README header, .cruft.json); CI's checkout
        # directory may well be called streamlit-template.
        if LEFTOVERS.search(line.replace(str(ROOT), "<source>"))
    ]
    assert not found, "\n".join(found)
    assert not [part for part in wing() if (path / part).exists()]
    assert (path / "app/core/settings.py").is_file()  # the package keeps its name
    makefile, readme = (path / "Makefile").read_text(), (path / "README.md").read_text()
    assert not re.search(r"(?m)^(generate|bench|bench-full):", makefile)
    assert "template-only" not in makefile + readme
    assert "## Using the template" not in readme


def test_no_generated_file_names_a_path_of_the_template_wing(project):
    """A project lacks the wing (template/wing.txt): none of its files may send a reader
    there (tests/bench, docs/benchmark.md, make bench, ...). Text only the template needs
    sits between template-only markers, which the hook drops."""
    _, path = project
    mentions = wing_mentions()
    found = [
        f"{name}:{n}: {line.strip()}"
        for name, lines in text_files(path)
        for n, line in enumerate(lines, 1)
        if mentions.search(line.replace(str(ROOT), "<source>"))
    ]
    assert not found, "\n".join(found)


def test_the_wing_scan_finds_what_it_looks_for():
    """The same scan finds wing paths where the template names them, or it could find nothing."""
    mentions = wing_mentions()
    for sample in (
        "see tests/bench/run.py",
        "python -m tests.bench.run",
        "results in docs/benchmark.md.",
        "`make bench-full`",
        "run make profile",
        "make generate OUT=..",
        "cookiecutter template/ and its hooks",
        "tests/generate checks it",
    ):
        assert mentions.search(sample), sample
    for fine in ("helm/x/templates/", "the template's", "tests/unit", "make lint"):
        assert not mentions.search(fine), fine
    assert all((ROOT / part).exists() for part in wing()), "wing.txt names a path that is gone"


def test_the_scan_finds_the_names_in_the_source():
    """Each reference name is found where the source has it, or the scan could find nothing."""
    samples = {
        "pyproject.toml": "streamlit-template",
        "scripts/deploy.py": "ghcr.io/you/app",
        "Makefile": "localhost/streamlit-template",
        "tests/workflows/test_workflows.py": "app.example.org",
        "helm/streamlit-app/values.yaml": "streamlit.example.com",
    }
    for name, sample in samples.items():
        if (ROOT / name).is_file():
            lines = [line for line in (ROOT / name).read_text().splitlines() if sample in line]
            assert lines, (name, sample)
            assert all(LEFTOVERS.search(line) for line in lines), (name, sample)


def test_renamed_lines_fit_the_line_length_with_the_longest_answers():
    """The hook renames whole words (its RENAMES, read from it here): with the longest
    answers its checks allow, no Python line of the project outgrows ruff's limit."""
    hook = ast.parse(HOOK.read_text())
    assigned = {
        node.targets[0].id: node.value
        for node in hook.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    olds = [ast.literal_eval(row.elts[0]) for row in assigned["RENAMES"].elts]
    new = {"IMAGE": 40 + 1 + 30, "DOMAIN": 60, "SLUG": 30}  # registry/slug, domain, slug
    longest = {
        old: new[row.elts[1].id] for old, row in zip(olds, assigned["RENAMES"].elts, strict=True)
    }
    names = re.compile("|".join(rf"(?<!\w){re.escape(old)}(?!\w)" for old in olds))
    limit = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["line-length"]
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "*.py"], capture_output=True, text=True, check=True
    ).stdout.split()
    too_long = [
        f"{name}:{n}"
        for name in files
        if not name.startswith(wing()) and (ROOT / name).is_file()
        for n, line in enumerate((ROOT / name).read_text().splitlines(), 1)
        if names.search(line)
        and len(names.sub(lambda match: "x" * longest[match[0]], line)) > limit
    ]
    assert not too_long
    assert names.search((ROOT / "scripts/deploy.py").read_text())  # the scan can find


def test_answers_are_applied(project):
    answers, path = project
    slug = path.name
    assert slug == answers.get("project_slug", answers["project_name"].lower().replace(" ", "-"))
    assert tomllib.loads((path / "pyproject.toml").read_text())["project"]["name"] == slug
    readme = (path / "README.md").read_text()
    assert readme.startswith(f"# {answers['project_name']}\n")
    assert f"slug `{slug}`" in readme
    # The link cruft update reads: the template as git clones it, its commit, the answers.
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    url = CLONED_FROM[answers["auth"]]
    assert json.loads((path / ".cruft.json").read_text()) == {
        "template": url,
        "commit": head,
        "checkout": None,
        "context": {
            "cookiecutter": {
                **answers,
                "project_slug": slug,
                "_template": url,
                "_commit": head,
            }
        },
        "directory": "template",
    }
    assert f"({url})" in readme.splitlines()[2]
    chart = path / "helm" / slug
    if (ROOT / "helm").is_dir():
        assert yaml.safe_load((chart / "Chart.yaml").read_text())["name"] == slug
        values = yaml.safe_load((chart / "values.yaml").read_text())
        assert values["image"]["repository"] == f"{answers['image_registry']}/{slug}"
        assert values["host"] == answers["domain"]
        assert values["oauth2Proxy"]["enabled"] is (answers["auth"] == "on")


def test_generated_project_is_lint_clean(project):
    """What its `make lint` runs: ruff on Python, shellcheck on the renamed shell scripts,
    actionlint and zizmor on its renamed pipeline."""
    _, path = project
    shellcheck = require_tool("shellcheck", "make test installs it into .venv-scan")
    zizmor = require_tool("zizmor", "make test installs it into .venv-scan")
    actionlint = require_tool(
        "actionlint", "scripts/install-test-deps.sh --lint-tools", (str(TOOLS_BIN),)
    )
    scripts = run_in(path, "git", "ls-files", "*.sh").stdout.split()
    assert "scripts/run-local.sh" in scripts
    assert (path / ".github/workflows/ci.yml").is_file()
    for command in (
        [BIN / "ruff", "check", "--no-cache", "."],
        [BIN / "ruff", "format", "--no-cache", "--check", "."],
        [shellcheck, ".ci/run", *scripts],
        [actionlint, "-no-color"],
        [zizmor, "--offline", "--no-progress", ".github"],
    ):
        result = run_in(path, *command)
        assert result.returncode == 0, result.stdout + result.stderr


def test_generated_project_passes_its_own_tests(project):
    answers, path = project
    result = run_in(
        path,
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *SUBSETS[answers["auth"]],
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (f"image_registry=ghcr.io/{'x' * 40}", "image_registry: 'ghcr.io/xxx"),
        (f"domain={'d' * 60}.org", "domain: 'ddd"),
        ("project_slug=Bad_Slug", "project_slug: 'Bad_Slug' must be 1-30 characters"),
        ("image_registry=https://ghcr.io/x", "image_registry: 'https://ghcr.io/x' must be host"),
        ("domain=dash.example.org/x", "domain: 'dash.example.org/x' must be a lowercase host"),
    ],
)
def test_bad_answers_are_refused_readably(tmp_path: Path, answer: str, message: str):
    result = cookiecutter(tmp_path, str(ROOT), "project_name=Refused", answer)
    assert result.returncode != 0
    assert any(line.startswith(message) for line in result.stderr.splitlines()), result.stderr
    # Cookiecutter logs its own traceback for any failed hook; the hook itself must not crash.
    assert "in <module>" not in result.stderr
    assert not (tmp_path / "refused").exists()
