"""Fill the generated project from the runnable tree this template lives in.

There is one copy of the code: the repository itself. This hook copies its
tracked files (`git ls-files`) except the template's own wing (the generator,
the benchmark, their tests), renames the project's names with the table
below, switches the auth default and writes the README header. The Python
package keeps its name, `app`, as in the FastAPI full-stack template: the
project is named by its slug (pyproject, image, chart), and no import is
rewritten. Cookiecutter renders this file with Jinja first and runs it in the
new project's directory.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")
SOURCE = Path(ANSWERS["_repo_dir"]).parent
TARGET = Path.cwd()
SLUG = ANSWERS["project_slug"]
IMAGE = f"{ANSWERS['image_registry']}/{SLUG}"
DOMAIN = ANSWERS["domain"]

# The template's own wing: what builds and proves the template, not the project.
# The Makefile and README mark their template-only parts (TEMPLATE_ONLY below).
EXCLUDED = ("template/", "tests/generate/", "tests/bench/", "docs/template.md", "docs/profile.md")
# The chart's folder is named after the project.
MOVES = (("helm/streamlit-app/", f"helm/{SLUG}/"),)
# The names replaced in every text file: (old, new), as whole words.
RENAMES = (
    ("ghcr.io/example/streamlit-template", IMAGE),  # the chart's default image
    ("ghcr.io/you/app", IMAGE),  # the image in docs and help texts
    ("streamlit.example.com", DOMAIN),  # the chart's default host
    ("app.example.org", DOMAIN),  # the host in docs
    ("streamlit-template", SLUG),  # project, local image and cache names
    ("streamlit-app", SLUG),  # chart, release, namespace and Secret names
)
RENAME = re.compile("|".join(rf"(?<!\w){re.escape(old)}(?!\w)" for old, _ in RENAMES))
# Lines from a START marker to its END marker (both included) are the template's.
TEMPLATE_ONLY = re.compile(r"(?ms)^[^\n]*template-only:start[^\n]*\n.*?template-only:end[^\n]*\n")
# Auth off: the chart's default (the local compose edge keeps its sign-in).
AUTH_OFF = (
    ("values.yaml", r"(?m)^(oauth2Proxy:\n(?:  #.*\n)*  enabled: )true$", r"\1false"),
    ("README.md", r"(\| `oauth2Proxy\.enabled` \| )`true`", r"\1`false`"),
)


def fail(message: str) -> None:
    print(f"template: {message}", file=sys.stderr)
    sys.exit(1)


def tracked_files() -> list[str]:
    result = subprocess.run(
        ["git", "-C", str(SOURCE), "ls-files", "-z"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        fail(
            f"{SOURCE} must be a git checkout of the template repository ({result.stderr.strip()})"
        )
    return [f for f in result.stdout.split("\0") if f and not f.startswith(EXCLUDED)]


def target_path(relative: str) -> Path:
    for old, new in MOVES:
        if relative.startswith(old):
            relative = new + relative.removeprefix(old)
    return TARGET / relative


def rename(text: str) -> str:
    names = dict(RENAMES)
    return TEMPLATE_ONLY.sub("", RENAME.sub(lambda match: names[match[0]], text))


def copy_tree() -> None:
    for relative in tracked_files():
        source, target = SOURCE / relative, target_path(relative)
        if not source.is_file():  # deleted in the working tree, not yet committed
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        try:
            text = source.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary: copied as is
        target.write_text(rename(text), encoding="utf-8")


def switch_auth_off() -> None:
    chart = TARGET / "helm" / SLUG
    if not chart.is_dir():
        return
    for name, pattern, replacement in AUTH_OFF:
        path = chart / name
        text, count = re.subn(pattern, replacement, path.read_text())
        if count != 1:
            fail(f"{path.relative_to(TARGET)}: oauth2Proxy.enabled default not found to switch off")
        path.write_text(text)
    # The ci/ profiles are the chart's tested configurations (and the README's starting
    # points): one that relied on the default keeps the sign-in it was written for.
    for profile in sorted(chart.glob("ci/*-values.yaml")):
        text = profile.read_text()
        if not re.search(r"(?m)^oauth2Proxy:", text):
            text += "oauth2Proxy:\n  enabled: true  # this profile is the one with sign-in\n"
        elif not re.search(r"(?m)^oauth2Proxy:\n(?:  .*\n)*?  enabled:", text):
            text = re.sub(r"(?m)^oauth2Proxy:\n", "oauth2Proxy:\n  enabled: true\n", text)
        profile.write_text(text)


def record_source() -> str:
    """Add where the project came from to the answers file (what an update regenerates from)."""
    commit = subprocess.run(
        ["git", "-C", str(SOURCE), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    path = TARGET / ".template-answers.json"
    recorded = json.loads(path.read_text())
    recorded.update(template=ANSWERS["_template"], template_commit=commit)
    path.write_text(json.dumps(recorded, indent=2) + "\n")
    return commit[:12]


def write_readme(commit: str) -> None:
    """The generated README: its own title and where it came from."""
    readme = TARGET / "README.md"
    body = re.sub(r"\A# .*\n", "", readme.read_text())  # without the template's title
    header = (
        f"# {ANSWERS['project_name']}\n\n"
        f"> Generated from the Streamlit production template ({ANSWERS['_template']}"
        f"{' at ' + commit if commit else ''}) with: slug `{SLUG}`, "
        f"image `{IMAGE}`, domain `{DOMAIN}`, sign-in (auth) `{ANSWERS['auth']}`. "
        "The answers are in `.template-answers.json`.\n"
    )
    readme.write_text(header + body)


def tidy() -> None:
    """Shorter names can let ruff join lines it had split: format if ruff is here."""
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if not ruff:
        print("template: ruff not found; run `make format` once in the new project")
        return
    subprocess.run([ruff, "format", "--no-cache", "--quiet", "."], cwd=TARGET, check=False)


def init_git() -> None:
    """Stage the files so `git ls-files` (make lint) works; the first commit is the user's."""
    if shutil.which("git"):
        subprocess.run(["git", "init", "--quiet"], cwd=TARGET, check=True)
        subprocess.run(["git", "add", "--all"], cwd=TARGET, check=True)


copy_tree()
if ANSWERS["auth"] == "off":
    switch_auth_off()
write_readme(record_source())
tidy()
init_git()
