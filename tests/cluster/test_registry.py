"""The image as a user ships it: built from this checkout, pushed by `make
push` to a registry (the local cluster's own, distribution on loopback:
cluster/up.sh), signed there with cosign, then deployed by `make deploy` by
its digest. The node pulls it (imagePullPolicy IfNotPresent: nothing was
imported into it), so the reference deployed is the one that was pushed."""

from __future__ import annotations

import uuid

import pytest

from tests.support import registry as registries
from tests.support.cluster import (
    Image,
    deploy_postgres,
    helm_test_passed,
    local_values,
    make_deploy,
    versions,
    write_values,
)
from tests.support.image import podman, podman_env
from tests.support.tools import ROOT

NAMESPACE = "pulled"
RELEASE = "pulled"
PROFILE = ROOT / "helm/streamlit-app/ci/minimal-values.yaml"
NAME = "example/streamlit-template"


@pytest.fixture(scope="module")
def registry(cluster) -> registries.Registry:
    """The cluster's registry (up.sh starts it once install-test-deps.sh --pipeline built it)."""
    found = registries.Registry(f"127.0.0.1:{versions()['CLUSTER_REGISTRY_PORT']}")
    assert registries.answers(found.host), f"cluster/up.sh started no registry on {found.host}"
    return found


@pytest.fixture(scope="module")
def pushed(cluster, registry, app_image: str) -> dict:
    """`make push` of the app image to the cluster's registry; its digest."""
    repository = f"{registry.host}/{NAME}"
    tag = f"test-{uuid.uuid4().hex[:8]}"
    podman("tag", app_image, f"{repository}:{tag}")
    try:
        result = cluster.run(
            "make", "push", f"IMAGE_REPOSITORY={repository}", f"IMAGE_TAG={tag}",
            CONTAINERS_CONF=podman_env()["CONTAINERS_CONF"], check=False,
        )  # fmt: skip
    finally:
        podman("rmi", f"{repository}:{tag}", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    digest = registry.digest(NAME, tag)
    assert (digest or "").startswith("sha256:"), digest
    return {"repository": repository, "tag": tag, "digest": digest}


def test_the_pushed_digest_is_signed_and_verifies(pushed, tmp_path):
    keys = registries.key_pair(tmp_path / "keys")
    reference = f"{pushed['repository']}@{pushed['digest']}"
    signed = registries.sign(reference, keys, tmp_path)
    assert signed.returncode == 0, signed.stderr
    verified = registries.verify(reference, keys.public)
    assert verified.returncode == 0, verified.stderr
    assert pushed["digest"] in verified.stdout
    # A signature by another key is no signature.
    other = registries.key_pair(tmp_path / "other")
    assert registries.verify(reference, other.public).returncode != 0


def test_make_deploy_runs_the_pushed_digest_pulled_from_the_registry(
    cluster, pushed, postgres_image, tmp_path
):
    cluster.namespace(NAMESPACE)
    deploy_postgres(cluster, NAMESPACE, postgres_image)
    values = write_values(
        tmp_path / "pulled.yaml", local_values(), {"image": {"pullPolicy": "IfNotPresent"}}
    )
    result = cluster.run(
        "make", "deploy", f"VALUES={PROFILE} {values}",
        f"IMAGE_REPOSITORY={pushed['repository']}", f"IMAGE_TAG={pushed['tag']}",
        f"IMAGE_DIGEST={pushed['digest']}", f"RELEASE={RELEASE}", f"NAMESPACE={NAMESPACE}",
        "DEPLOY_TIMEOUT=5m", check=False, timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert helm_test_passed(result.stdout), result.stdout[-4000:]
    selector = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=dashboard"
    (pod,) = cluster.pods(NAMESPACE, selector)  # the profile's one replica
    (container,) = pod["spec"]["containers"]
    assert container["image"] == f"{pushed['repository']}@{pushed['digest']}"
    assert container["imagePullPolicy"] == "IfNotPresent"
    # The image the node runs is the manifest pushed (status.image is its config's ID).
    (status,) = pod["status"]["containerStatuses"]
    assert status["imageID"] == f"{pushed['repository']}@{pushed['digest']}", status
    # The first pod to need it (the migrations hook's) pulled it; the others found it.
    events = cluster.kubectl(
        "get", "events", "--namespace", NAMESPACE, "--field-selector", "reason=Pulled",
        "--output", "jsonpath={.items[*].message}",
    )  # fmt: skip
    assert f'Successfully pulled image "{container["image"]}"' in events, events


def test_an_image_missing_from_the_registry_is_refused_before_anything_changes(
    cluster, pushed, registry, tmp_path
):
    values = write_values(tmp_path / "v.yaml", local_values(), {"image": {"pullPolicy": "Always"}})
    missing = Image(pushed["repository"], "never-pushed")
    result = make_deploy(cluster, missing, [PROFILE, values], RELEASE, NAMESPACE)
    assert result.returncode != 0
    assert f"{missing.ref} not in the local cluster's registry" in result.stderr
    assert "make push" in result.stderr
