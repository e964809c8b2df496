"""The chart as the Helm engine renders it (helm-python-sdk: Helm's own Go code).

``render(profile, values)`` renders one ``ci/*-values.yaml`` profile (or
none) with extra values merged over it, as release ``demo`` (or ``name=``, in
``namespace=``), and returns the Kubernetes objects (read them with
app.ops.kube); ``notes(...)`` the same render's NOTES.txt. Shared by
tests/chart and tests/deploy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import helm_python
import jsonschema
import pytest
import yaml

from app.ops.kube import merge
from tests.support.tools import ROOT

CHART = ROOT / "helm/streamlit-app"
CRD_SCHEMAS = ROOT / "tests/chart/schemas"
PROFILES = sorted(path.name.removesuffix("-values.yaml") for path in (CHART / "ci").glob("*.yaml"))
RELEASE, NAMESPACE = "demo", "apps"


def profile_values(profile: str | None) -> dict[str, Any]:
    if profile is None:
        return {}
    return yaml.safe_load((CHART / "ci" / f"{profile}-values.yaml").read_text()) or {}


Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def chart():
    return helm_python.Chart.load(str(CHART))


def _manifests(chart, profile: str | None, values: dict[str, Any] | None, **release: str):
    merged = merge(profile_values(profile), values or {})
    chart.validate_schema(merged)
    release = {"name": RELEASE, "namespace": NAMESPACE, **release}
    return chart.render(merged, is_install=True, **release)


@pytest.fixture(scope="session")
def render(chart) -> Render:
    """render(profile, values, name=RELEASE, namespace=NAMESPACE): the objects."""

    def render(profile: str | None = None, values: dict[str, Any] | None = None, **release: str):
        manifests = _manifests(chart, profile, values, **release)
        return [
            document
            for path, text in sorted(manifests.items())
            if path.endswith((".yaml", ".yml"))
            for document in yaml.safe_load_all(text)
            if document
        ]

    return render


@pytest.fixture(scope="session")
def notes(chart) -> Callable[..., str]:
    """notes(profile, values, name=..., namespace=...): NOTES.txt as `helm install` prints it."""

    def notes(profile: str | None = None, values: dict[str, Any] | None = None, **release: str):
        manifests = _manifests(chart, profile, values, **release)
        (text,) = [text for path, text in manifests.items() if path.endswith("/NOTES.txt")]
        return text

    return notes


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    (found,) = [o for o in by_kind(objects, kind) if o["metadata"]["name"].endswith(suffix)]
    return found


def _strict(schema: Any) -> Any:
    """A CRD's structural schema as the API server applies it under strict field
    validation (Helm 4's server-side apply): a field the schema does not name is
    an error, not silently pruned."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_strict(item) for item in schema]
    return schema


def crd_errors(obj: dict[str, Any], schema_file: str) -> list[str]:
    """What the CRD's schema (tests/chart/schemas/`schema_file`), applied strictly,
    finds wrong in `obj`: one "path: message" per error."""
    schema = json.loads((CRD_SCHEMAS / schema_file).read_text())
    validator = jsonschema.Draft7Validator(_strict(schema))
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)
    ]
