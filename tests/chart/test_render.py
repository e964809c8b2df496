"""Every values profile rendered, linted and validated, and what users rely on asserted."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import helm_python
import kubernetes_validate
import pytest
import yaml

from app.core.settings import ConfigError, load_settings
from app.ops.kube import containers, merge, pod_specs
from tests.support.chart import CHART, PROFILES, by_kind, crd_errors, named, profile_values
from tests.support.tools import ROOT

# The three newest minor versions the bundled schemas know (1.35-1.37 today).
KUBERNETES_VERSIONS = sorted(
    kubernetes_validate.utils.all_versions(), key=lambda v: tuple(map(int, v.split(".")))
)[-3:]
# Custom resources have no schema in kubernetes-validate; each is checked
# against its project's own CRD schema (tests/chart/schemas/): HTTPRoute and
# TraefikService below, PodMonitor and PrometheusRule in test_monitoring.py.
CUSTOM_KINDS = {"HTTPRoute", "PodMonitor", "PrometheusRule", "TraefikService"}


def test_profiles_exist():
    assert {"minimal", "production", "gateway", "existing-secret", "traefik-no-auth"} <= set(
        PROFILES
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_lint_is_clean(profile: str):
    result = helm_python.lint(str(CHART), profile_values(profile), strict=True)
    assert result["errors"] == []
    # Only the INFO "icon is recommended" (no icon is published for this chart).
    assert [m for m in result["messages"] if m["severity"] > 1] == [], result["messages"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_object_is_valid_for_kubernetes(render, profile: str, version: str):
    objects = render(profile)
    assert objects
    for obj in objects:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        # strict: a misspelled field (livenessProb) is an error, not ignored.
        kubernetes_validate.validate(obj, version, strict=True)


def test_strict_validation_catches_a_misspelled_field(render):
    """The validator really rejects what a typo in a template would produce."""
    deployment = named(render("minimal"), "Deployment", "-api")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenessProb"] = container.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


# --- sticky sessions ---------------------------------------------------------


def test_service_pins_clients_by_default(render):
    service = named(render("minimal"), "Service", "-dashboard")
    assert service["spec"]["sessionAffinity"] == "ClientIP"
    assert service["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] > 0


def test_nginx_ingress_sets_cookie_affinity_and_websocket_timeouts(render):
    ingress = named(render("production"), "Ingress", "-streamlit-app")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/affinity-mode"] == "persistent"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "50m"
    # The sidecar's sign-in redirect of a long link: the buffer our own nginx has.
    buffers = (ROOT / "nginx/snippets/oauth2-buffers.conf").read_text()
    size = annotations["nginx.ingress.kubernetes.io/proxy-buffer-size"]
    assert f"proxy_buffer_size {size};" in buffers
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"].endswith("-dashboard")


def test_nginx_ingress_never_takes_a_pod_out_for_an_answer_and_bounds_uploads(render):
    """As our nginx: the next pod on a connection error or timeout only, once; per
    address 500 connections and 20 requests/s (bursts of 200); uploads, the one
    path that takes a body, in an Ingress of their own bounded to 8 at once."""
    objects = render("production")
    site, uploads = (
        named(objects, "Ingress", "-streamlit-app"),
        named(objects, "Ingress", "-uploads"),
    )
    nginx = (ROOT / "nginx/site.conf").read_text()  # the edge's locations and limits
    for ingress in (site, uploads):
        annotations = ingress["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/proxy-next-upstream"] == "error timeout"
        assert annotations["nginx.ingress.kubernetes.io/proxy-next-upstream-tries"] == "2"
        assert annotations["nginx.ingress.kubernetes.io/limit-rps"] == "20"
        assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert "limit_req zone=per_client burst=200 nodelay;" in nginx  # 20 x 10
    limit = "nginx.ingress.kubernetes.io/limit-connections"
    assert site["metadata"]["annotations"][limit] == "500"
    assert uploads["metadata"]["annotations"][limit] == "8"
    assert "limit_conn uploads_per_client 8;" in nginx
    (path,) = uploads["spec"]["rules"][0]["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/_stcore/upload_file/", "Prefix")


def _edge_headers() -> dict[str, str]:
    """The security headers nginx sends, from its snippet."""
    text = (ROOT / "nginx/snippets/security-headers.conf").read_text()
    return dict(re.findall(r'^add_header (\S+) "([^"]*)" always;', text, re.M))


def test_the_ingresses_send_the_edges_own_security_headers_when_asked(render):
    headers = _edge_headers()
    assert "Content-Security-Policy" in headers
    on = {"ingress": {"securityHeaders": True}}
    snippet_key = "nginx.ingress.kubernetes.io/configuration-snippet"
    ingress = named(render("production", on), "Ingress", "-streamlit-app")
    snippet = ingress["metadata"]["annotations"][snippet_key]
    for name, value in headers.items():
        assert f'more_set_headers "{name}: {value}";' in snippet, name
    assert "proxy_cookie_flags _streamlit_xsrf secure;" in snippet
    objects = render("traefik", on)
    middleware = named(objects, "Middleware", "-headers")["spec"]["headers"]
    assert middleware["contentSecurityPolicy"] == headers["Content-Security-Policy"]
    assert middleware["permissionsPolicy"] == headers["Permissions-Policy"]
    assert middleware["customResponseHeaders"] == {
        "Cross-Origin-Opener-Policy": headers["Cross-Origin-Opener-Policy"]
    }
    assert middleware["stsSeconds"] == 63072000
    router = named(objects, "Ingress", "")["metadata"]["annotations"]
    assert router["traefik.ingress.kubernetes.io/router.middlewares"] == (
        "apps-demo-streamlit-app-headers@kubernetescrd"
    )
    # Off by default: a snippet needs the controller's consent, a Middleware its CRDs.
    ingress = named(render("production"), "Ingress", "-streamlit-app")
    assert snippet_key not in ingress["metadata"]["annotations"]
    assert not by_kind(render("traefik"), "Middleware")


def test_upload_limit_at_the_edge_matches_streamlit(render):
    objects = render("production")
    config = tomllib.loads(named(objects, "ConfigMap", "-config")["data"]["config.toml"])
    annotations = named(objects, "Ingress", "-uploads")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == (
        f"{config['server']['maxUploadSize']}m"
    )


def test_traefik_sticky_cookie_is_on_the_service(render):
    service = named(render("traefik-no-auth"), "Service", "-dashboard")
    annotations = service["metadata"]["annotations"]
    assert annotations["traefik.ingress.kubernetes.io/service.sticky.cookie"] == "true"
    assert annotations["traefik.ingress.kubernetes.io/service.sticky.cookie.name"]


def test_httproute_persists_sessions_with_a_cookie(render):
    objects = render("gateway")
    route = named(objects, "HTTPRoute", "")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    host = "streamlit.example.com"
    assert route["spec"]["hostnames"] == [host]
    (rule,) = route["spec"]["rules"]
    assert rule["sessionPersistence"]["type"] == "Cookie"
    assert rule["sessionPersistence"]["sessionName"]
    (backend,) = rule["backendRefs"]
    service = named(objects, "Service", "-dashboard")
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"] == service["spec"]["ports"][0]["port"]
    assert not by_kind(objects, "Ingress")


# NOTES.txt's warning when no browser is kept on one pod.
NOT_STICKY = "WARNING: nothing keeps a browser on one dashboard pod"


NO_PERSISTENCE = {"gateway": {"sessionPersistence": {"enabled": False}}}
THREE = {"dashboard": {"replicaCount": 3}}
ONE = {"dashboard": {"replicaCount": 1}}
AUTOSCALED = {"dashboard": {"autoscaling": {"enabled": True}}, "database": {"maxConnections": 0}}


@pytest.mark.parametrize(
    ("profile", "values", "warned"),
    [
        ("gateway", {}, False),  # the route's sessionPersistence cookie
        ("gateway", NO_PERSISTENCE, True),
        ("gateway", merge(NO_PERSISTENCE, ONE), False),
        # One replica, but the autoscaler may add more.
        ("gateway", merge(NO_PERSISTENCE, merge(ONE, AUTOSCALED)), True),
        ("traefik-gateway", {}, False),  # Traefik's cookie through its TraefikService
        ("gateway", merge(NO_PERSISTENCE, {"gateway": {"controller": "traefik"}}), False),
        ("production", {}, False),  # ingress-nginx's cookie
        ("traefik-no-auth", {}, False),  # Traefik's sticky cookie
        ("minimal", THREE, False),  # the Service's ClientIP
        ("minimal", merge(THREE, {"dashboard": {"service": {"sessionAffinity": "None"}}}), True),
        ("minimal", merge(THREE, {"ingress": {"enabled": True, "controller": "none"}}), True),
    ],
)
def test_notes_warn_when_more_than_one_pod_has_nothing_sticky(notes, profile, values, warned):
    """A controller or gateway routes to pods, past the Service's ClientIP affinity:
    with more than one dashboard pod and no cookie of its own configured, sessions
    break (uploads vanish, reconnects start over), and `helm install` says so."""
    text = notes(profile, values)
    assert (NOT_STICKY in text) is warned, text


def _route_errors(route: dict, channel: str) -> list[str]:
    return crd_errors(route, f"httproute-v1-{channel}.json")


def test_httproute_fits_the_standard_channel_unless_sessions_persist_on_the_route(render):
    """Gateway API's standard-channel CRDs (what most clusters install) have no
    sessionPersistence: it is opt-in and then needs the experimental channel."""
    route = named(render("gateway", {"gateway": {"sessionPersistence": {"enabled": False}}}),
                  "HTTPRoute", "")  # fmt: skip
    assert "sessionPersistence" not in route["spec"]["rules"][0]
    assert _route_errors(route, "standard") == []
    persistent = named(render("gateway"), "HTTPRoute", "")
    assert _route_errors(persistent, "experimental") == []
    assert any("sessionPersistence" in e for e in _route_errors(persistent, "standard"))


def test_httproute_never_times_out_a_websocket(render):
    (rule,) = named(render("gateway"), "HTTPRoute", "")["spec"]["rules"]
    assert rule["timeouts"] == {"request": "0s"}


def test_traefiks_gateway_route_sticks_through_a_traefikservice_on_the_standard_channel(render):
    """Traefik implements no sessionPersistence: its documented way for a Gateway
    route is a TraefikService backend, with the cookie on the load balancer of
    the dashboard Service (which picks the pod)."""
    objects = render("traefik-gateway")
    route = named(objects, "HTTPRoute", "")
    assert _route_errors(route, "standard") == []
    (rule,) = route["spec"]["rules"]
    assert "sessionPersistence" not in rule
    (backend,) = rule["backendRefs"]
    traefik_service = named(objects, "TraefikService", "-dashboard")
    assert crd_errors(traefik_service, "traefikservice-v1alpha1.json") == []
    assert (backend["group"], backend["kind"]) == ("traefik.io", "TraefikService")
    assert backend["name"] == traefik_service["metadata"]["name"]
    (balanced,) = traefik_service["spec"]["weighted"]["services"]
    service = named(objects, "Service", "-dashboard")
    assert balanced["name"] == service["metadata"]["name"]
    assert balanced["port"] == service["spec"]["ports"][0]["port"]
    assert balanced["sticky"]["cookie"] == {
        "name": "streamlit-route", "secure": True, "httpOnly": True, "sameSite": "lax",
    }  # fmt: skip
    assert "sticky" not in traefik_service["spec"]["weighted"]  # that one picks a service
    assert not by_kind(objects, "Ingress")


def test_traefik_with_session_persistence_is_refused(chart):
    values = merge(
        profile_values("traefik-gateway"), {"gateway": {"sessionPersistence": {"enabled": True}}}
    )
    with pytest.raises(helm_python.HelmError, match="Traefik implements no sessionPersistence"):
        chart.render(values, name="demo", namespace="apps")


# --- secrets as files --------------------------------------------------------


def _mounted_items(spec, container) -> dict[str, str]:
    """Secret key -> file path inside `container`."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    files = {}
    for mount in container.get("volumeMounts", []):
        secret = volumes[mount["name"]].get("secret")
        if secret:
            assert mount["readOnly"] is True, mount
            for item in secret["items"]:
                files[item["key"]] = f"{mount['mountPath']}/{item['path']}"
    return files


@pytest.mark.parametrize("profile", PROFILES)
def test_database_url_is_a_file_where_the_settings_read_it(render, profile: str, tmp_path: Path):
    objects = render(profile)
    app_image = named(objects, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    checked = []
    for name, spec in pod_specs(objects):
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            if container["image"] != app_image["image"] or name.endswith("-smoke"):
                continue  # oauth2-proxy, PgBouncer, helm test's smoke: they read no settings
            if container["name"] == "oauth2-proxy-config":
                continue  # writes oauth2-proxy's config from its own secret file
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert "APP_SECRETS_DIR" in env, (name, container["name"])
            checked.append((name, container["name"]))
            files = _mounted_items(spec, container)
            assert files["APP_DATABASE_URL"] == f"{env['APP_SECRETS_DIR']}/APP_DATABASE_URL", name
            # The real settings module reading a directory laid out the same way.
            secrets_dir = tmp_path / env["APP_SECRETS_DIR"].strip("/")
            secrets_dir.mkdir(parents=True, exist_ok=True)
            url = f"postgresql://app:{uuid.uuid4().hex}@db:5432/app"
            (secrets_dir / Path(files["APP_DATABASE_URL"]).name).write_text(url + "\n")
            app_env = {"APP_SECRETS_DIR": str(secrets_dir), "APP_ENV": env["APP_ENV"]}
            settings = load_settings(app_env)
            assert settings.sqlalchemy_url == url.replace("postgresql://", "postgresql+psycopg2://")
            # Production mode: the same directory without the file is refused, not SQLite.
            (secrets_dir / Path(files["APP_DATABASE_URL"]).name).unlink()
            with pytest.raises(ConfigError, match="APP_DATABASE_URL: required"):
                load_settings(app_env)
    assert len(checked) >= 2, checked  # the dashboard's and the API's at least


@pytest.mark.parametrize("profile", PROFILES)
def test_cookie_secret_reaches_streamlit_as_a_file(render, profile: str):
    spec = named(render(profile), "Deployment", "-dashboard")["spec"]["template"]["spec"]
    dashboard = next(c for c in spec["containers"] if c["name"] == "dashboard")
    env = {e["name"]: e.get("value") for e in dashboard["env"]}
    path = env["STREAMLIT_SERVER_COOKIE_SECRET_FILE"]
    assert _mounted_items(spec, dashboard)["STREAMLIT_SERVER_COOKIE_SECRET"] == path
    # The image's entrypoint is what turns the file into Streamlit's setting.
    assert "STREAMLIT_SERVER_COOKIE_SECRET_FILE" in (ROOT / "docker/entrypoint.sh").read_text()


def test_no_secret_value_in_env_args_configmaps_or_annotations(render):
    keys = ("db", "cookie", "cid", "ck", "redis")
    sentinels = {key: f"s3cret-{key}-{uuid.uuid4().hex}" for key in keys}
    objects = render(
        "gateway",
        {
            "secrets": {
                "APP_DATABASE_URL": f"postgresql://app:{sentinels['db']}@db:5432/app",
                "STREAMLIT_SERVER_COOKIE_SECRET": sentinels["cookie"],
                "OAUTH2_PROXY_CLIENT_SECRET": sentinels["cid"],
                "OAUTH2_PROXY_COOKIE_SECRET": sentinels["ck"],
                "OAUTH2_PROXY_REDIS_PASSWORD": sentinels["redis"],
            },
            "oauth2Proxy": {"sessionStore": {"type": "redis", "redisUrl": "redis://r:6379/0"}},
        },
    )
    (secret,) = by_kind(objects, "Secret")
    assert all(any(s in v for v in secret["stringData"].values()) for s in sentinels.values())
    for obj in objects:
        if obj["kind"] == "Secret":
            continue
        text = yaml.safe_dump(obj)
        leaked = [key for key, value in sentinels.items() if value in text]
        assert not leaked, (obj["kind"], obj["metadata"]["name"], leaked)


def test_existing_secret_is_used_and_none_is_created(render):
    objects = render("existing-secret")
    assert not by_kind(objects, "Secret")
    mounted = [
        volume["secret"]["secretName"]
        for _, spec in pod_specs(objects)
        for volume in spec.get("volumes", [])
        if "secret" in volume
    ]
    assert mounted, "no pod mounts a Secret"
    assert set(mounted) == {"streamlit-app-secrets"}


def test_missing_required_secret_is_named(chart):
    with pytest.raises(
        helm_python.HelmError, match=r"secrets\.STREAMLIT_SERVER_COOKIE_SECRET is required"
    ):
        chart.render(
            {
                "oauth2Proxy": {"enabled": False},
                "secrets": {"APP_DATABASE_URL": "postgresql://x/y"},
            },
            name="demo",
            namespace="apps",
        )


def test_database_url_refused_as_a_plain_setting(chart):
    with pytest.raises(
        helm_python.HelmError, match=r"appSettings\.APP_DATABASE_URL: set by the chart"
    ):
        chart.render(
            {
                "oauth2Proxy": {"enabled": False},
                "secrets": {"existingSecret": "s"},
                "appSettings": {"APP_DATABASE_URL": "postgresql://x/y"},
            },
            name="demo",
            namespace="apps",
        )


# --- schema ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("dashboard:\n  replicaCount: two\n", r"/dashboard/replicaCount.*want integer"),
        ("ingress:\n  controler: nginx\n", r"/ingress.*additional properties 'controler'"),
        ("appSettings:\n  DB_POOL: '3'\n", r"invalid propertyName 'DB_POOL'"),
        # A misspelt setting: the schema admits only app/core/settings.py's names.
        ("appSettings:\n  APP_DB_POOLSIZE: '3'\n", r"invalid propertyName 'APP_DB_POOLSIZE'"),
        ("dashboard:\n  service:\n    sessionAffinity: Cookie\n", r"sessionAffinity"),
        ("pgbouncer:\n  poolSize: 0\n", r"/pgbouncer/poolSize.*minimum"),
        ("pgbouncer:\n  poolMode: session\n", r"/pgbouncer.*additional properties 'poolMode'"),
    ],
)
def test_schema_rejects_a_bad_values_file_readably(chart, tmp_path: Path, bad: str, message: str):
    values_file = tmp_path / "bad-values.yaml"
    values_file.write_text(bad)
    with pytest.raises(helm_python.HelmValuesError, match=message):
        chart.validate_schema(yaml.safe_load(values_file.read_text()))


# --- pods --------------------------------------------------------------------

ALLOWED_VOLUMES = {
    "configMap",
    "secret",
    "emptyDir",
    "projected",
    "downwardAPI",
    "persistentVolumeClaim",
}


@pytest.mark.parametrize("profile", PROFILES)
def test_every_pod_meets_the_restricted_pod_security_standard(render, profile: str):
    """The `restricted` profile's checks, as the Pod Security admission applies them.

    A stand-in for the admission controller itself: no API server runs here.
    """
    for name, spec in pod_specs(render(profile)):
        assert spec["automountServiceAccountToken"] is False, name
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(host), (name, host)
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] > 0, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        for volume in spec.get("volumes", []):
            assert set(volume) - {"name"} <= ALLOWED_VOLUMES, (name, volume)
        for container in containers(spec):
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert ctx.get("privileged", False) is False
            assert ctx["capabilities"]["drop"] == ["ALL"]
            assert not ctx["capabilities"].get("add")
            assert ctx.get("runAsUser", pod["runAsUser"]) > 0
            assert ctx["readOnlyRootFilesystem"] is True
            assert "hostPort" not in str(container.get("ports", []))
            assert container["resources"]["limits"]
            assert container["resources"]["requests"]


@pytest.mark.parametrize("profile", PROFILES)
def test_writable_paths_are_volumes(render, profile: str):
    """A read-only root: /tmp (HOME) and the data directory are emptyDir mounts."""
    for name, spec in pod_specs(render(profile)):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in containers(spec):
            # oauth2-proxy writes nothing; nor does PgBouncer (TCP only, no
            # pidfile, logs on stderr: app/core/pgbouncer.py).
            if container["name"] in ("oauth2-proxy", "pgbouncer"):
                continue
            mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
            assert "emptyDir" in mounts["/tmp"], (name, container["name"])


def _probes(container):
    return [
        container[p] for p in ("startupProbe", "livenessProbe", "readinessProbe") if p in container
    ]


@pytest.mark.parametrize("profile", PROFILES)
def test_probe_ports_exist_in_the_pod(render, profile: str):
    for name, spec in pod_specs(render(profile)):
        ports = {p["containerPort"] for c in spec["containers"] for p in c.get("ports", [])}
        for container in spec["containers"]:
            own = {p["name"] for p in container.get("ports", [])}
            for probe in _probes(container):
                if "exec" in probe:
                    continue  # a command in the container: no port of the pod
                (port,) = [
                    probe[kind]["port"] for kind in ("httpGet", "tcpSocket") if kind in probe
                ]
                # A named port must be the container's own; a number any port of the pod.
                assert port in own if isinstance(port, str) else port in ports, (name, port)


@pytest.mark.parametrize("profile", PROFILES)
def test_services_target_declared_ports(render, profile: str):
    objects = render(profile)
    for component in ("dashboard", "api"):
        service = named(objects, "Service", f"-{component}")
        spec = named(objects, "Deployment", f"-{component}")["spec"]["template"]["spec"]
        names = {p["name"] for c in spec["containers"] for p in c.get("ports", [])}
        assert service["spec"]["ports"][0]["targetPort"] in names


def test_dashboard_readiness_does_not_touch_the_database(render):
    """A database blip must not take every dashboard out of its Service."""
    spec = named(render("minimal"), "Deployment", "-dashboard")["spec"]["template"]["spec"]
    dashboard = next(c for c in spec["containers"] if c["name"] == "dashboard")
    assert "httpGet" not in dashboard["readinessProbe"]  # only "not stopping": see below
    api = named(render("minimal"), "Deployment", "-api")["spec"]["template"]["spec"]
    assert api["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/readyz"


def _image_healthcheck() -> list[str]:
    """The app image's HEALTHCHECK command (docker/Dockerfile, exec form)."""
    text = (ROOT / "docker/Dockerfile").read_text().replace("\\\n", " ")
    return json.loads(re.search(r"^HEALTHCHECK .*? CMD (\[.*\])$", text, re.M).group(1))


def _pod_containers(objects, suffix: str) -> dict[str, dict]:
    spec = named(objects, "Deployment", suffix)["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"]}


@pytest.mark.parametrize("profile", ["gateway", "minimal"])
def test_streamlit_startup_and_liveness_ask_streamlit_itself(render, profile: str):
    """The dashboard container's startup and liveness probes run the image's own
    HEALTHCHECK in the container: Streamlit's /_stcore/health on its own port over
    loopback, never through oauth2-proxy (which exits while the identity provider
    is down: through it, the kubelet would restart a healthy Streamlit)."""
    dashboard = _pod_containers(render(profile), "-dashboard")["dashboard"]
    command = _image_healthcheck()
    assert "'http://127.0.0.1:8501/_stcore/health'" in command[-1]
    assert "HEALTHCHECK_URL" not in {e["name"] for e in dashboard["env"]}
    for kind in ("startupProbe", "livenessProbe"):
        probe = dashboard[kind]
        assert probe["exec"] == {"command": command}, kind
        # The command's own timeout (urlopen's 4 s) ends before the kubelet's.
        assert probe["timeoutSeconds"] >= 5, kind


def test_oauth2_proxy_has_probes_of_its_own(render):
    """oauth2-proxy's startup and liveness ask its own ping path on its own port and
    its readiness its ready path: the pod leaves the Service when its sidecar cannot
    pass requests, the way the Service routes every request."""
    containers = _pod_containers(render("gateway"), "-dashboard")
    proxy, dashboard = containers["oauth2-proxy"], containers["dashboard"]
    config = (ROOT / "oauth2-proxy/oauth2-proxy.cfg").read_text()
    ping, ready = (
        re.search(rf'^{key} = "([^"]+)"', config, re.M).group(1)
        for key in ("ping_path", "ready_path")
    )
    own = {p["name"]: p["containerPort"] for p in proxy["ports"]}
    for kind in ("startupProbe", "livenessProbe"):
        assert proxy[kind]["httpGet"] == {"path": ping, "port": "oauth2-proxy"}, kind
    assert proxy["readinessProbe"]["httpGet"] == {"path": ready, "port": "oauth2-proxy"}
    assert "oauth2-proxy" in own
    service = named(render("gateway"), "Service", "-dashboard")
    assert service["spec"]["ports"][0]["targetPort"] == "oauth2-proxy"
    assert "readinessProbe" in dashboard


@pytest.mark.parametrize("profile", ["gateway", "minimal"])
def test_a_stopping_dashboard_is_not_ready_long_before_its_pause_ends(render, profile: str):
    """The pause marks the container draining and its readiness then fails at the
    next probe: Traefik sends a sticky session's requests to a stopping pod until
    it is not ready (tests/cluster/test_rollout.py), so it must be, well before
    Streamlit exits at the end of the pause."""
    dashboard = _pod_containers(render(profile), "-dashboard")["dashboard"]
    marks = dashboard["lifecycle"]["preStop"]["exec"]["command"]
    (flag,) = re.findall(r"touch (\S+) && sleep \d+$", marks[-1])
    readiness = dashboard["readinessProbe"]
    assert readiness["exec"]["command"] == ["test", "!", "-e", flag]
    assert readiness["failureThreshold"] == 1
    # Not ready within one period, with the pause's remaining seconds for the edge.
    assert readiness["periodSeconds"] * 3 <= _pause(dashboard)


# --- configuration -----------------------------------------------------------


def test_streamlit_config_is_the_apps_own(render):
    """The ConfigMap carries .streamlit/config.toml; without the sidecar, the trusted
    headers are dashboard.trustedUserHeaders (none by default)."""
    ours = tomllib.loads((ROOT / ".streamlit/config.toml").read_text())
    assert ours["server"]["trustedUserHeaders"] == {
        "X-Forwarded-Email": "email",
        "X-Forwarded-Preferred-Username": "name",
    }
    for profile, headers in (
        ("minimal", {}),  # nobody in front authenticates: trust no header
        ("gateway", ours["server"]["trustedUserHeaders"]),  # the sidecar: the app's own
        ("traefik-no-auth", {"X-Forwarded-Email": "email"}),
    ):
        rendered = tomllib.loads(
            named(render(profile), "ConfigMap", "-config")["data"]["config.toml"]
        )
        assert rendered["server"].pop("trustedUserHeaders") == headers, profile
        expected = {
            **ours,
            "server": {k: v for k, v in ours["server"].items() if k != "trustedUserHeaders"},
        }
        assert rendered == expected


def test_trusted_headers_are_refused_beside_the_sidecar(chart):
    """With oauth2-proxy on, the app's own pair is the contract: a second one is an error."""
    with pytest.raises(helm_python.HelmError, match=r"dashboard\.trustedUserHeaders: only with"):
        chart.render(
            merge(
                profile_values("gateway"),
                {"dashboard": {"trustedUserHeaders": {"X-Remote-User": "email"}}},
            ),
            name="demo",
            namespace="apps",
        )


def test_streamlit_config_overrides_merge(render):
    objects = render(
        "minimal", {"dashboard": {"streamlitConfig": {"server": {"maxUploadSize": 200}}}}
    )
    rendered = tomllib.loads(named(objects, "ConfigMap", "-config")["data"]["config.toml"])
    assert rendered["server"]["maxUploadSize"] == 200
    assert rendered["server"]["fileWatcherType"] == "none"


def test_config_change_rolls_the_pods(render):
    def checksum(objects):
        return named(objects, "Deployment", "-dashboard")["spec"]["template"]["metadata"][
            "annotations"
        ]["checksum/config"]

    before = checksum(render("minimal"))
    after = checksum(
        render("minimal", {"dashboard": {"streamlitConfig": {"server": {"maxUploadSize": 9}}}})
    )
    assert before != after


def test_an_existing_secrets_checksum_rolls_the_pods(render):
    """The chart cannot read an existing Secret: make deploy passes its checksum."""

    def annotations(values):
        objects = render("existing-secret", values)
        return [
            named(objects, "Deployment", suffix)["spec"]["template"]["metadata"]["annotations"]
            for suffix in ("-dashboard", "-api")
        ]

    assert all("checksum/secret" not in a for a in annotations({}))
    rotated = annotations({"secrets": {"checksum": "abc123"}})
    assert all(a["checksum/secret"] == "abc123" for a in rotated)


def test_streamlit_listens_on_loopback_behind_the_sidecar(render):
    spec = named(render("gateway"), "Deployment", "-dashboard")["spec"]["template"]["spec"]
    dashboard, proxy = spec["containers"]
    assert "--server.address=127.0.0.1" in dashboard["args"]
    assert "--upstream=http://127.0.0.1:8501" in proxy["args"]
    service = named(render("gateway"), "Service", "-dashboard")
    assert service["spec"]["ports"][0]["targetPort"] == "oauth2-proxy"


# --- sign-in: revocable sessions, the dashboard's re-check ----------------------


def test_sessions_in_redis_are_an_option_with_its_password_as_a_secret_file(render):
    """sessionStore.type redis: oauth2-proxy's config is written at pod start by an init
    container (the image's `oauth2-proxy-config`) from the Secret's password file into
    memory the sidecar reads; the password is in no argument, variable or ConfigMap."""
    objects = render("production")
    spec = named(objects, "Deployment", "-dashboard")["spec"]["template"]["spec"]
    (init,) = spec["initContainers"]
    proxy = next(c for c in spec["containers"] if c["name"] == "oauth2-proxy")
    assert init["args"] == ["oauth2-proxy-config", "/run/oauth2-proxy/oauth2-proxy.cfg"]
    assert "/run/secrets/OAUTH2_PROXY_REDIS_PASSWORD" in [e["value"] for e in init["env"]]
    assert _mounted_items(spec, init) == {
        "OAUTH2_PROXY_REDIS_PASSWORD": "/run/secrets/OAUTH2_PROXY_REDIS_PASSWORD"
    }
    assert "OAUTH2_PROXY_REDIS_PASSWORD" not in _mounted_items(spec, proxy)
    assert "--config=/run/oauth2-proxy/oauth2-proxy.cfg" in proxy["args"]
    assert "--session-store-type=redis" in proxy["args"]
    assert (
        "--redis-connection-url=redis://sessions-valkey.cache.svc.cluster.local:6379/0"
        in (proxy["args"])
    )
    written = {v["name"]: v for v in spec["volumes"]}["oauth2-proxy-config"]
    assert written["emptyDir"]["medium"] == "Memory"
    mount = next(m for m in proxy["volumeMounts"] if m["name"] == "oauth2-proxy-config")
    assert mount == {"name": "oauth2-proxy-config", "mountPath": "/run/oauth2-proxy",
                     "readOnly": True}  # fmt: skip
    policy = named(objects, "NetworkPolicy", "-dashboard")["spec"]
    store = [rule for rule in policy["egress"] if rule.get("ports") == [{"port": 6379,
             "protocol": "TCP"}]]  # fmt: skip
    assert store[0]["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cache"}}}
    ]


def test_the_cookie_store_stays_the_default_without_an_init_container(render):
    spec = named(render("gateway"), "Deployment", "-dashboard")["spec"]["template"]["spec"]
    assert "initContainers" not in spec
    proxy = next(c for c in spec["containers"] if c["name"] == "oauth2-proxy")
    assert "--config=/etc/oauth2-proxy/oauth2-proxy.cfg" in proxy["args"]
    assert not [a for a in proxy["args"] if a.startswith("--session-store-type")]


def test_redis_sessions_need_the_address_of_the_store(chart):
    values = merge(profile_values("gateway"), {"oauth2Proxy": {"sessionStore": {"type": "redis"}}})
    with pytest.raises(helm_python.HelmError, match=r"sessionStore.redisUrl: the address"):
        chart.render(values, name="demo", namespace="apps", is_install=True)


@pytest.mark.parametrize(("profile", "checked"), [("gateway", True), ("traefik-no-auth", False)])
def test_the_dashboard_rechecks_sign_ins_with_its_sidecar(render, profile: str, checked: bool):
    """With the sidecar, each open tab's sign-in is asked of it again (APP_SESSION_CHECK_URL,
    app/dashboard/session.py); without sign-in there is nothing to ask."""
    spec = named(render(profile), "Deployment", "-dashboard")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    expected = "http://127.0.0.1:4180/oauth2/auth" if checked else None
    assert env.get("APP_SESSION_CHECK_URL") == expected
    if checked:  # a value the settings take
        assert str(load_settings({"APP_SESSION_CHECK_URL": expected}).session_check_url) == expected


# --- network policy, service account ----------------------------------------


def test_network_policies_limit_ingress_and_egress(render):
    objects = render("production")
    policies = {
        p["metadata"]["name"].removeprefix("demo-streamlit-app-"): p["spec"]
        for p in by_kind(objects, "NetworkPolicy")
    }
    assert set(policies) == {"dashboard", "api", "migrations", "rollup", "smoke-test"}
    edge = policies["dashboard"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
    assert edge == {"kubernetes.io/metadata.name": "ingress-nginx"}
    assert policies["dashboard"]["ingress"][0]["ports"] == [{"port": 4180, "protocol": "TCP"}]
    api_from = policies["api"]["ingress"][0]["from"]
    assert api_from[0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "dashboard"
    for name, spec in policies.items():
        assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
        if name == "smoke-test":
            continue
        database = [rule for rule in spec["egress"] if "ipBlock" in str(rule.get("to"))]
        assert database, name
        assert database[0]["ports"] == [{"port": 5432, "protocol": "TCP"}]


@pytest.mark.parametrize("profile", PROFILES)
def test_no_service_link_variables_reach_the_settings(render, profile: str):
    for name, spec in pod_specs(render(profile)):
        assert spec.get("enableServiceLinks") is False, name


def test_service_account_token_is_never_mounted(render):
    (account,) = by_kind(render("minimal"), "ServiceAccount")
    assert account["automountServiceAccountToken"] is False


@pytest.mark.parametrize(
    ("values", "expected"),
    [({"create": False}, "default"), ({"create": False, "name": "app-runner"}, "app-runner")],
)
def test_pods_run_as_a_service_account_that_exists(render, values, expected: str):
    objects = render("minimal", {"serviceAccount": values})
    assert not by_kind(objects, "ServiceAccount")
    for deployment in by_kind(objects, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] == expected, deployment["metadata"]["name"]


def test_disruption_budgets_never_block_a_drain_at_one_replica(render):
    """minAvailable 1 at 1 replica would forbid evicting the only pod."""
    budgets = by_kind(render("minimal"), "PodDisruptionBudget")  # 1 replica each
    assert len(budgets) == 2
    for budget in budgets:
        assert budget["spec"] == {**budget["spec"], "maxUnavailable": 1}
        assert "minAvailable" not in budget["spec"]


# The containers that serve while a pod runs, by Deployment (init containers
# and Jobs end before anyone routes to them).
LONG_RUNNING = {
    "dashboard": {"dashboard", "oauth2-proxy"},
    "api": {"api"},
    "pgbouncer": {"pgbouncer"},
}


def _pause(container: dict) -> int | None:
    """Seconds a container's preStop pauses: Kubernetes' sleep action, or a command
    ending in `sleep N` (the dashboard's, which marks it draining first)."""
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    if "sleep" in pre_stop:
        return pre_stop["sleep"]["seconds"]
    if "exec" in pre_stop:
        (seconds,) = re.findall(r"\bsleep (\d+)$", pre_stop["exec"]["command"][-1])
        return int(seconds)
    return None


def _pauses(objects) -> dict[str, tuple[int, dict[str, int | None]]]:
    """Per Deployment: its grace period and each container's preStop pause (None: none)."""
    found = {}
    for deployment in by_kind(objects, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        sleeps = {c["name"]: _pause(c) for c in spec["containers"]}
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        found[component] = (spec["terminationGracePeriodSeconds"], sleeps)
    return found


@pytest.mark.parametrize("profile", PROFILES)
def test_every_long_running_container_pauses_before_it_stops(render, profile: str):
    """A stopping pod keeps serving while the ingress and kube-proxy drop it
    (tests/cluster/test_rollout.py shows what that spares), and its grace
    period outlasts the pause."""
    pauses = _pauses(render(profile))
    for component, (grace, sleeps) in pauses.items():
        assert set(sleeps) <= LONG_RUNNING[component]
        assert set(sleeps.values()) == {10}, (component, sleeps)
        assert grace > 10, component


def test_the_pause_covers_every_long_running_container(render):
    """Between them the profiles run every one, so the test above saw each."""
    seen: dict[str, set[str]] = {}
    for profile in PROFILES:
        for component, (_, sleeps) in _pauses(render(profile)).items():
            seen.setdefault(component, set()).update(sleeps)
    assert seen == LONG_RUNNING


def test_the_pause_and_the_grace_periods_follow_their_values(render):
    pauses = _pauses(
        render(
            "pgbouncer",
            {
                "shutdownDelaySeconds": 25,
                "dashboard": {"terminationGracePeriodSeconds": 31},
                "api": {"terminationGracePeriodSeconds": 46},
                "pgbouncer": {"terminationGracePeriodSeconds": 60},
            },
        )
    )
    assert pauses == {
        "dashboard": (31, {"dashboard": 25}),
        "api": (46, {"api": 25}),
        "pgbouncer": (60, {"pgbouncer": 25}),
    }
    # 0: no pause at all (a sleep of 0 s needs Kubernetes 1.33).
    for _, sleeps in _pauses(render("production", {"shutdownDelaySeconds": 0})).values():
        assert set(sleeps.values()) == {None}


@pytest.mark.parametrize(
    ("component", "grace", "needed"),
    [("dashboard", 15, 16), ("api", 30, 31), ("pgbouncer", 15, 16)],
)
def test_a_grace_period_shorter_than_the_pause_and_shutdown_is_refused(
    render, component: str, grace: int, needed: int
):
    with pytest.raises(
        helm_python.HelmError,
        match=rf"{component}\.terminationGracePeriodSeconds \({grace}\) must exceed "
        rf"shutdownDelaySeconds \(10\) plus .*: set it to {needed} or more",
    ):
        render("pgbouncer", {component: {"terminationGracePeriodSeconds": grace}})


def test_a_tag_given_at_deploy_time_is_the_image_that_runs(render):
    """No profile pins a digest that would win over the tag `make deploy` sets."""
    for profile in PROFILES:
        objects = render(profile, {"image": {"tag": "abc123"}})
        images = {c["image"] for _, spec in pod_specs(objects) for c in containers(spec)}
        assert any(image.endswith(":abc123") for image in images), (profile, images)
        assert not any("@sha256:" in image for image in images), (profile, images)


# --- hooks -------------------------------------------------------------------


def test_migrations_run_before_install_and_upgrade(render):
    objects = render("minimal")
    job = named(objects, "Job", "-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    (secret,) = by_kind(objects, "Secret")
    # The Secret the Job reads is created first.
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"]
    )


def test_a_scheduled_rollup_is_the_migrations_pod_running_rollup(render):
    """rollup.schedule adds a CronJob whose pod is the migrations Job's (same
    settings, secret file, hardening and network policy) with the rollup command."""
    assert not by_kind(render("minimal"), "CronJob")
    objects = render("minimal", {"rollup": {"schedule": "*/15 * * * *", "timeZone": "UTC"}})
    (cronjob,) = by_kind(objects, "CronJob")
    assert (cronjob["spec"]["schedule"], cronjob["spec"]["timeZone"]) == ("*/15 * * * *", "UTC")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    rollup = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    migrate = named(objects, "Job", "-migrate")["spec"]["template"]["spec"]
    assert rollup["containers"][0]["args"] == ["rollup"]
    # Its secret volume is named for its container; otherwise the same pod.
    rollup = json.loads(json.dumps(rollup).replace("secrets-rollup", "secrets-migrate"))
    assert {**rollup, "containers": None} == {**migrate, "containers": None}
    (mine,), (theirs,) = rollup["containers"], migrate["containers"]
    for key in ("image", "env", "securityContext", "volumeMounts"):
        assert mine[key] == theirs[key], key
    labels = cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    (policy,) = [
        p for p in by_kind(objects, "NetworkPolicy") if p["metadata"]["name"].endswith("-rollup")
    ]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert "ingress" not in policy["spec"]


@pytest.mark.parametrize(("profile", "auth"), [("minimal", False), ("gateway", True)])
def test_helm_test_runs_the_smoke_checks_through_the_services(render, profile: str, auth: bool):
    objects = render(profile)
    pod = next(
        o for o in by_kind(objects, "Pod") if o["metadata"]["annotations"]["helm.sh/hook"] == "test"
    )
    args = pod["spec"]["containers"][0]["args"]
    assert args[:3] == ["python3", "-m", "app.ops.smoke"]
    services = {
        s["metadata"]["name"]: s["spec"]["ports"][0]["port"] for s in by_kind(objects, "Service")
    }
    urls = [a.split("=", 1)[1] for a in args if a.startswith(("--url=", "--api-url="))]
    for url in urls:
        host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()
        assert services[host] == int(port), url
    assert ("--auth" in args) is auth


# --- PgBouncer ---------------------------------------------------------------


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_pgbouncer_is_off_by_default(render):
    objects = render("minimal")
    assert not [o for o in objects if o["metadata"]["name"].endswith("-pgbouncer")]
    for _, spec in pod_specs(objects):
        assert all("APP_DATABASE_VIA" not in _env(c) for c in containers(spec))


def test_services_reach_the_database_through_pgbouncer_and_migrations_directly(render):
    objects = render("pgbouncer", {"rollup": {"schedule": "@hourly"}})
    service = named(objects, "Service", "-pgbouncer")
    via = f"{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    for component in ("dashboard", "api"):
        spec = named(objects, "Deployment", f"-{component}")["spec"]["template"]["spec"]
        assert _env(spec["containers"][0])["APP_DATABASE_VIA"] == via, component
    # Alembic's migrations run in one session (the rollup command migrates
    # first): never through transaction pooling.
    job = named(objects, "Job", "-migrate")["spec"]["template"]["spec"]
    assert "APP_DATABASE_VIA" not in _env(job["containers"][0])
    (rollup,) = [spec for name, spec in pod_specs(objects) if name.endswith("-rollup")]
    assert "APP_DATABASE_VIA" not in _env(rollup["containers"][0])
    pgbouncer = named(objects, "Deployment", "-pgbouncer")["spec"]["template"]["spec"]
    (server,) = pgbouncer["containers"]
    assert service["spec"]["ports"][0]["targetPort"] == server["ports"][0]["name"]
    assert (
        f"--listen=*:{server['ports'][0]['containerPort']}"
        in pgbouncer["initContainers"][0]["args"]
    )


def test_pgbouncer_runs_the_configuration_its_init_container_writes(render):
    objects = render("pgbouncer")
    spec = named(objects, "Deployment", "-pgbouncer")["spec"]["template"]["spec"]
    (init,) = spec["initContainers"]
    (server,) = spec["containers"]
    api = named(objects, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    assert (init["args"][0], init["image"]) == ("pgbouncer-config", api["image"])
    out = next(a.removeprefix("--out=") for a in init["args"] if a.startswith("--out="))
    assert server["command"] == ["pgbouncer", f"{out}/pgbouncer.ini"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    (shared,) = [m["name"] for m in init["volumeMounts"] if m["mountPath"] == out]
    assert [m["mountPath"] for m in server["volumeMounts"] if m["name"] == shared] == [out]
    # The password file lives in memory, and the database URL only in the init container.
    assert volumes[shared]["emptyDir"]["medium"] == "Memory"
    assert _mounted_items(spec, init) == {"APP_DATABASE_URL": "/run/secrets/APP_DATABASE_URL"}
    assert _mounted_items(spec, server) == {}


def test_pgbouncer_alone_reaches_the_database_under_network_policy(render):
    policies = {
        p["metadata"]["name"].removeprefix("demo-streamlit-app-"): p["spec"]
        for p in by_kind(render("pgbouncer"), "NetworkPolicy")
    }
    database = {"port": 5432, "protocol": "TCP"}
    for name in ("dashboard", "api"):
        egress_ports = [port for rule in policies[name]["egress"] for port in rule["ports"]]
        assert database not in egress_ports, name
        assert {"port": 6432, "protocol": "TCP"} in egress_ports, name
    for name in ("pgbouncer", "migrations"):
        assert any(database in rule["ports"] for rule in policies[name]["egress"]), name
    sources = policies["pgbouncer"]["ingress"][0]["from"]
    assert {s["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for s in sources} == {
        "dashboard",
        "api",
    }


def test_database_via_is_refused_as_a_plain_setting(chart):
    with pytest.raises(
        helm_python.HelmError, match=r"appSettings\.APP_DATABASE_VIA: set by the chart"
    ):
        chart.render(
            merge(profile_values("pgbouncer"), {"appSettings": {"APP_DATABASE_VIA": "x:1"}}),
            name="demo",
            namespace="apps",
        )


# --- docs --------------------------------------------------------------------

VALUES_SCRIPT = ROOT / "scripts/chart-values.py"


def test_readme_table_and_schema_are_generated_from_values_yaml():
    result = subprocess.run(
        [sys.executable, str(VALUES_SCRIPT), str(CHART), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_undocumented_value_is_refused(tmp_path: Path):
    for name in ("README.md", "Chart.yaml", "values.schema.json"):
        shutil.copy(CHART / name, tmp_path / name)
    values = (CHART / "values.yaml").read_text() + "\nsurprise: 1\n"
    (tmp_path / "values.yaml").write_text(values)
    result = subprocess.run(
        [sys.executable, str(VALUES_SCRIPT), str(tmp_path), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "no '# --' comment for surprise" in result.stderr
