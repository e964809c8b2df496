"""Refuse bad answers before anything is written: one line per answer, exit 1.

Cookiecutter renders this file with Jinja first; the answers arrive as JSON.
"""

import json
import re
import sys

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

# The slug names the chart and prefixes Kubernetes objects ("<release>-<slug>-dashboard"),
# so it stays a short DNS label.
SLUG = re.compile(r"[a-z]([a-z0-9-]{0,28}[a-z0-9])?")
# Registry and domain are bounded so that renamed lines stay within the line
# length (tests/generate checks the longest answers against every line).
REGISTRY = re.compile(
    r"(?=.{1,40}$)[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+"
)
DOMAIN = re.compile(r"(?=.{4,60}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def problems() -> list[str]:
    name, slug = ANSWERS["project_name"], ANSWERS["project_slug"]
    registry, domain = ANSWERS["image_registry"], ANSWERS["domain"]
    found = []
    if not name.strip() or not name.isprintable():
        found.append(f"project_name: {name!r} must be non-empty printable text on one line")
    if not SLUG.fullmatch(slug):
        found.append(
            f"project_slug: {slug!r} must be 1-30 characters of a-z, 0-9 and '-', "
            "starting with a letter and not ending with '-' (it becomes a Kubernetes name)"
        )
    if not REGISTRY.fullmatch(registry):
        found.append(
            f"image_registry: {registry!r} must be host[:port]/namespace in lowercase, "
            "at most 40 characters, without scheme, image name or trailing '/' "
            "(e.g. ghcr.io/my-org)"
        )
    if not DOMAIN.fullmatch(domain):
        found.append(
            f"domain: {domain!r} must be a lowercase host name of at most 60 characters "
            "such as dash.example.org (no scheme, port or path)"
        )
    return found


if found := problems():
    print("\n".join(found), file=sys.stderr)
    sys.exit(1)
