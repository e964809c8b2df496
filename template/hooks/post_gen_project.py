"""Fill the generated project from the runnable tree this template lives in.

There is one copy of the code: the repository itself. This hook copies its
tracked files (`git ls-files`, minus the generator's own files), renames the
reference names with the explicit table below, switches the auth default and
writes the README header. Cookiecutter renders this file with Jinja first and
runs it in the new project's directory.
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
PACKAGE, SLUG = ANSWERS["package_name"], ANSWERS["project_slug"]
IMAGE = f"{ANSWERS['image_registry']}/{SLUG}"
DOMAIN = ANSWERS["domain"]

# The generator's own files make no sense in a generated project.
EXCLUDED = ("template/", "tests/generate/", "docs/template.md")
# Path prefixes renamed: the Python package and the Helm chart.
MOVES = (("app/", f"{PACKAGE}/"), ("helm/streamlit-app/", f"helm/{SLUG}/"))
# The rename table, applied in order to every text file (most specific first).
# Deliberately kept: the word "app" in prose, create_app, streamlit_app.py, APP_*
# settings, the container's /app working directory and "app" user, app.db,
# app.kubernetes.io labels, other example.com hosts (identity provider, e-mails).
RENAMES = (
    (r"ghcr\.io/example/streamlit-template\b", IMAGE),  # chart default image
    (r"ghcr\.io/you/app\b", IMAGE),  # image in docs and help texts
    (r"\bstreamlit\.example\.com\b", DOMAIN),  # chart default host
    (r"\bapp\.example\.org\b", DOMAIN),  # host in docs
    (r"\bstreamlit-template\b", SLUG),  # project, image and cache names
    (r"\bstreamlit-app\b", SLUG),  # chart, release, namespace, secret names
    (r"\bapp\.(core|api|dashboard|ops)\b", PACKAGE + r".\1"),  # modules
    (r"\b(from|import) app\b", r"\1 " + PACKAGE),
    (r"(?<![\w/.-])app/", PACKAGE + "/"),  # repo-relative paths, not /app or */app/
    (r"(compileall -q) app\b", r"\1 " + PACKAGE),  # docker/Dockerfile
    (r'(/ )"app"', r'\1"' + PACKAGE + '"'),  # pathlib joins in tests
)
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
    for pattern, replacement in RENAMES:
        text = re.sub(pattern, replacement, text)
    return text


def drop_section(path: Path, heading: str, next_heading: str) -> None:
    """Remove a section, from its heading line to the next heading, if present."""
    text = path.read_text()
    pattern = rf"(?ms)^{re.escape(heading)}.*?(?=^{re.escape(next_heading)}|\Z)"
    path.write_text(re.sub(pattern, "", text).rstrip("\n") + "\n")


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
    """The generated README: its own title, where it came from, minus the generator's section."""
    readme = TARGET / "README.md"
    drop_section(readme, "## Using the template", "## ")
    body = re.sub(r"\A# .*\n", "", readme.read_text())  # without the template's title
    header = (
        f"# {ANSWERS['project_name']}\n\n"
        f"> Generated from the Streamlit production template ({ANSWERS['_template']}"
        f"{' at ' + commit if commit else ''}) with: package `{PACKAGE}`, slug `{SLUG}`, "
        f"image `{IMAGE}`, domain `{DOMAIN}`, sign-in (auth) `{ANSWERS['auth']}`. "
        "The answers are in `.template-answers.json`.\n"
    )
    readme.write_text(header + body)


def tidy() -> None:
    """A longer package name can move imports or lines: let ruff settle them if it is here."""
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if not ruff:
        print("template: ruff not found; run `make format` once in the new project")
        return
    for args in (
        ["check", "--fix-only", "--no-cache", "--quiet", "."],
        ["format", "--no-cache", "--quiet", "."],
    ):
        subprocess.run([ruff, *args], cwd=TARGET, check=False)


def allow_lengthened_lines() -> None:
    """Renaming can push a docstring, comment or `fmt: skip` line past the limit, which no
    formatter fixes: name those files in pyproject.toml rather than reword them."""
    limit = int(re.search(r"(?m)^line-length = (\d+)", (TARGET / "pyproject.toml").read_text())[1])
    long = sorted(
        path.relative_to(TARGET).as_posix()
        for path in TARGET.rglob("*.py")
        if any(len(line) > limit for line in path.read_text().splitlines())
    )
    if long:
        with (TARGET / "pyproject.toml").open("a") as pyproject:
            pyproject.write(
                "\n# Added by the template: the renamed package, image or host lengthened a\n"
                "# docstring, comment or unformatted line past line-length in these files.\n"
                "[tool.ruff.lint.extend-per-file-ignores]\n"
                + "".join(f'"{name}" = ["E501"]\n' for name in long)
            )


def init_git() -> None:
    """Stage the files so `git ls-files` (make lint) works; the first commit is the user's."""
    if shutil.which("git"):
        subprocess.run(["git", "init", "--quiet"], cwd=TARGET, check=True)
        subprocess.run(["git", "add", "--all"], cwd=TARGET, check=True)


copy_tree()
if ANSWERS["auth"] == "off":
    switch_auth_off()
drop_section(TARGET / "Makefile", "# --- generation", "# --- ")
write_readme(record_source())
tidy()
allow_lengthened_lines()
init_git()
