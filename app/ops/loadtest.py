"""Load any Streamlit app with browserless sessions: ``make loadtest URL=...``.

    python -m app.ops.loadtest --url http://127.0.0.1:8501 \\
        [--scenario app/ops/scenarios/platform.toml] [--sessions 20] [--reruns 5]

Each session is one simulated browser tab (app/ops/stream_client.py): it opens
the scenario's page, then `reruns` times waits a random think time, applies one action of
the scenario (chosen by weight) and times the rerun from sending the change to
the script's end. Everything is bounded: the sessions, their reruns and the
whole run (``--seconds``). The report gives rerun percentiles and errors by kind;
the exit status is 1 when any session failed.

A scenario is a TOML file that names widgets by the label the page shows:

    page = "notes"               # the page's URL path (default: the app's default page)
    think_seconds = 0.5          # each wait is uniform in [0, think_seconds]
    watch = "Revenue:"           # optional: record texts starting with this
    [[actions]]
    widget = "Order dates"       # the label
    change = "range"             # range | choice | subset | fixed | click
    stops = 13                   # range: ends drawn from this many positions
    weight = 7                   # relative frequency (default 1)

``range`` moves a two-ended slider to two of `stops` evenly spaced positions,
``choice`` picks one option (selectbox) or position (one-ended slider),
``subset`` a non-empty subset of a multiselect's options, ``fixed`` sets
``value``, ``click`` presses a button, ``rerun`` (no widget) runs the page
again as it is.

The default scenario (``scenarios/platform.toml``) reruns the platform's
status page, which every app on the platform has: each rerun queries the
database and asks the API, whatever the app's own pages are.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.ops.stream_client import RunResult, Session, StreamlitError

DEFAULT_SCENARIO = Path(__file__).parent / "scenarios" / "platform.toml"
CHANGES = ("range", "choice", "subset", "fixed", "click", "rerun")


class ScenarioError(Exception):
    """The scenario file is wrong; the message names the file and the field."""


@dataclass(frozen=True)
class Action:
    change: str
    widget: str = ""
    weight: float = 1.0
    stops: int = 13
    value: Any = None


@dataclass(frozen=True)
class Scenario:
    actions: tuple[Action, ...]
    think_seconds: float = 0.5
    watch: str = ""
    page: str = ""

    @classmethod
    def load(cls, path: Path) -> Scenario:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ScenarioError(f"{path}: {error}") from None
        unknown = set(data) - {"actions", "think_seconds", "watch", "page"}
        if unknown:
            raise ScenarioError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
        actions = []
        for n, raw in enumerate(data.get("actions", []), start=1):
            where = f"{path}: actions[{n}]"
            rerun = isinstance(raw, dict) and raw.get("change") == "rerun"
            if not isinstance(raw, dict) or not (rerun or isinstance(raw.get("widget"), str)):
                raise ScenarioError(f'{where}: expected a table with widget = "<label>"')
            try:
                action = Action(**raw)
            except TypeError as error:
                raise ScenarioError(f"{where}: {error}") from None
            if action.change not in CHANGES:
                raise ScenarioError(f"{where}: change must be one of {', '.join(CHANGES)}")
            if action.change == "fixed" and action.value is None:
                raise ScenarioError(f'{where}: change = "fixed" needs a value')
            if not (action.weight > 0 and action.stops >= 2):
                raise ScenarioError(f"{where}: weight must be > 0 and stops >= 2")
            actions.append(action)
        if not actions:
            raise ScenarioError(f"{path}: no [[actions]]: name at least one widget to change")
        think = data.get("think_seconds", 0.5)
        if not isinstance(think, int | float) or think < 0:
            raise ScenarioError(f"{path}: think_seconds must be a number >= 0")
        page = data.get("page", "")
        if not isinstance(page, str):
            raise ScenarioError(f'{path}: page must be a URL path, e.g. page = "notes"')
        return cls(tuple(actions), float(think), str(data.get("watch", "")), page.strip("/"))

    def next_change(self, session: Session, rng: random.Random) -> tuple[str, object] | None:
        """The (label, value) of one action drawn by weight, for the widgets on the page
        (None: rerun the page as it is)."""
        (action,) = rng.choices(self.actions, weights=[a.weight for a in self.actions])
        if action.change == "rerun":
            return None
        widget = session.widgets.get(action.widget)
        if widget is None:
            raise StreamlitError(
                "scenario", f"no widget {action.widget!r} on the page ({sorted(session.widgets)})"
            )
        proto = widget.proto
        if action.change == "fixed":
            return action.widget, action.value
        if action.change == "click":
            return action.widget, True
        if action.change == "subset":
            options = list(proto.options)
            return action.widget, rng.sample(options, rng.randint(1, len(options)))
        if widget.kind == "slider":
            stops = [
                proto.min + (proto.max - proto.min) * n / (action.stops - 1)
                for n in range(action.stops)
            ]
            if action.change == "range":
                return action.widget, sorted(rng.sample(stops, 2))
            return action.widget, [rng.choice(stops)]
        if action.change == "choice" and widget.kind == "selectbox":
            return action.widget, rng.choice(list(proto.options))
        raise StreamlitError("scenario", f"{action.change!r} cannot change a {widget.kind}")


@dataclass
class SessionResult:
    """What one session did: rerun latencies, the watched texts it saw, its error if any."""

    latencies: list[float] = field(default_factory=list)
    watched: list[str] = field(default_factory=list)
    error: str | None = None
    detail: str | None = None  # the error's message


def _watched(run: RunResult, prefix: str) -> str:
    return next((text for text in run.texts if text.startswith(prefix)), "") if prefix else ""


async def session(
    base_url: str,
    scenario: Scenario,
    reruns: int,
    rng: random.Random,
    deadline: float,
    headers: Mapping[str, str] | None = None,
) -> SessionResult:
    """One tab: open, run, then `reruns` actions; stops at `deadline` (monotonic).

    `headers` go with the WebSocket handshake: a sign-in cookie behind a proxy.
    """
    result = SessionResult()
    timeout = max(1.0, deadline - time.monotonic())
    try:
        async with Session(base_url, headers, timeout=timeout, page=scenario.page) as tab:
            result.watched.append(_watched(await tab.run(), scenario.watch))
            for _ in range(reruns):
                await asyncio.sleep(rng.uniform(0, scenario.think_seconds))
                if time.monotonic() >= deadline:
                    raise StreamlitError("timeout", "the load test's deadline was reached")
                change = scenario.next_change(tab, rng)
                run = await (tab.rerun() if change is None else tab.set(*change))
                result.latencies.append(run.seconds)
                result.watched.append(_watched(run, scenario.watch))
                if run.exceptions:
                    raise StreamlitError("script error", run.exceptions[0])
    except StreamlitError as error:
        result.error, result.detail = error.kind, str(error)
    return result


async def load(
    base_url: str,
    sessions: int,
    reruns: int,
    scenario: Scenario | None = None,
    seed: int = 0,
    seconds: float = 60.0,
    headers: Mapping[str, str] | None = None,
    think_seconds: float | None = None,
    session_headers: Callable[[int], Mapping[str, str]] | None = None,
) -> list[SessionResult]:
    """Run `sessions` tabs at once, each with its own seeded RNG, all within `seconds`.

    `think_seconds` replaces the scenario's think time; `session_headers(n)`
    adds tab n's own headers to `headers` (e.g. a sticky-route cookie per tab,
    as each browser gets its own).
    """
    scenario = scenario or Scenario.load(DEFAULT_SCENARIO)
    if think_seconds is not None:
        scenario = replace(scenario, think_seconds=think_seconds)
    deadline = time.monotonic() + seconds

    def headers_of(n: int) -> Mapping[str, str] | None:
        if session_headers is None:
            return headers
        return {**(headers or {}), **session_headers(n)}

    return await asyncio.gather(
        *(
            session(base_url, scenario, reruns, random.Random(seed + n), deadline, headers_of(n))  # noqa: S311
            for n in range(sessions)
        )
    )


def errors_by_kind(results: list[SessionResult]) -> Counter[str]:
    return Counter(result.error for result in results if result.error)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(results: list[SessionResult], reruns: int) -> dict[str, Any]:
    latencies = [x for result in results for x in result.latencies]
    return {
        "sessions": len(results),
        "reruns": len(latencies),
        "reruns_planned": len(results) * reruns,
        **{f"p{q}_seconds": percentile(latencies, q) for q in (50, 95, 99, 100)},
        "errors": dict(errors_by_kind(results)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the app's base URL, e.g. http://host:8501")
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--reruns", type=int, default=5, help="actions per session")
    parser.add_argument("--seconds", type=float, default=120.0, help="bound on the whole run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--header", action="append", default=[], help="'Name: value' for the handshake (Cookie)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if min(args.sessions, args.reruns, args.seconds) <= 0:
        parser.error("--sessions, --reruns and --seconds must be > 0")
    headers = {}
    for header in args.header:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            parser.error(f"--header {header!r}: expected 'Name: value'")
        headers[name.strip()] = value.strip()
    try:
        scenario = Scenario.load(args.scenario)
    except ScenarioError as error:
        print(f"loadtest: {error}", file=sys.stderr)
        return 2
    results = asyncio.run(
        load(args.url, args.sessions, args.reruns, scenario, args.seed, args.seconds, headers)
    )
    report = summary(results, args.reruns)
    if args.json:
        print(json.dumps(report))
    else:
        quantiles = ", ".join(
            f"{name} {report[f'p{q}_seconds']:.3f}"
            for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
        )
        print(
            f"{report['sessions']} sessions, {report['reruns']}/{report['reruns_planned']} reruns;"
            f" rerun seconds {quantiles if report['reruns'] else 'none'};"
            f" errors: {report['errors'] or 'none'}"
        )
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
