"""What the API server would refuse before anything runs: names longer than their
kind allows at Helm's longest release name, and values that YAML reads as a
number or a boolean where Kubernetes wants a string."""

from __future__ import annotations

from collections import Counter

import kubernetes_validate
import pytest

from app.ops.kube import pod_specs
from tests.chart.test_render import CUSTOM_KINDS, KUBERNETES_VERSIONS
from tests.support.chart import PROFILES, by_kind, crd_errors, named, profile_values

# Helm refuses release names longer than 53 characters.
LONGEST_RELEASE = "analytics-dashboard-for-the-regional-sales-teams-2026"
# A CronJob's name is at most 52 (its Jobs add a timestamp); every other name
# the chart makes is a DNS label, at most 63.
NAME_LIMITS = {"CronJob": 52}
# Every object the chart can make, in one render per profile.
EVERYTHING = {
    "rollup": {"schedule": "@hourly"},
    "dashboard": {"autoscaling": {"enabled": True}},
    "api": {"autoscaling": {"enabled": True}},
    "ingress": {"securityHeaders": True},
    "metrics": {
        "podMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "grafanaDashboard": {"enabled": True},
    },
    "database": {"maxConnections": 0},
}


def _references(objects: list[dict]) -> set[tuple[str, str]]:
    """(kind, name) of what objects point at by name: Services behind routes,
    Deployments behind autoscalers, ConfigMaps, Secrets and ServiceAccounts of pods."""
    refs = set()
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] == "Ingress":
            for rule in spec["rules"]:
                for path in rule["http"]["paths"]:
                    refs.add(("Service", path["backend"]["service"]["name"]))
        elif obj["kind"] == "HTTPRoute":
            refs |= {("Service", b["name"]) for r in spec["rules"] for b in r["backendRefs"]}
        elif obj["kind"] == "HorizontalPodAutoscaler":
            refs.add(("Deployment", spec["scaleTargetRef"]["name"]))
    for _, spec in pod_specs(objects):
        if "serviceAccountName" in spec:  # hooks run as the namespace's default
            refs.add(("ServiceAccount", spec["serviceAccountName"]))
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                refs.add(("ConfigMap", volume["configMap"]["name"]))
            if "secret" in volume:
                refs.add(("Secret", volume["secret"]["secretName"]))
    return refs


@pytest.mark.parametrize("profile", PROFILES)
def test_every_name_fits_its_kind_at_the_longest_release_name(render, profile: str):
    assert len(LONGEST_RELEASE) == 53
    objects = render(profile, EVERYTHING, name=LONGEST_RELEASE)
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    for kind, name in names:
        assert len(name) <= NAME_LIMITS.get(kind, 63), (kind, name, len(name))
        assert not name.endswith("-"), (kind, name)
    assert [n for n, count in Counter(names).items() if count > 1] == []
    # What the objects name is what the chart made (or the user's existing Secret).
    existing = profile_values(profile).get("secrets", {}).get("existingSecret")
    assert _references(objects) - set(names) - {("Secret", existing)} == set()
    # The Services the pods are told to call exist under those names.
    services = {n for kind, n in names if kind == "Service"}
    env = {
        e["name"]: e.get("value", "")
        for _, spec in pod_specs(objects)
        for c in spec["containers"]
        for e in c.get("env", [])
    }
    assert env["APP_API_URL"].split("//")[1].split(":")[0] in services
    if "APP_DATABASE_VIA" in env:
        assert env["APP_DATABASE_VIA"].split(":")[0] in services


def test_the_rollup_cronjob_fits_52_characters(render):
    objects = render("minimal", {"rollup": {"schedule": "@hourly"}}, name=LONGEST_RELEASE)
    (cronjob,) = by_kind(objects, "CronJob")
    assert len(cronjob["metadata"]["name"]) <= 52
    assert cronjob["metadata"]["name"].endswith("-rollup")


# --- strings stay strings -------------------------------------------------------

# Values YAML reads as something else when a template does not quote them: ingress-nginx's
# "no limit" (0), a cookie named true, names and namespaces of digits.
AMBIGUOUS = [
    (
        "production",
        {
            "ingress": {
                "maxBodySize": "0",
                "stickyCookieName": "true",
                "className": "true",
                "tls": {"secretName": "1"},
            },
            "networkPolicy": {"edgeNamespaces": ["123"]},
            "metrics": {"scrapeNamespaces": ["456"], "podMonitor": {"enabled": True}},
            "serviceAccount": {"name": "true"},
        },
    ),
    ("traefik", {"ingress": {"stickyCookieName": "true", "securityHeaders": True}}),
    ("gateway", {"gateway": {"sessionPersistence": {"enabled": True, "sessionName": "true"}}}),
    ("existing-secret", {"secrets": {"existingSecret": "true"}, "fullnameOverride": "1234"}),
    ("monitoring", {"fullnameOverride": "1234"}),
]


@pytest.mark.parametrize(("profile", "values"), AMBIGUOUS, ids=[p for p, _ in AMBIGUOUS])
def test_templated_strings_stay_strings(render, profile: str, values: dict):
    """Rendered in namespace "2024" as release "1234": every object still valid for
    Kubernetes (strictly: an annotation, label, name or selector value that YAML read
    as a number or boolean is refused), and the ambiguous values arrive as given."""
    objects = render(profile, values, name="1234", namespace="2024")
    for obj in objects:
        assert isinstance(obj["metadata"]["name"], str), obj["kind"]
        assert obj["metadata"]["namespace"] == "2024", obj["kind"]
        for field in ("labels", "annotations"):
            for key, value in obj["metadata"].get(field, {}).items():
                assert isinstance(value, str), (obj["kind"], field, key, value)
        if obj["kind"] == "HTTPRoute":
            assert crd_errors(obj, "httproute-v1-experimental.json") == []
        elif obj["kind"] == "PodMonitor":
            assert crd_errors(obj, "podmonitor-v1.json") == []
        elif obj["kind"] not in CUSTOM_KINDS | {"Middleware"}:
            kubernetes_validate.validate(obj, KUBERNETES_VERSIONS[-1], strict=True)
    if profile == "production":
        annotations = named(objects, "Ingress", "-uploads")["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "0"
        assert annotations["nginx.ingress.kubernetes.io/session-cookie-name"] == "true"
    if profile == "traefik":
        service = named(objects, "Service", "-dashboard")["metadata"]["annotations"]
        assert service["traefik.ingress.kubernetes.io/service.sticky.cookie.name"] == "true"
    if profile == "gateway":
        (rule,) = named(objects, "HTTPRoute", "")["spec"]["rules"]
        assert rule["sessionPersistence"]["sessionName"] == "true"
