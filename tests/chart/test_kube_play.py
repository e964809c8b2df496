"""The rendered dashboard and API pods run by `podman kube play` from the image under test.

What the test changes in the rendered objects before playing, and why:
- Secrets become ConfigMaps with the same keys (podman 4.3 crashes on
  `secret` volumes); the files the containers see are the same.
- Each container port gets a hostPort on 127.0.0.1, so the host can probe it.
- The database URL names an SQLite file in the pod's data volume: no
  PostgreSQL runs inside the pods' network here. The test migrates it with the
  image's own `migrate` command, as the chart's hook Job would (the API's
  readiness needs the schema).
podman does not run probes itself: the test calls every probe path, or runs
every probe command in its container.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Iterator

import pytest
import requests
import yaml

from tests.support.chart import named
from tests.support.image import podman
from tests.support.status import status
from tests.support.tools import free_port, wait_until

DATABASE_URL = "sqlite:////app/data/app.db"


def _as_config_map(secret: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": secret["metadata"]["name"]},
        "data": secret["stringData"],
    }


def _playable(objects: list[dict]) -> tuple[list[dict], dict[str, int]]:
    """Deployments, ConfigMaps and the Secret as a ConfigMap; host ports by port name."""
    played, host_ports = [], {}
    for obj in objects:
        if obj["kind"] == "Secret":
            played.append(_as_config_map(obj))
        elif obj["kind"] == "ConfigMap":
            played.append(obj)
        elif obj["kind"] == "Deployment":
            deployment = copy.deepcopy(obj)
            spec = deployment["spec"]["template"]["spec"]
            for volume in spec["volumes"]:
                if secret := volume.pop("secret", None):
                    volume["configMap"] = {"name": secret["secretName"], "items": secret["items"]}
            for container in spec["containers"]:
                for port in container.get("ports", []):
                    host_ports[port["name"]] = port["hostPort"] = free_port()
                    port["hostIP"] = "127.0.0.1"
            played.append(deployment)
    return played, host_ports


@pytest.fixture(scope="module")
def played(render, app_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    repository, tag = app_image.rsplit(":", 1)
    objects = render(
        "minimal",
        {
            "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
            "secrets": {"APP_DATABASE_URL": DATABASE_URL},
        },
    )
    manifests, host_ports = _playable(objects)
    path = tmp_path_factory.mktemp("kube") / "play.yaml"
    path.write_text(yaml.safe_dump_all(manifests))
    result = podman("kube", "play", str(path), check=False, timeout=300)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield objects, host_ports
    finally:
        podman("kube", "down", str(path), check=False, timeout=120)
        # kube down keeps the volumes its ConfigMaps became (podman 4.3).
        for config_map in (m for m in manifests if m["kind"] == "ConfigMap"):
            podman("volume", "rm", "--force", config_map["metadata"]["name"], check=False)


def _pod_container(objects: list[dict], component: str, container: str) -> str:
    """podman's name for a container of a played Deployment (<deployment>-pod-N-<container>)."""
    deployment = named(objects, "Deployment", f"-{component}")["metadata"]["name"]
    names = podman("ps", "--format", "{{.Names}}").stdout.split()
    (name,) = [
        n for n in names if n.startswith(f"{deployment}-pod") and n.endswith(f"-{container}")
    ]
    return name


def _status(url: str) -> int:
    """`url`'s status, 0 for no answer."""
    with contextlib.suppress(requests.RequestException):
        return requests.get(url, timeout=3).status_code
    return 0


def _status_is_200(url: str) -> bool:
    return _status(url) == 200


def _succeeds(container: str, command: list[str]) -> bool:
    """Whether `command`, run in `container` as the kubelet runs an exec probe, exits 0."""
    return podman("exec", container, *command, check=False, timeout=30).returncode == 0


@pytest.mark.parametrize("component", ["dashboard", "api"])
def test_every_probe_answers(played, component: str):
    objects, host_ports = played
    spec = named(objects, "Deployment", f"-{component}")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    names = {p["containerPort"]: p["name"] for p in container["ports"]}
    if component == "api":
        # Ready means migrated: the chart's migrations hook (not played here)
        # does this before the pods start; each pod has its own SQLite file.
        migrated = podman("exec", _pod_container(objects, "api", "api"), "python3", "-m",
                          "app.core", "migrate", timeout=300)  # fmt: skip
        assert migrated.returncode == 0
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        if "exec" in container[kind]:  # a command the kubelet runs in the container
            command = container[kind]["exec"]["command"]
            name = _pod_container(objects, component, component)
            what = f"exit 0 from {command} in {name}"
            check = functools.partial(_succeeds, name, command)
        else:
            probe = container[kind]["httpGet"]
            port = probe["port"] if isinstance(probe["port"], str) else names[probe["port"]]
            url = f"http://127.0.0.1:{host_ports[port]}{probe['path']}"
            what = f"a 200 from {url}"
            check = functools.partial(_status_is_200, url)
        try:
            wait_until(check, what, 90, interval=0.5)
        except AssertionError as error:
            raise AssertionError(f"{kind}: {error}\n{_logs(objects, component)}") from None


def _logs(objects, component: str) -> str:
    result = podman("logs", _pod_container(objects, component, component), check=False)
    return (result.stdout + result.stderr)[-3000:]


def test_pods_run_as_the_chart_says(played):
    objects, _ = played
    name = _pod_container(objects, "dashboard", "dashboard")
    assert podman("exec", name, "id", "-u").stdout.strip() == "10001"
    # Read-only root; the secret is a read-only file where the settings read it.
    assert podman("exec", name, "touch", "/app/x", check=False).returncode != 0
    url = podman("exec", name, "cat", "/run/secrets/APP_DATABASE_URL").stdout
    assert url == DATABASE_URL
    assert podman("exec", name, "touch", "/tmp/x", check=False).returncode == 0


def test_dashboard_pod_serves_the_status_page_from_the_database(played):
    """The platform's status page through the pod's Streamlit port: the script runs
    and its query reaches the database named by the chart's secret (migrated by the
    image's own `migrate` command here, as the chart's hook would)."""
    objects, host_ports = played
    name = _pod_container(objects, "dashboard", "dashboard")
    migrated = podman("exec", name, "python3", "-m", "app.core", "migrate", timeout=300)
    assert migrated.returncode == 0
    shown = status(f"http://127.0.0.1:{host_ports['streamlit']}")
    assert shown.run.status == "FINISHED_SUCCESSFULLY", shown.run
    assert not shown.run.exceptions, shown.run.exceptions
    assert shown.database_ok, shown.lines
