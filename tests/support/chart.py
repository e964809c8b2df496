"""The chart as the Helm engine renders it (helm-python-sdk: Helm's own Go code).

``render(profile, values)`` renders one ``ci/*-values.yaml`` profile (or
none) with extra values merged over it, as release ``demo``, and returns the
Kubernetes objects. Shared by tests/chart and tests/deploy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import helm_python
import pytest
import yaml

from tests.support.tools import ROOT

CHART = ROOT / "helm/streamlit-app"
PROFILES = sorted(path.name.removesuffix("-values.yaml") for path in (CHART / "ci").glob("*.yaml"))
RELEASE, NAMESPACE = "demo", "apps"


def profile_values(profile: str | None) -> dict[str, Any]:
    if profile is None:
        return {}
    return yaml.safe_load((CHART / "ci" / f"{profile}-values.yaml").read_text()) or {}


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Values merged the way `helm -f a -f b` does: maps deep, everything else replaced."""
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def chart():
    return helm_python.Chart.load(str(CHART))


@pytest.fixture(scope="session")
def render(chart) -> Render:
    def render(profile: str | None = None, values: dict[str, Any] | None = None):
        merged = merge(profile_values(profile), values or {})
        chart.validate_schema(merged)
        manifests = chart.render(merged, name=RELEASE, namespace=NAMESPACE, is_install=True)
        return [
            document
            for path, text in sorted(manifests.items())
            if path.endswith((".yaml", ".yml"))
            for document in yaml.safe_load_all(text)
            if document
        ]

    return render


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    (found,) = [o for o in by_kind(objects, kind) if o["metadata"]["name"].endswith(suffix)]
    return found


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(name, pod spec) of every Deployment, Job and Pod."""
    specs = []
    for o in objects:
        if o["kind"] in ("Deployment", "Job"):
            specs.append((o["metadata"]["name"], o["spec"]["template"]["spec"]))
        elif o["kind"] == "Pod":
            specs.append((o["metadata"]["name"], o["spec"]))
    return specs


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]
