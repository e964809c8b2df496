"""Smoke checks of a running deployment: ``python -m app.ops.smoke --url URL``.

Every health endpoint, the sign-in redirect when auth is on, and one
Streamlit script run over the WebSocket: the platform's status page, which
every app on the platform has, and whose database line must say ok. Each check is retried until it
passes or the deadline runs out (a rollout may still be settling), must
answer within its time budget, and prints one line: PASS, FAIL or SKIP.
Exits 1 when any check fails.

Two shapes of deployment:
- behind sign-in (nginx with oauth2-proxy, or the Helm chart's oauth2-proxy
  sidecar; both serve oauth2-proxy's /oauth2/ping and /oauth2/ready):
  ``--url https://host --auth``, plus for the WebSocket check a signed-in
  session: ``--sign-in EMAIL`` through a form-based dev provider (compose's
  dev login; app/ops/signin.py), or a real provider's ``--cookie`` copied from
  a browser; plus ``--api-url https://host/api`` where the edge
  exposes the API (nginx does; the chart keeps it cluster-internal, so
  ``helm test`` gives the API Service from inside the cluster);
- services reached directly: ``--url http://dashboard:8501 --api-url http://api:8000``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from app.ops import signin
from app.ops.stream_client import STATUS_PAGE, Session, StreamlitError


class CheckFailedError(Exception):
    """A check's answer was wrong; the message says what was expected."""


@dataclass(frozen=True)
class Check:
    name: str
    url: str
    probe: Callable[[], str]  # returns a detail on success, raises on failure


def _status(url: str, expected: int, budget: float) -> Callable[[], str]:
    def probe() -> str:
        response = requests.get(url, timeout=budget, allow_redirects=False)
        if response.status_code != expected:
            raise CheckFailedError(f"HTTP {response.status_code}, expected {expected}")
        return f"HTTP {response.status_code}"

    return probe


def _script_run(
    url: str, cookie: str | None, budget: float, sign_in: str | None = None
) -> Callable[[], str]:
    """The platform's status page over the WebSocket, as any app has it: the script
    runs, and its database line says the dashboard reached the database. With
    `sign_in`, the check signs that user in first (once it succeeds) and the page
    must name them."""
    signed_in: dict[str, str] = {}

    async def run(headers: dict[str, str]) -> str:
        async with Session(url, headers=headers, timeout=budget, page=STATUS_PAGE) as session:
            result = await session.run()
        if result.exceptions:
            raise CheckFailedError(f"the page raised: {result.exceptions[0]}")
        shown = "; ".join(result.texts)[:300]
        if "database: ok" not in " ".join(result.texts):
            raise CheckFailedError(
                f"/{STATUS_PAGE} does not say 'database: ok'; it showed: {shown}"
            )
        if sign_in and f"user: {sign_in}" not in result.texts:
            raise CheckFailedError(f"/{STATUS_PAGE} does not say 'user: {sign_in}': {shown}")
        return f"{result.status} in {result.seconds:.2f}s, database ok" + (
            f", signed in as {sign_in}" if sign_in else ""
        )

    def probe() -> str:
        if sign_in and not signed_in:
            signed_in.update(signin.sign_in(url, sign_in, budget).cookies)
        headers = signin.cookie_header(signed_in) or ({"Cookie": cookie} if cookie else {})
        return asyncio.run(run(headers))

    return probe


def build_checks(args: argparse.Namespace) -> list[Check]:
    url = args.url.rstrip("/")
    budget = args.budget
    checks = [
        Check(
            "dashboard-health",
            f"{url}/_stcore/health",
            _status(f"{url}/_stcore/health", 200, budget),
        ),
    ]
    if args.api_url:
        api = args.api_url.rstrip("/")
        checks += [
            Check("api-alive", f"{api}/healthz", _status(f"{api}/healthz", 200, budget)),
            Check("api-ready", f"{api}/readyz", _status(f"{api}/readyz", 200, budget)),
        ]
    if args.auth:
        checks += [
            Check("auth-alive", f"{url}/oauth2/ping", _status(f"{url}/oauth2/ping", 200, budget)),
            Check("auth-ready", f"{url}/oauth2/ready", _status(f"{url}/oauth2/ready", 200, budget)),
            Check("sign-in-redirect", f"{url}/", _status(f"{url}/", 302, budget)),
        ]
    if not args.auth or args.cookie or args.sign_in:
        run = _script_run(url, args.cookie, budget, args.sign_in)
        checks.append(Check("websocket-run", f"{url}/_stcore/stream", run))
    return checks


def run_check(check: Check, deadline: float, budget: float) -> tuple[bool, str]:
    """Retry until the check passes within its budget or the deadline passes."""
    while True:
        started = time.monotonic()
        try:
            detail = check.probe()
            elapsed = time.monotonic() - started
            if elapsed <= budget:
                return True, detail
            error = f"answered in {elapsed:.2f}s, over the {budget}s budget"
        except (
            requests.RequestException,
            StreamlitError,
            CheckFailedError,
            signin.SignInError,
            OSError,
        ) as exc:
            error = str(exc).splitlines()[0]
        if time.monotonic() + 1 > deadline:
            return False, error
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.ops.smoke",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", required=True, help="the dashboard or the edge, e.g. https://host")
    parser.add_argument("--api-url", help="the API's base URL (its /healthz and /readyz)")
    parser.add_argument(
        "--auth",
        action="store_true",
        help="the edge with sign-in: check oauth2-proxy and the redirect",
    )
    parser.add_argument(
        "--cookie", help="a signed-in session's Cookie header, for the WebSocket check behind auth"
    )
    parser.add_argument(
        "--sign-in",
        metavar="EMAIL",
        help="sign in through a form-based dev provider (compose's dev login) for that check",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=60.0,
        help="seconds to keep retrying failing checks (default 60)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=10.0,
        help="seconds one attempt of a check may take (default 10)",
    )
    args = parser.parse_args(argv)

    deadline = time.monotonic() + args.deadline
    failed = 0
    for check in build_checks(args):
        ok, detail = run_check(check, deadline, args.budget)
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} {check.name:<18} {check.url}  {detail}", flush=True)
    if args.auth and not (args.cookie or args.sign_in):
        print(f"SKIP {'websocket-run':<18} {args.url}  auth on and no --sign-in or --cookie given")
    if not args.api_url:
        print(f"SKIP {'api':<18} {args.url}  no --api-url given")
    print(f"{'FAILED' if failed else 'OK'}: {failed} of the checks failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
