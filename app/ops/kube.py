"""Kubernetes objects as the chart renders them, read the same way by
`make deploy` (scripts/deploy.py), the values generator and the tests.

Every workload kind's pod spec (a CronJob's included), every container of a
pod (init containers included), and Helm's merge of values files.
"""

from __future__ import annotations

import copy
from typing import Any

Object = dict[str, Any]


def pod_spec(obj: Object) -> Object | None:
    """The pod spec a workload runs, or None for an object that runs no pod."""
    kind, spec = obj["kind"], obj.get("spec", {})
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return spec["template"]["spec"]
    return None


def pod_specs(objects: list[Object]) -> list[tuple[str, Object]]:
    """(object name, pod spec) of every workload among `objects`."""
    return [(o["metadata"]["name"], spec) for o in objects if (spec := pod_spec(o)) is not None]


def containers(spec: Object) -> list[Object]:
    """Every container of a pod spec, init containers first."""
    return [*spec.get("initContainers", []), *spec["containers"]]


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Values merged the way `helm -f a -f b` does: maps deep, everything else replaced."""
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
