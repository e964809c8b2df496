"""Start the real dashboard and API as subprocesses on loopback, and stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.tools import ROOT, free_port, wait_until

BIN = Path(sys.executable).parent
# The services' one start command (run with this interpreter's environment first on PATH).
ENTRYPOINT = str(ROOT / "docker/entrypoint.sh")
REFERENCE_SCRIPT = "app/dashboard/streamlit_app.py"


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    metrics_url: str | None = None  # its Prometheus metrics

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Wait until `url` answers 200; fail with the server's log if it dies or never does."""

    def answers() -> bool:
        with contextlib.suppress(requests.RequestException):
            return requests.get(url, timeout=2).status_code == 200
        return False

    _wait_until(answers, url, process, log, timeout)


def wait_tcp(address: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Wait until something accepts connections at tcp://host:port."""
    host, _, port = address.removeprefix("tcp://").rpartition(":")

    def accepts() -> bool:
        with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=2):
            return True
        return False

    _wait_until(accepts, address, process, log, timeout)


def _wait_until(
    ready: Callable[[], bool], what: str, process: subprocess.Popen, log: Path, timeout: float
) -> None:
    """Fail with the server's log if it dies, or is not `ready` within `timeout` s."""

    def exited_or_ready() -> str:
        return "exited" if process.poll() is not None else ready() and "ready"

    try:
        outcome = wait_until(exited_or_ready, f"{what} to be ready", timeout)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{log.read_text()}") from None
    if outcome == "exited":
        raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()}")


@contextlib.contextmanager
def running(
    argv: list[str],
    log: Path,
    health_url: str,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
) -> Iterator[subprocess.Popen]:
    """The one way tests run a server: `argv` in a process group of its own, its
    output appended to `log`, ready once `health_url` answers 200 (a
    tcp://host:port one: once it accepts connections); the whole group
    is stopped when the block ends (SIGTERM, SIGKILL after 20 s).

    Appended: nginx reopens /dev/stdout for its access log (O_APPEND) beside its
    error log on stderr; both must append or one overwrites the other.
    """
    full_env = None if env is None else {**os.environ, "PYTHONPATH": str(ROOT), **env}
    with log.open("a") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait = wait_tcp if health_url.startswith("tcp://") else wait_http
        wait(health_url, process, log)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def _serve(
    argv: list[str],
    env: Mapping[str, str],
    health: str,
    url: str,
    log: Path,
    cwd: Path = ROOT,
    metrics_url: str | None = None,
) -> Iterator[Server]:
    env = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **env}
    with running(argv, log, url + health, env, cwd) as process:
        yield Server(url, process, log, metrics_url)


def dashboard(
    env: Mapping[str, str],
    log: Path,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
    cwd: Path = ROOT,
    script: str = REFERENCE_SCRIPT,
) -> contextlib.AbstractContextManager[Server]:
    """The dashboard (or another `script`) started as the image starts it
    (docker/entrypoint.sh dashboard: configuration checked, then `streamlit run`
    with JSON logs and the metrics server) on loopback, with `cwd`'s
    .streamlit/config.toml and its metrics server on a port of its own.

    Another `cwd` must hold the app as app/ (a link to the repo's will do).
    """
    port = port or free_port()
    metrics_port = free_port()
    env = {
        "APP_METRICS_PORT": str(metrics_port),
        "APP_METRICS_ADDRESS": "127.0.0.1",
        "DASHBOARD_SCRIPT": script,
        **env,
    }
    argv = [
        ENTRYPOINT,
        "dashboard",
        "--server.address=127.0.0.1",
        "--server.port",
        str(port),
        *extra_args,
    ]
    url = f"http://127.0.0.1:{port}"
    metrics_url = f"http://127.0.0.1:{env['APP_METRICS_PORT']}/metrics"
    return _serve(argv, env, "/_stcore/health", url, log, cwd, metrics_url)


def api(
    env: Mapping[str, str], log: Path, port: int | None = None
) -> contextlib.AbstractContextManager[Server]:
    """The API started as the image starts it (docker/entrypoint.sh api: gunicorn
    with its production config file) on loopback."""
    port = port or free_port()
    env = {"GUNICORN_BIND": f"127.0.0.1:{port}", **env}
    url = f"http://127.0.0.1:{port}"
    return _serve([ENTRYPOINT, "api"], env, "/healthz", url, log, metrics_url=f"{url}/metrics")
