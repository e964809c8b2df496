"""What a release is on its first install and what it leaves after `helm
uninstall`, as far as the rendered objects say (tests/cluster/test_install.py
runs them on a cluster): a schema nobody creates is refused, autoscaled
Deployments start at the autoscaler's minimum, the test pod goes once it passed.
"""

from __future__ import annotations

import helm_python
import pytest

from tests.support.chart import by_kind


def test_migrations_off_needs_a_statement_that_the_schema_is_managed_elsewhere(render):
    """Without the migrations hook nothing creates the schema and the API's /readyz
    waits for it forever: refused at render, naming both values."""
    with pytest.raises(
        helm_python.HelmError,
        match=r"migrations\.enabled=false: .*Set migrations\.schemaManagedElsewhere=true",
    ):
        render("minimal", {"migrations": {"enabled": False}})
    objects = render("minimal", {"migrations": {"enabled": False, "schemaManagedElsewhere": True}})
    assert not [j for j in by_kind(objects, "Job") if j["metadata"]["name"].endswith("-migrate")]
    assert [
        j for j in by_kind(render("minimal"), "Job") if j["metadata"]["name"].endswith("-migrate")
    ]


@pytest.mark.parametrize("profile", ["production", "pgbouncer"])
def test_an_autoscaled_deployment_starts_at_the_autoscalers_minimum(render, profile: str):
    """Without replicas a new Deployment starts at 1 pod, and `--wait` and `helm
    test` pass there, below minReplicas, before the autoscaler's first sync."""
    objects = render(profile, {"api": {"autoscaling": {"enabled": True, "minReplicas": 3}}})
    deployments = {d["metadata"]["name"]: d for d in by_kind(objects, "Deployment")}
    autoscalers = by_kind(objects, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in autoscalers} >= {
        name for name in deployments if name.endswith(("-dashboard", "-api"))
    }
    for autoscaler in autoscalers:
        deployment = deployments[autoscaler["spec"]["scaleTargetRef"]["name"]]
        assert deployment["spec"]["replicas"] == autoscaler["spec"]["minReplicas"], autoscaler


def test_the_test_pod_is_deleted_once_it_passes(render):
    """`helm uninstall` leaves hooks behind: a passed smoke pod must not wait for it.
    A failed one stays for its logs (make deploy prints them, then deletes it)."""
    (pod,) = [
        o for o in by_kind(render("minimal"), "Pod")
        if o["metadata"]["annotations"]["helm.sh/hook"] == "test"
    ]  # fmt: skip
    policies = pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"].split(",")
    assert set(policies) == {"before-hook-creation", "hook-succeeded"}
