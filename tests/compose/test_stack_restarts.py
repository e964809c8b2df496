"""Services that stop come back by themselves: each long-running service's main
process is killed from the host as a crash would kill it (SIGKILL to the
container's PID 1, not `podman kill`, which marks the container stopped by the
user so that no restart policy fires), and its restart policy starts it again.

These share the session's stack and run last (file order): each test leaves
every service healthy and the stack answering.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.support.compose import Stack, smoke, states
from tests.support.image import podman
from tests.support.tools import wait_until

# What runs for as long as the stack does; the rest are one-shots that run once at `make up`.
LONG_RUNNING = (
    "postgres", "valkey", "oauth2-proxy", "api", "dashboard-1", "dashboard-2", "nginx", "idp"
)  # fmt: skip
ONE_SHOTS = ("migrate", "oauth2-proxy-config")


def inspect(name: str, template: str) -> str:
    return podman("inspect", "--format", template, name).stdout.strip()


def unhealthy(stack: Stack) -> dict[str, str]:
    """The long-running services not healthy (one without a check of its own:
    not running), with their state; empty when all are."""
    return {
        service: state
        for service, state in states(stack).items()
        if service in LONG_RUNNING and state != "healthy" and not state.startswith("running")
    }


def wait_until_healthy(stack: Stack) -> None:
    seen: dict[str, str] = {}

    def healthy() -> bool:
        seen.clear()
        seen.update(unhealthy(stack))
        return not seen

    try:
        wait_until(healthy, "every long-running service healthy", 180, 2)
    except AssertionError as error:
        raise AssertionError(f"{error}; not healthy: {seen}") from None


def test_long_running_services_restart_unless_stopped_and_one_shots_do_not(stack: Stack):
    policies = {
        service: inspect(name, "{{.HostConfig.RestartPolicy.Name}}")
        for service, name in stack.containers().items()
    }
    assert policies == {
        **dict.fromkeys(LONG_RUNNING, "unless-stopped"),
        **dict.fromkeys(ONE_SHOTS, "no"),
    }


def test_every_long_running_service_has_a_health_check_but_oauth2_proxy(stack: Stack):
    # oauth2-proxy's images (distroless, scratch) have no program to probe
    # with: nginx's check asks /oauth2/ping through it.
    containers = stack.containers()
    checked = {
        service
        for service in LONG_RUNNING
        if inspect(containers[service], "{{if .Config.Healthcheck}}check{{end}}") == "check"
    }
    assert checked == set(LONG_RUNNING) - {"oauth2-proxy"}


def wait_until_restarted(stack: Stack, name: str, service: str, restarts: int) -> None:
    """Until the restart policy has started the container again (the same one:
    its restart count is higher), then until every service is healthy."""

    def restarted() -> str:
        state = inspect(name, "{{.State.Status}} {{.RestartCount}}")
        status, count = state.split()
        return state if status == "running" and int(count) > restarts else ""

    wait_until(restarted, f"{service} running again", 120, 1)
    wait_until_healthy(stack)


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_a_service_killed_like_a_crash_comes_back_and_the_stack_answers(stack: Stack, service: str):
    name = stack.containers()[service]
    pid, restarts = inspect(name, "{{.State.Pid}} {{.RestartCount}}").split()
    os.kill(int(pid), signal.SIGKILL)
    wait_until_restarted(stack, name, service, int(restarts))
    smoke(stack)


def test_postgres_that_shuts_itself_down_comes_back(stack: Stack):
    """As PostgreSQL ends itself (a PANIC, such as the WAL's disk full, stops the
    server): its own immediate shutdown, from inside, ends the container, and
    the restart policy starts it again on the same data."""
    name = stack.containers()["postgres"]
    restarts = int(inspect(name, "{{.RestartCount}}"))
    before = stack.sql("SELECT count(*) FROM audit_events")
    # The exec ends with the container, pg_ctl in it: its status says nothing.
    podman(
        "exec", "--user", "postgres", name, "sh", "-c",
        'exec pg_ctl stop --pgdata="$PGDATA" --mode=immediate', check=False,
    )  # fmt: skip
    wait_until_restarted(stack, name, "postgres", restarts)
    assert stack.sql("SELECT count(*) FROM audit_events") == before
    smoke(stack)
