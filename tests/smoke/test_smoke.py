"""The smoke suite against services reached directly: passes when healthy, fails loudly when not."""

from pathlib import Path

from tests.support import servers
from tests.support.ops import smoke
from tests.support.tools import free_port


def test_a_healthy_local_deployment_passes(sqlite_env: dict, tmp_path: Path):
    with servers.api(sqlite_env, tmp_path / "api.log") as api:
        env = {**sqlite_env, "APP_API_URL": api.url}
        with servers.dashboard(env, tmp_path / "dashboard.log") as dashboard:
            result = smoke("--url", dashboard.url, "--api-url", api.url, "--deadline", "30")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("dashboard-health", "api-alive", "api-ready", "websocket-run"):
        assert f"PASS {name}" in result.stdout
    assert "OK: 0 of the checks failed" in result.stdout


def test_a_broken_endpoint_fails_the_run_and_is_named(sqlite_env: dict, tmp_path: Path):
    """A real API whose database refuses connections: /readyz answers 503."""
    broken = {
        "APP_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none",
        "APP_DB_CONNECT_TIMEOUT": "1",
    }
    with (
        servers.api(broken, tmp_path / "api.log") as api,
        servers.dashboard(sqlite_env, tmp_path / "dashboard.log") as dashboard,
    ):
        result = smoke("--url", dashboard.url, "--api-url", api.url, "--deadline", "3")
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    assert len(failed) == 1
    assert failed[0].startswith("FAIL api-ready")
    assert "HTTP 503, expected 200" in failed[0]
    assert "PASS api-alive" in result.stdout


def test_nothing_listening_fails_every_check():
    url = f"http://127.0.0.1:{free_port()}"
    result = smoke("--url", url, "--api-url", url, "--deadline", "2", "--budget", "1")
    assert result.returncode == 1
    assert result.stdout.count("FAIL ") == 4


def test_a_dashboard_without_its_database_fails_the_websocket_check(tmp_path: Path):
    """The dashboard is up (its health path answers) but its database is not."""
    broken = {
        "APP_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none",
        "APP_DB_CONNECT_TIMEOUT": "1",
    }
    with servers.dashboard(broken, tmp_path / "dashboard.log") as dashboard:
        result = smoke("--url", dashboard.url, "--deadline", "3")
    assert result.returncode == 1
    (failed,) = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    assert failed.startswith("FAIL websocket-run")
    assert "does not say 'database: ok'" in failed
    assert "The database is not answering right now" in failed
    assert "PASS dashboard-health" in result.stdout


def test_an_app_that_skips_the_platform_fails_the_websocket_check(tmp_path: Path):
    """An entry script that does not hand its pages to session.run has no status page."""
    script = tmp_path / "bare.py"
    script.write_text('import streamlit as st\nst.write("hello")\n')
    with servers.dashboard({}, tmp_path / "dashboard.log", script=str(script)) as dashboard:
        result = smoke("--url", dashboard.url, "--deadline", "3")
    assert result.returncode == 1
    assert "FAIL websocket-run" in result.stdout
    assert "it showed: hello" in result.stdout
