"""Refuse bad answers before anything is written: one line per answer, exit 1.

Cookiecutter renders this file with Jinja first; the answers arrive as JSON.
"""

import json
import keyword
import re
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")
SOURCE = Path(ANSWERS["_repo_dir"]).parent  # the runnable tree the template copies

# The slug names the chart and prefixes Kubernetes objects ("<release>-<slug>-dashboard"),
# so it stays a short DNS label.
SLUG = re.compile(r"[a-z]([a-z0-9-]{0,28}[a-z0-9])?")
PACKAGE = re.compile(r"[a-z_][a-z0-9_]*")
REGISTRY = re.compile(r"[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+")
DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
# Import names of locked dependencies that differ from their distribution names.
IMPORT_ALIASES = {"yaml", "dateutil", "jwt", "git", "google", "attr", "pkg_resources", "_pytest"}


def taken_names() -> set[str]:
    """Import names a package must not shadow: the locked dependencies and the top-level folders."""
    names = set(IMPORT_ALIASES)
    for lock in SOURCE.glob("requirements/*.txt"):
        for line in lock.read_text().splitlines():
            if match := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==", line):
                names.add(re.sub(r"[-.]+", "_", match[1]).lower())
    names.update(p.name for p in SOURCE.iterdir() if p.is_dir() and p.name != "app")
    return names


def problems() -> list[str]:
    name, slug = ANSWERS["project_name"], ANSWERS["project_slug"]
    package, registry, domain = (
        ANSWERS["package_name"],
        ANSWERS["image_registry"],
        ANSWERS["domain"],
    )
    found = []
    if not name.strip() or not name.isprintable():
        found.append(f"project_name: {name!r} must be non-empty printable text on one line")
    if not SLUG.fullmatch(slug):
        found.append(
            f"project_slug: {slug!r} must be 1-30 characters of a-z, 0-9 and '-', "
            "starting with a letter and not ending with '-' (it becomes a Kubernetes name)"
        )
    if not PACKAGE.fullmatch(package) or keyword.iskeyword(package):
        found.append(
            f"package_name: {package!r} must be a lowercase Python identifier (a-z, 0-9, '_')"
        )
    elif package in sys.stdlib_module_names or package in taken_names():
        found.append(
            f"package_name: {package!r} would shadow a standard library module, "
            "a dependency or a project folder; pick another name"
        )
    if not REGISTRY.fullmatch(registry):
        found.append(
            f"image_registry: {registry!r} must be host[:port]/namespace in lowercase, "
            "without scheme, image name or trailing '/' (e.g. ghcr.io/my-org)"
        )
    if not DOMAIN.fullmatch(domain):
        found.append(
            f"domain: {domain!r} must be a lowercase host name such as dash.example.org "
            "(no scheme, port or path)"
        )
    return found


if found := problems():
    print("\n".join(found), file=sys.stderr)
    sys.exit(1)
