"""A second app on the platform, as a user brings theirs: the platform's proof must hold.

A project is generated ("Fleet Monitor", sign-in on) with real cookiecutter, its
reference app replaced by scripts/remove-reference-app.sh, then a fixture app of its
own put in (tests/generate/fixture_app/: a CSV upload with a chart and st.data_editor,
notes written through a form into a table of its own, its migration made with
`make migration`, a load scenario for its notes page) and committed. Then, with this
repository's interpreter: the project's `make lint`; its platform layers in one pytest
run (unit, integration, smoke, container with the image built from its own
Dockerfile, kube play, compose with a sign-in in Chromium); and, on its `make run`,
Chromium using both pages and `make loadtest` on the notes page with the fixture's
scenario. The heaviest layers run for this one project only.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.generate.generation import generate, git, overlay, run_in
from tests.support.browser import screenshot
from tests.support.run_local import run_local
from tests.support.tools import ROOT, TOOLS_BIN, missing, require_tool

SCAN_VENV = ROOT / ".venv-scan"
# The reference app's widgets and captions: no test of the project may name them.
REFERENCE_TEXTS = ("Order dates", "Revenue:", "Forecast months", "Regions", "Signed in as")
# The project's platform layers, one pytest run (the heaviest for this project only).
LAYERS = (
    "tests/unit",
    "tests/integration",
    "tests/smoke",
    "tests/container",
    "tests/chart/test_kube_play.py",
    "tests/compose",
)
CSV = "time,speed,fuel\n2026-01-01T08:00,52.5,80\n2026-01-01T08:05,61.0,78\n2026-01-01T08:10,0,77\n"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The project at each step: generated, reference app removed, fixture app in."""
    out = tmp_path_factory.mktemp("your-app")
    project = generate(out, str(ROOT), "project_name=Fleet Monitor", "auth=on")
    git(project, "commit", "--quiet", "--message", "Generated")
    removed = run_in(project, "scripts/remove-reference-app.sh", VENV=sys.prefix)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    git(project, "commit", "--quiet", "--message", "The reference app removed")
    overlay(project)
    git(project, "rm", "--quiet", "app/dashboard/pages/home.py")  # the starter's page
    migration = run_in(project, "make", "migration", "MESSAGE=notes", f"VENV={sys.prefix}")
    assert migration.returncode == 0, migration.stdout + migration.stderr
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "Fleet Monitor's own app")
    # As its README says: the project links the Go tools (oauth2-proxy, helm, actionlint)
    # that this template's run built, shared by tool and version, instead of building them.
    tools = run_in(project, "scripts/install-test-deps.sh", "--go-tools")
    assert tools.returncode == 0, tools.stdout + tools.stderr
    assert "[go tools" not in tools.stdout, tools.stdout  # nothing built again
    return {"project": project, "removal": removed.stdout}


def test_the_removal_leaves_a_starter_and_a_migration_dropping_the_reference_tables(fleet):
    project = fleet["project"]
    for gone in (
        "app/core/seed.py",
        "app/api/forecast.py",
        "app/dashboard/data.py",
        "tests/reference",
    ):
        assert not (project / gone).exists(), gone
    assert not (project / "scripts/remove-reference-app.sh").exists()  # it removed itself
    removed_test = "tests/cluster/test_install.py::test_the_rollup_cronjob_rebuilds_daily_sales"
    assert removed_test in fleet["removal"]
    assert "mark.reference" not in (project / "tests/cluster/test_install.py").read_text()
    versions = sorted(p.name for p in (project / "app/core/migrations/versions").glob("0*.py"))
    assert versions[-2:] == ["0003_remove_the_reference_app_s_tables.py", "0004_notes.py"]
    dropped = (project / "app/core/migrations/versions" / versions[-2]).read_text()
    order = re.findall(r'op\.drop_table\("(\w+)"\)', dropped)
    assert sorted(order) == ["daily_sales", "orders", "products", "regions", "saved_views"]
    # Each before the tables it references (PostgreSQL refuses the other way).
    for child in ("orders", "daily_sales"):
        assert order.index(child) < min(order.index("regions"), order.index("products"))
    notes = (project / "app/core/migrations/versions/0004_notes.py").read_text()
    assert 'op.create_table(\n        "notes"' in notes
    starter = git(project, "show", "HEAD~1:app/dashboard/streamlit_app.py")
    assert 'session.run([st.Page("pages/home.py", title="Home", default=True)])' in starter


def test_no_test_of_the_project_names_a_reference_widget_or_caption(fleet):
    listed = git(fleet["project"], "ls-files", "tests").split()
    found = [
        f"{name}: {text}"
        for name in listed
        for text in REFERENCE_TEXTS
        if text in (fleet["project"] / name).read_text(errors="replace")
    ]
    assert not found
    # Each is the reference app's (so the scan looks for what was there).
    reference = "".join(
        (ROOT / name).read_text()
        for name in (
            "app/dashboard/streamlit_app.py",
            "app/dashboard/pages/overview.py",
            "app/ops/scenarios/dashboard.toml",
        )
    )
    assert all(text in reference for text in REFERENCE_TEXTS)


def test_the_removal_refuses_a_second_run_and_a_folder_without_git(fleet, tmp_path: Path):
    project = fleet["project"]
    script = project / "scripts/remove-reference-app.sh"
    script.write_text(git(project, "show", "HEAD~2:scripts/remove-reference-app.sh"))
    script.chmod(0o755)
    try:
        again = run_in(project, script, VENV=sys.prefix)
    finally:
        script.unlink()
    assert again.returncode == 2
    assert again.stderr.splitlines() == [
        "remove-reference-app: app/dashboard/data.py is gone: "
        "the reference app is already removed (or in part)"
    ]
    assert git(project, "status", "--porcelain") == ""  # nothing touched
    outside = tmp_path / "no-git"
    (outside / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts/remove-reference-app.sh", outside / "scripts")
    refused = run_in(outside, outside / "scripts/remove-reference-app.sh")
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"remove-reference-app: {outside} is not the root of a git checkout: "
        "run it in your project (git init first)"
    ]


def test_make_lint_passes(fleet):
    for tool in ("actionlint", "helm"):
        require_tool(tool, "scripts/install-test-deps.sh --lint-tools", (str(TOOLS_BIN),))
    if not (SCAN_VENV / ".scan").is_file():
        missing(f"{SCAN_VENV} (the scanners' environment)", "make test (or make .venv-scan/.scan)")
    result = run_in(
        fleet["project"], "make", "--no-print-directory", "lint", f"VENV={sys.prefix}",
        f"SCAN_VENV={SCAN_VENV}",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


@pytest.mark.timeout(3600)
def test_the_projects_platform_layers_pass(fleet):
    """One pytest run in the project over its platform layers. A layer that skips there
    (a missing tool) skips or fails here the same way, CI=true passed along."""
    result = run_in(
        fleet["project"], sys.executable, "-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider",
        "--tb=short", "--show-capture=no", *LAYERS, timeout=3300,
    )  # fmt: skip
    tail = result.stdout[-12000:] + result.stderr[-3000:]
    assert result.returncode == 0, tail
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), tail
    if "skipped" in summary:
        skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
        missing("what the project's layers need", "\n".join(skips))


def notes_stored(data_dir: Path) -> int:
    with contextlib.closing(sqlite3.connect(data_dir / "app.db")) as db:
        return db.execute("SELECT count(*) FROM notes").fetchone()[0]


def test_a_person_uses_both_pages_and_the_notes_page_holds_its_load_test(fleet, page, tmp_path):
    from playwright.sync_api import expect

    project = fleet["project"]
    csv = tmp_path / "readings.csv"
    csv.write_text(CSV)
    with run_local(tmp_path, root=project) as local:
        url, data_dir = local.dashboard_url, local.data_dir
        # The process's first session, on the status page: no "Page not found" over it
        # (Streamlit's first-session check of a pages/ folder, app/dashboard/__main__.py).
        page.goto(f"{url}/_platform")
        expect(page.get_by_text("checks: 1", exact=True)).to_be_visible(timeout=60_000)
        expect(page.locator('[data-testid="stDialog"]')).to_have_count(0)
        page.goto(url)  # the default page: readings
        expect(page.get_by_role("heading", name="Fleet readings")).to_be_visible(timeout=60_000)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
        expect(page.get_by_text("rows: 3", exact=True)).to_be_visible(timeout=60_000)
        expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible()
        expect(page.locator('[data-testid="stVegaLiteChart"]')).to_be_visible()
        screenshot(page, "your-app-readings.png")

        page.goto(f"{url}/notes")
        expect(page.get_by_text("notes: 0", exact=True)).to_be_visible(timeout=60_000)
        page.get_by_label("Note", exact=True).fill("Van 7: brakes checked")
        page.get_by_role("button", name="Save note").click()
        expect(page.get_by_text("notes: 1", exact=True)).to_be_visible(timeout=60_000)
        screenshot(page, "your-app-notes.png")
        assert notes_stored(data_dir) == 1

        loaded = run_in(
            project, "make", "--no-print-directory", "loadtest", f"URL={url}",
            f"VENV={sys.prefix}", "SCENARIO=app/ops/scenarios/notes.toml",
            "LOADTEST_ARGS=--sessions 4 --reruns 8 --seconds 120",
        )  # fmt: skip
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        assert "4 sessions, 32/32 reruns" in loaded.stdout
        assert "errors: none" in loaded.stdout
        # The sessions saved notes: the load reached the table through the form.
        assert notes_stored(data_dir) > 1
