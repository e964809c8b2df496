"""Fill the generated project from the runnable tree this template lives in.

There is one copy of the code: the repository itself. This hook copies its
tracked files (`git ls-files`) except the template's own wing (listed once, in
template/wing.txt), renames the project's names with the table below, switches
the auth default and writes the README header. The Python package keeps its
name, `app`, as in the FastAPI full-stack template: the project is named by its
slug (pyproject, image, chart), and no import is rewritten. Cookiecutter
renders this file with Jinja first and runs it in the new project's directory.

Two programs run it. Cookiecutter (`make generate`, `cookiecutter URL`) names
the template's checkout (``_repo_dir``); the hook then also writes
``.cruft.json``, the project's link to the template, and runs ``git init``.
cruft (``cruft create``, and ``cruft update``/``cruft diff``, which generate the
project again at two commits and apply the difference) names only the template
(``_template``) and the commit (``_commit``): the hook clones that commit, and
writes neither ``.cruft.json`` (cruft keeps its own) nor a ``.git`` (which would
land in cruft's diff).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")
TARGET = Path.cwd()
SLUG = ANSWERS["project_slug"]
IMAGE = f"{ANSWERS['image_registry']}/{SLUG}"
DOMAIN = ANSWERS["domain"]
# Cookiecutter names its checkout of the template; cruft does not.
BY_COOKIECUTTER = "_repo_dir" in ANSWERS
# Where the questions live in the template's repository (cookiecutter's --directory).
DIRECTORY = "template"
# cookiecutter's abbreviations, written out as git (and cruft) clone them.
ABBREVIATIONS = {
    "gh": "https://github.com/{}.git",
    "gl": "https://gitlab.com/{}.git",
    "bb": "https://bitbucket.org/{}",
}

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


def git(*args: str, cwd: Path | None = None) -> str:
    """`git ARGS`' output, or stop with git's own message."""
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        fail(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def template_url() -> str:
    """The template as git, and so `cruft update`, can clone it again."""
    url = re.sub(r"^git\+", "", ANSWERS["_template"])
    prefix, _, rest = url.partition(":")
    if prefix in ABBREVIATIONS and rest and "//" not in rest:
        return ABBREVIATIONS[prefix].format(rest)
    if "://" not in url and not re.match(r"^[\w.-]+@[\w.-]+:", url):  # a folder on this machine
        # The command line's folder; cookiecutter keeps its own cwd, not PWD, for the hook.
        return str(Path(os.environ.get("PWD", "."), url).absolute())
    return url


def checkout_of_the_template(stack: ExitStack) -> Path:
    """The root of the template's repository at the version being generated.

    Cookiecutter: its own checkout (for a folder, its working tree, uncommitted
    edits of tracked files included). cruft: a clone of ``_template`` at ``_commit``,
    removed when the hook ends.
    """
    if BY_COOKIECUTTER:
        repo_dir = Path(ANSWERS["_repo_dir"])
        if not repo_dir.is_absolute():
            repo_dir = Path(os.environ.get("PWD", "."), repo_dir)
        return repo_dir.absolute().parent
    clone = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="template-"))) / "repo"
    git("clone", "--quiet", "--no-checkout", ANSWERS["_template"], str(clone))
    git("checkout", "--quiet", ANSWERS["_commit"], cwd=clone)
    return clone


def wing(source: Path) -> tuple[str, ...]:
    """The template's own paths (template/wing.txt): none of them is the project's."""
    lines = (source / DIRECTORY / "wing.txt").read_text().splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def tracked_files(source: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-z"], capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        why = listed.stderr.strip()
        fail(f"{source} must be a git checkout of the template repository ({why})")
    excluded = wing(source)
    return [f for f in listed.stdout.split("\0") if f and not f.startswith(excluded)]


def target_path(relative: str) -> Path:
    for old, new in MOVES:
        if relative.startswith(old):
            relative = new + relative.removeprefix(old)
    return TARGET / relative


def rename(text: str) -> str:
    names = dict(RENAMES)
    return TEMPLATE_ONLY.sub("", RENAME.sub(lambda match: names[match[0]], text))


def copy_tree(source: Path) -> None:
    for relative in tracked_files(source):
        path, target = source / relative, target_path(relative)
        if not path.is_file():  # deleted in the working tree, not yet committed
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        try:
            text = path.read_text(encoding="utf-8")
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


def write_link(source: Path, url: str) -> None:
    """.cruft.json as `cruft create` writes it: the template, its commit and the answers,
    what `cruft update` generates the project again from. Under cruft, cruft writes it."""
    path = TARGET / ".cruft.json"
    if not BY_COOKIECUTTER:
        path.unlink()
        return
    commit = git("-C", str(source), "rev-parse", "HEAD").strip()
    answers = {k: v for k, v in ANSWERS.items() if not k.startswith("_")}
    link = {
        "template": url,
        "commit": commit,
        "checkout": ANSWERS.get("_checkout"),
        "context": {"cookiecutter": {**answers, "_template": url, "_commit": commit}},
        "directory": DIRECTORY,
    }
    path.write_text(json.dumps(link, ensure_ascii=False, indent=2) + "\n")


def write_readme(url: str) -> None:
    """The generated README: its own title and where it came from (no commit: the
    header stays the same from one template version to the next)."""
    readme = TARGET / "README.md"
    body = re.sub(r"\A# .*\n", "", readme.read_text())  # without the template's title
    header = (
        f"# {ANSWERS['project_name']}\n\n"
        f"> Generated from the Streamlit production template ({url}) with: slug `{SLUG}`, "
        f"image `{IMAGE}`, domain `{DOMAIN}`, sign-in (auth) `{ANSWERS['auth']}`. "
        "The template, its commit and the answers are in `.cruft.json`, which "
        "`cruft update` reads to bring in the template's later changes.\n"
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
    """Stage the files so `git ls-files` (make lint) works; the first commit is the user's.
    Not under cruft: its update diffs two generated trees, a .git in them included."""
    if BY_COOKIECUTTER and shutil.which("git"):
        subprocess.run(["git", "init", "--quiet"], cwd=TARGET, check=True)
        subprocess.run(["git", "add", "--all"], cwd=TARGET, check=True)


with ExitStack() as cleanup:
    SOURCE = checkout_of_the_template(cleanup)
    URL = template_url()
    copy_tree(SOURCE)
    if ANSWERS["auth"] == "off":
        switch_auth_off()
    write_link(SOURCE, URL)
    write_readme(URL)
tidy()
init_git()
