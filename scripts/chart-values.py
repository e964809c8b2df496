#!/usr/bin/env python3
"""Write a chart's values documentation and schema from its values.yaml, the one source.

    scripts/chart-values.py helm/streamlit-app          # writes both files
    scripts/chart-values.py helm/streamlit-app --check  # exits 1 if one is stale

Every key has a `# --` comment (its description) or is a section whose keys
have theirs. The README's table (between <!-- values:start --> and
<!-- values:end -->) lists each documented key with its default. The schema
types each key from its default (a section is an object that admits no other
key), refined by an optional `# @schema {...}` line in the key's comment: a
JSON fragment merged over what the default says (constraints, enums, optional
keys). `# @schema-definitions {...}` at the top holds shared fragments, used
as {"$ref": "#/definitions/<name>"}. `appSettings` admits exactly the app's
settings, read from app/core/settings.py.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.core.settings import ENV_PREFIX, SECRETS_DIR_VARIABLE, Settings

START, END = "<!-- values:start -->", "<!-- values:end -->"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?P<rest>.*)$")
SETTINGS_KEY = "appSettings"


def annotated_keys(text: str) -> tuple[dict[str, str], dict[str, dict], dict]:
    """(description by dotted key, schema fragment by dotted key, shared definitions)."""
    descriptions, fragments, definitions = {}, {}, {}
    stack: list[str] = []
    comment: list[str] | None = None
    fragment: dict | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("# @schema-definitions "):
            definitions = _json(stripped.removeprefix("# @schema-definitions "), number)
            continue
        if stripped.startswith("# @schema "):
            fragment = _json(stripped.removeprefix("# @schema "), number)
            continue
        if stripped.startswith("# --"):
            comment = [stripped[4:].strip()]
            continue
        if stripped.startswith("#") and comment is not None:
            comment.append(stripped[1:].strip())
            continue
        match = KEY.match(line)
        if not match or line.lstrip().startswith("- "):
            if stripped:
                comment = fragment = None
            continue
        depth = len(match["indent"]) // 2
        stack[depth:] = [match["key"]]
        dotted = ".".join(stack)
        if comment is not None:
            descriptions[dotted] = " ".join(comment)
        if fragment is not None:
            fragments[dotted] = fragment
        comment = fragment = None
    return descriptions, fragments, definitions


def _json(text: str, number: int) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        sys.exit(f"values.yaml:{number}: @schema is not JSON: {error}")


def _merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _inferred(value: Any) -> dict:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        kinds = {json.dumps(_inferred(item)) for item in value}
        return {"type": "array", **({"items": json.loads(kinds.pop())} if len(kinds) == 1 else {})}
    return {"type": "object"}


def schema_of(values: Any, dotted: str, descriptions: dict, fragments: dict) -> dict:
    """A documented key is typed by its default; an undocumented mapping is a section."""
    if dotted in descriptions or not isinstance(values, dict):
        node = _inferred(values)
    else:
        node = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                key: schema_of(value, f"{dotted}.{key}".lstrip("."), descriptions, fragments)
                for key, value in values.items()
            },
        }
    if dotted == SETTINGS_KEY:
        names = [f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields]
        node["propertyNames"] = {"enum": sorted([*names, SECRETS_DIR_VARIABLE])}
    if "$ref" in fragments.get(dotted, {}):
        return fragments[dotted]  # a shared definition says it all
    return _merge(node, fragments.get(dotted, {}))


def schema(chart: Path) -> str:
    text = (chart / "values.yaml").read_text()
    descriptions, fragments, definitions = annotated_keys(text)
    name = yaml.safe_load((chart / "Chart.yaml").read_text())["name"]
    document = {
        "$schema": "https://json-schema.org/draft-07/schema#",
        "title": f"{name} values (generated by scripts/chart-values.py from values.yaml)",
        **({"definitions": definitions} if definitions else {}),
        **schema_of(yaml.safe_load(text), "", descriptions, fragments),
    }
    return json.dumps(document, indent=2) + "\n"


def leaves(values: Any, prefix: str = "") -> list[str]:
    if isinstance(values, dict) and values:
        return [leaf for k, v in values.items() for leaf in leaves(v, f"{prefix}{k}.")]
    return [prefix.rstrip(".")]


def table(chart: Path) -> str:
    text = (chart / "values.yaml").read_text()
    values = yaml.safe_load(text)
    descriptions, _, _ = annotated_keys(text)
    undocumented = [
        leaf
        for leaf in leaves(values)
        if not any(leaf == k or leaf.startswith(k + ".") for k in descriptions)
    ]
    if undocumented:
        sys.exit(f"{chart}/values.yaml: no '# --' comment for {', '.join(undocumented)}")
    lines = ["| Key | Default | Description |", "| --- | --- | --- |"]
    for key, description in descriptions.items():
        default = values
        for part in key.split("."):
            default = default[part]
        cells = (json.dumps(default), description)
        default, description = (cell.replace("|", r"\|") for cell in cells)
        lines.append(f"| `{key}` | `{default}` | {description} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart", type=Path)
    parser.add_argument("--check", action="store_true", help="fail if an output is out of date")
    args = parser.parse_args()
    readme = args.chart / "README.md"
    current = readme.read_text()
    before, rest = current.split(START, 1)
    _, after = rest.split(END, 1)
    outputs = {
        readme: f"{before}{START}\n{table(args.chart)}\n{END}{after}",
        args.chart / "values.schema.json": schema(args.chart),
    }
    stale = [path for path, text in outputs.items() if path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path}: out of date with values.yaml; run {sys.argv[0]} {args.chart}")
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path])
    return 0


if __name__ == "__main__":
    sys.exit(main())
