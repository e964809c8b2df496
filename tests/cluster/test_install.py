"""The chart's minimal profile installed by `make deploy` on the local cluster,
in a namespace that enforces Pod Security "restricted": the migrations hook,
`helm test`, sticky sessions through the Service's ClientIP affinity, upgrades
that roll pods only when their configuration changes, and rollback."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from app.core import migrate
from tests.support import sticky
from tests.support.cluster import (
    deploy_postgres,
    helm_test_passed,
    local_values,
    make_deploy,
    write_values,
)
from tests.support.tools import ROOT, free_port

NAMESPACE = "minimal"
RELEASE = "minimal"
DASHBOARD = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=dashboard"
SMOKE_TEST = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=smoke-test"
PROFILE = ROOT / "helm/streamlit-app/ci/minimal-values.yaml"
FULLNAME = f"{RELEASE}-streamlit-app"  # the prefix of the release's objects
ROLLUP_SCHEDULE = "0 0 31 12 *"  # 31 December, midnight


@pytest.fixture(scope="module")
def installed(cluster, cluster_app_image, postgres_image, tmp_path_factory):
    """The minimal profile with 3 dashboard replicas and the rollup CronJob (once
    a year: the test starts its Job itself, and a scheduled run beside it would
    only rebuild the same table), as a user would deploy it."""
    cluster.namespace(NAMESPACE)
    deploy_postgres(cluster, NAMESPACE, postgres_image)
    tmp = tmp_path_factory.mktemp("minimal")
    local = write_values(
        tmp / "local.yaml",
        local_values(),
        {"dashboard": {"replicaCount": 3}, "rollup": {"schedule": ROLLUP_SCHEDULE}},
    )
    result = make_deploy(cluster, cluster_app_image, [PROFILE, local], RELEASE, NAMESPACE)
    assert result.returncode == 0, result.stdout + result.stderr
    return {"result": result, "values": [PROFILE, local], "tmp": tmp}


def test_make_deploy_runs_helm_test_as_its_gate(cluster, installed):
    """The smoke pod passed and is gone (hook-succeeded), so `helm uninstall`,
    which leaves hooks, has none to leave. (Its report is not read from `helm
    test --logs`, which fails on a pod deleted once it passed.)"""
    output = installed["result"].stdout
    assert helm_test_passed(output), output
    left = cluster.kubectl(
        "get", "pods", "--namespace", NAMESPACE, "--output", "name",
        "--selector", SMOKE_TEST,
    )  # fmt: skip
    assert left.strip() == ""


def test_make_deploy_states_a_connection_budget_the_database_allows(cluster, installed):
    # helm prints the chart's NOTES after the upgrade; the budget is counted
    # in tests/chart/test_connection_budget.py, the server's limit read here.
    budget = re.search(r"at most (\d+) PostgreSQL connections", installed["result"].stdout)
    assert budget, installed["result"].stdout
    allowed = int(sql(cluster, "SELECT current_setting('max_connections')::int - 3"))
    assert 0 < int(budget.group(1)) <= allowed


def sql(cluster, query: str) -> str:
    """One value from the cluster's PostgreSQL, through psql in its pod."""
    return cluster.kubectl(
        "exec", "--namespace", NAMESPACE, "deployment/postgresql", "--",
        "psql", "--host=/tmp", "--username=app", "--dbname=app", "--tuples-only",
        "--no-align", f"--command={query}",
    ).strip()  # fmt: skip


def test_the_migrations_hook_migrated_the_database(cluster, installed):
    assert sql(cluster, "SELECT version_num FROM alembic_version") == migrate.head()
    # The hook Job deletes itself once it succeeded (hook-delete-policy).
    selector = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=migrations"
    jobs = cluster.json("get", "jobs", "--namespace", NAMESPACE, "--selector", selector)
    assert jobs["items"] == []


@pytest.mark.reference
def test_the_rollup_cronjob_rebuilds_daily_sales_from_new_orders(cluster, installed):
    """An order loaded by hand is in the rollup once the CronJob's pod ran,
    admitted under "restricted" and reaching the database under its policy.
    (The reference app's `rollup` command, on its demo orders, seeded here.)"""
    cluster.kubectl(
        "exec", "--namespace", NAMESPACE, f"deployment/{FULLNAME}-api", "--",
        "python3", "-m", "app.core", "seed", "--rows", "500", timeout=300,
    )  # fmt: skip
    rollup_orders = "SELECT coalesce(sum(orders), 0) FROM daily_sales"
    before = int(sql(cluster, rollup_orders))
    sql(
        cluster,
        "INSERT INTO orders (id, order_date, region_id, product_id, quantity, unit_price, amount)"
        " SELECT max(id) + 1, max(order_date), 1, 1, 1, 10, 10 FROM orders",
    )
    assert int(sql(cluster, rollup_orders)) == before  # not in the rollup yet
    job = "rollup-by-hand"
    namespaced = ("--namespace", NAMESPACE)
    cluster.kubectl("create", "job", job, f"--from=cronjob/{FULLNAME}-rollup", *namespaced)
    try:
        cluster.kubectl(
            "wait", f"job/{job}", "--for=condition=Complete", "--timeout=180s", *namespaced,
            timeout=200,
        )  # fmt: skip
        logs = cluster.kubectl("logs", f"job/{job}", *namespaced)
        assert "rebuilt daily_sales from the orders" in logs
        assert int(sql(cluster, rollup_orders)) == before + 1
        assert int(sql(cluster, rollup_orders)) == int(sql(cluster, "SELECT count(*) FROM orders"))
    finally:
        cluster.kubectl("delete", "job", job, "--wait=true", *namespaced)


def test_restricted_admission_rejects_a_pod_without_hardening(cluster, installed, tmp_path):
    """A pod as most examples write it (no securityContext) is refused outright."""
    bad = tmp_path / "bad-pod.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\n"
        "spec:\n  containers:\n    - name: bad\n      image: localhost/pause:catatonit\n"
    )
    result = cluster.run(
        "kubectl", "apply", "--namespace", NAMESPACE, "--filename", str(bad), check=False
    )
    assert result.returncode != 0
    assert 'violates PodSecurity "restricted' in result.stderr


def _service_url(cluster, stack) -> str:
    ip = cluster.kubectl(
        "get", "service", f"{FULLNAME}-dashboard", "--namespace", NAMESPACE,
        "--output", "jsonpath={.spec.clusterIP}",
    )  # fmt: skip
    return stack.enter_context(cluster.reach(f"{ip}:80"))


def test_client_ip_affinity_keeps_a_session_on_one_replica(cluster, installed):
    """Three replicas behind the Service: every upload reaches the session's
    replica. With affinity off, the same visit loses uploads to other replicas
    (so this test can fail)."""
    assert len(cluster.pods(NAMESPACE, DASHBOARD)) == 3
    with contextlib.ExitStack() as stack:
        url = _service_url(cluster, stack)
        visit = sticky.visit(url, {})
        assert visit.pinned, visit.upload_statuses
        service = f"service/{FULLNAME}-dashboard"
        cluster.kubectl(
            "patch", service, "--namespace", NAMESPACE, "--patch",
            '{"spec": {"sessionAffinity": "None"}}',
        )  # fmt: skip
        try:
            cluster.wait_for_affinity(NAMESPACE, service, expected=False)
            unpinned = sticky.visit(url, {}, uploads=12)
            assert 400 in unpinned.upload_statuses, unpinned.upload_statuses
        finally:
            cluster.kubectl(
                "patch", service, "--namespace", NAMESPACE, "--patch",
                '{"spec": {"sessionAffinity": "ClientIP"}}',
            )  # fmt: skip
            cluster.wait_for_affinity(NAMESPACE, service, expected=True)


def _dashboard_pod_uids(cluster) -> set[str]:
    return {pod["metadata"]["uid"] for pod in cluster.pods(NAMESPACE, DASHBOARD)}


def test_an_upgrade_rolls_pods_only_when_their_configuration_changes(
    cluster, cluster_app_image, installed
):
    before = _dashboard_pod_uids(cluster)
    same = make_deploy(cluster, cluster_app_image, installed["values"], RELEASE, NAMESPACE)
    assert same.returncode == 0, same.stdout + same.stderr
    assert _dashboard_pod_uids(cluster) == before

    changed = write_values(installed["tmp"] / "ttl.yaml", {"appSettings": {"APP_CACHE_TTL": "120"}})
    result = make_deploy(
        cluster, cluster_app_image, [*installed["values"], changed], RELEASE, NAMESPACE
    )
    assert result.returncode == 0, result.stdout + result.stderr
    after = _dashboard_pod_uids(cluster)
    assert len(after) == 3
    assert not after & before


def test_an_image_missing_from_the_node_is_refused_before_anything_changes(
    cluster, cluster_app_image, installed
):
    """The local cluster pulls nothing: said at once, not after the rollout's timeout."""
    missing = type(cluster_app_image)(cluster_app_image.repository, "never-loaded")
    result = make_deploy(cluster, missing, installed["values"], RELEASE, NAMESPACE)
    assert result.returncode != 0
    assert f"{missing.ref} not on the cluster's node" in result.stderr
    assert "make cluster-load" in result.stderr


def _broken_settings(installed) -> Path:
    """Values that render and install but whose pods cannot start: the app
    refuses a malformed setting at start-up."""
    return write_values(
        installed["tmp"] / "broken.yaml", {"appSettings": {"APP_DB_POOL_SIZE": "many"}}
    )


def test_a_failed_rollout_rolls_back_to_the_working_revision(cluster, cluster_app_image, installed):
    """A failed upgrade that also changed a secret: the workloads come back,
    the hook Secret keeps the new value and the schema stays where it was
    (chart README: what a rollback does not undo)."""
    secret = f"{FULLNAME}-secrets"
    changed = write_values(
        installed["tmp"] / "changed-secret.yaml",
        {"secrets": {"STREAMLIT_SERVER_COOKIE_SECRET": "set-by-a-failed-upgrade"}},
    )
    values = [*installed["values"], changed, _broken_settings(installed)]
    result = make_deploy(cluster, cluster_app_image, values, RELEASE, NAMESPACE, timeout="90s")
    assert result.returncode != 0
    assert "helm upgrade failed; rolled back" in result.stderr
    _assert_failing_pods_shown(result.stderr)
    history = json.loads(
        cluster.run("helm", "history", RELEASE, "--namespace", NAMESPACE, "-o", "json").stdout
    )
    assert history[-1]["description"].startswith("Rollback to")
    env = cluster.kubectl(
        "get", "deployment", f"{FULLNAME}-dashboard", "--namespace", NAMESPACE,
        "--output", "jsonpath={.spec.template.spec.containers[0].env[*].name}",
    )  # fmt: skip
    assert "APP_DB_POOL_SIZE" not in env.split()
    # And it still serves: the in-cluster smoke checks pass against the rolled-back release.
    cluster.run("helm", "test", RELEASE, "--namespace", NAMESPACE, timeout=300)
    # Not undone: the hook Secret holds what the failed upgrade wrote ...
    value = cluster.kubectl(
        "get", "secret", secret, "--namespace", NAMESPACE,
        "--output", "jsonpath={.data.STREAMLIT_SERVER_COOKIE_SECRET}",
    )  # fmt: skip
    assert base64.b64decode(value) == b"set-by-a-failed-upgrade"
    # ... and nothing downgraded the schema: still the code's newest migration.
    head = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()
    assert sql(cluster, "SELECT version_num FROM alembic_version") == head


@pytest.mark.parametrize(
    ("repository", "tag", "refusal"),
    [
        ("localhost/app", "abc123", "is a local image, which the cluster of context elsewhere"),
        ("ghcr.io/acme/app", "abc123-dirty", "was built from uncommitted changes"),
    ],
)
def test_images_only_this_machine_has_go_only_to_the_local_cluster(
    cluster, installed, repository: str, tag: str, refusal: str
):
    """The same cluster under another context name stands for any real one."""
    kubeconfig = installed["tmp"] / "elsewhere.kubeconfig"
    kubeconfig.write_text(cluster.kubeconfig.read_text())
    current = cluster.kubectl("config", "current-context", "--kubeconfig", str(kubeconfig))
    cluster.kubectl(
        "config", "rename-context", current.strip(), "elsewhere", "--kubeconfig", str(kubeconfig)
    )
    result = cluster.run(
        "make", "deploy", f"VALUES={' '.join(map(str, installed['values']))}",
        f"IMAGE_REPOSITORY={repository}", f"IMAGE_TAG={tag}", f"RELEASE={RELEASE}",
        f"NAMESPACE={NAMESPACE}", check=False, KUBECONFIG=str(kubeconfig),
    )  # fmt: skip
    assert result.returncode != 0
    assert refusal in result.stderr
    revision = cluster.run("helm", "status", RELEASE, "--namespace", NAMESPACE, "-o", "json")
    assert '"status":"deployed"' in revision.stdout.replace(" ", "")


def test_a_failing_smoke_gate_rolls_back_a_release_that_rolled_out(
    cluster, cluster_app_image, installed
):
    """The rollout is fine but the checks from outside fail (here: nothing
    answers at SMOKE_URL): back to the revision that ran before."""
    before = json.loads(
        cluster.run("helm", "status", RELEASE, "--namespace", NAMESPACE, "-o", "json").stdout
    )["version"]
    result = make_deploy(
        cluster, cluster_app_image, installed["values"], RELEASE, NAMESPACE,
        smoke_url=f"http://127.0.0.1:{free_port()}",
    )  # fmt: skip
    assert result.returncode != 0
    assert "FAIL dashboard-health" in result.stdout
    assert f"failed; rolled back to revision {before}, which ran before" in result.stderr
    history = json.loads(
        cluster.run("helm", "history", RELEASE, "--namespace", NAMESPACE, "-o", "json").stdout
    )
    assert history[-1]["description"] == f"Rollback to {before}"


def _assert_failing_pods_shown(stderr: str) -> None:
    """make deploy printed, before it rolled back, a failing pod of the new
    revision (the migrations hook's, the first to read the malformed setting,
    or a dashboard's): its state, the app's refusal of the setting from the
    pod's logs, and its events."""
    shown = stderr[: stderr.index("make deploy: helm upgrade failed")]
    assert re.search(r"make deploy: pod \S+-(migrate|dashboard)-\S+: \w+", shown), stderr
    assert re.search(r"^    .*APP_DB_POOL_SIZE", shown, re.MULTILINE), stderr
    assert "  events:\n    " in shown, stderr


def test_a_failing_first_install_leaves_nothing_behind(
    cluster, cluster_app_image, installed, tmp_path
):
    namespace = cluster.namespace("broken-first")
    values = write_values(
        tmp_path / "v.yaml",
        local_values(),
        {"migrations": {"enabled": False, "schemaManagedElsewhere": True}},
    )
    result = make_deploy(
        cluster, cluster_app_image, [PROFILE, values, _broken_settings(installed)], "broken",
        namespace, timeout="60s",
    )  # fmt: skip
    assert result.returncode != 0
    assert "it was a first install, so it was uninstalled" in result.stderr
    _assert_failing_pods_shown(result.stderr)
    # Nor the hooks `helm uninstall` leaves: the chart's Secret above all.
    left = cluster.kubectl(
        "get", "secrets,jobs", "--namespace", namespace, "--output", "name",
        "--selector", "app.kubernetes.io/instance=broken",
    )  # fmt: skip
    assert left.strip() == ""
    status = cluster.run("helm", "status", "broken", "--namespace", namespace, check=False)
    assert status.returncode != 0
    assert "not found" in status.stderr
    cluster.kubectl("delete", "namespace", namespace, "--wait=false")
