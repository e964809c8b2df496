#!/usr/bin/env python3
"""Write the values table of a chart's README from the `# --` comments in values.yaml.

    scripts/chart-values-table.py helm/streamlit-app          # rewrites README.md
    scripts/chart-values-table.py helm/streamlit-app --check  # exits 1 if stale

The table sits between <!-- values:start --> and <!-- values:end -->. A key
with a `# --` comment is a row (its default is the parsed value); a key
without one must be a section whose keys have theirs, else it is an error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

START, END = "<!-- values:start -->", "<!-- values:end -->"
KEY = re.compile(r"^(?P<indent> *)(?:- )?(?P<key>[A-Za-z0-9_.-]+):(?P<rest>.*)$")


def documented_keys(text: str) -> list[tuple[str, str]]:
    """(dotted key, description) for every key preceded by a `# --` comment."""
    rows, stack, comment = [], [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            comment = [stripped[4:].strip()]
            continue
        if stripped.startswith("#") and comment is not None:
            comment.append(stripped[1:].strip())
            continue
        match = KEY.match(line)
        if not match or line.lstrip().startswith("- "):
            comment = None if not stripped else comment
            continue
        depth = len(match["indent"]) // 2
        stack[depth:] = [match["key"]]
        if comment is not None:
            rows.append((".".join(stack), " ".join(comment)))
        comment = None
    return rows


def lookup(values: dict, dotted: str):
    for part in dotted.split("."):
        values = values[part]
    return values


def leaves(values, prefix: str = "") -> list[str]:
    if isinstance(values, dict) and values:
        return [leaf for k, v in values.items() for leaf in leaves(v, f"{prefix}{k}.")]
    return [prefix.rstrip(".")]


def table(chart: Path) -> str:
    text = (chart / "values.yaml").read_text()
    values = yaml.safe_load(text)
    rows = documented_keys(text)
    keys = [key for key, _ in rows]
    undocumented = [
        leaf
        for leaf in leaves(values)
        if not any(leaf == k or leaf.startswith(k + ".") for k in keys)
    ]
    if undocumented:
        sys.exit(f"{chart}/values.yaml: no '# --' comment for {', '.join(undocumented)}")
    lines = ["| Key | Default | Description |", "| --- | --- | --- |"]
    for key, description in rows:
        default = json.dumps(lookup(values, key)).replace("|", r"\|")
        description = description.replace("|", r"\|")
        lines.append(f"| `{key}` | `{default}` | {description} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart", type=Path)
    parser.add_argument("--check", action="store_true", help="fail if README.md is out of date")
    args = parser.parse_args()
    readme = args.chart / "README.md"
    current = readme.read_text()
    before, rest = current.split(START, 1)
    _, after = rest.split(END, 1)
    updated = f"{before}{START}\n{table(args.chart)}\n{END}{after}"
    if args.check:
        if updated != current:
            print(f"{readme}: values table out of date; run {sys.argv[0]} {args.chart}")
            return 1
        return 0
    readme.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
