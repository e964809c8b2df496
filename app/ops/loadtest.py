"""Load any Streamlit app with browserless sessions: ``make loadtest URL=...``.

    python -m app.ops.loadtest --url http://127.0.0.1:8501 \\
        [--scenario app/ops/scenarios/platform.toml] [--page notes] [--sessions 20] [--reruns 5]
    python -m app.ops.loadtest --url ... --page notes --discover [--write notes.toml]

Each session is one simulated browser tab (app/ops/stream_client.py): it opens
the scenario's page, then `reruns` times waits a random think time, applies one action of
the scenario (chosen by weight) and times the rerun from sending the change to
the script's end. Everything is bounded: the sessions, their reruns and the
whole run (``--seconds``). The report gives rerun percentiles and, per error
kind, how many sessions failed and the first one's message; the exit status is
1 when any session failed. ``--discover`` lists the page's widgets and writes
a starter scenario (app/ops/discover.py). ``--sign-in EMAIL`` signs in
through a form-based dev provider first, as compose's dev login is
(app/ops/signin.py; a real provider needs a browser's cookie via ``--header``).

A scenario is a TOML file that names widgets by the label the page shows (a
widget without one, such as a data editor, by its ``key=``):

    page = "notes"               # the page's URL path (default: the app's default page)
    think_seconds = 0.5          # each wait is uniform in [0, think_seconds]
    watch = "Revenue:"           # optional: record texts starting with this
    [[actions]]
    widget = "Order dates"       # the label
    change = "range"             # what the user does (below)
    stops = 13                   # range and choice: positions drawn from this many
    weight = 7                   # relative frequency (default 1)

What each change sends (``values = [...]`` makes ``choice`` pick one of them,
whatever the widget):

    choice   an option (selectbox, radio, select_slider); one of `stops` positions
             (slider, date_input, number_input from its min to its max, or else
             steps around its value); true or false (checkbox, toggle); a
             generated text (text_input, text_area)
    range    two of `stops` positions, in order (a two-ended slider,
             select_slider or date_input)
    subset   a non-empty subset of a multiselect's options
    fixed    ``value`` (a date as "2024-05-31"; a two-ended slider's as a list)
    click    a button pressed; a checkbox or toggle flipped
    submit   a form's submit button pressed with ``fields = { Label = value }``
             filled, in one rerun
    upload   ``file`` (relative to the scenario) put in a file_uploader, uploaded
             as a browser uploads it
    edit     a data_editor's cell, ``column`` in ``row`` (default: any row), set
             to ``value`` or one of ``values``
    rerun    (no widget) the page run again as it is

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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from app.ops import discover, signin
from app.ops.stream_client import (
    RunResult,
    Session,
    StreamlitError,
    Widget,
    editor_rows,
    parse_cookie_header,
)

DEFAULT_SCENARIO = Path(__file__).parent / "scenarios" / "platform.toml"
CHANGES = ("range", "choice", "subset", "fixed", "click", "submit", "upload", "edit", "rerun")


class ScenarioError(Exception):
    """The scenario file is wrong; the message names the file and the field."""


@dataclass(frozen=True)
class Action:
    change: str
    widget: str = ""
    weight: float = 1.0
    stops: int = 13
    value: Any = None
    values: tuple = ()
    file: str = ""  # upload: the file's path, made absolute when the scenario loads
    row: int | None = None
    column: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)
    content: bytes = field(default=b"", repr=False)  # upload: the file, read when loaded


# What an [[actions]] table may say: every field but the file's content.
ACTION_KEYS = {f.name for f in fields(Action)} - {"content"}


def _action(raw: object, where: str, folder: Path) -> Action:
    """One [[actions]] table, checked."""
    rerun = isinstance(raw, dict) and raw.get("change") == "rerun"
    if not isinstance(raw, dict) or not (rerun or isinstance(raw.get("widget"), str)):
        raise ScenarioError(f'{where}: expected a table with widget = "<label>"')
    unknown = set(raw) - ACTION_KEYS
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        action = Action(**{**raw, "values": tuple(raw.get("values", ()))})
    except TypeError as error:
        raise ScenarioError(f"{where}: {error}") from None
    change = action.change
    if change not in CHANGES:
        raise ScenarioError(f"{where}: change must be one of {', '.join(CHANGES)}")
    if change == "fixed" and action.value is None:
        raise ScenarioError(f'{where}: change = "fixed" needs a value')
    if change == "edit" and (not action.column or (action.value is None and not action.values)):
        raise ScenarioError(f'{where}: change = "edit" needs a column and a value or values')
    if not isinstance(action.fields, dict) or (action.fields and change != "submit"):
        raise ScenarioError(f'{where}: fields is a table, for change = "submit"')
    if not (action.weight > 0 and action.stops >= 2):
        raise ScenarioError(f"{where}: weight must be > 0 and stops >= 2")
    if change == "upload":
        if not action.file:
            raise ScenarioError(f'{where}: change = "upload" needs file = "<path>"')
        path = folder / action.file
        try:
            return replace(action, file=str(path), content=path.read_bytes())
        except OSError as error:
            raise ScenarioError(f"{where}: file: {error}") from None
    return action


@dataclass(frozen=True)
class Scenario:
    actions: tuple[Action, ...]
    think_seconds: float = 0.5
    watch: str = ""
    page: str = ""

    @property
    def uploads(self) -> bool:
        return any(action.change == "upload" for action in self.actions)

    @classmethod
    def load(cls, path: Path) -> Scenario:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ScenarioError(f"{path}: {error}") from None
        unknown = set(data) - {"actions", "think_seconds", "watch", "page"}
        if unknown:
            raise ScenarioError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
        actions = [
            _action(raw, f"{path}: actions[{n}]", path.parent)
            for n, raw in enumerate(data.get("actions", []), start=1)
        ]
        if not actions:
            raise ScenarioError(f"{path}: no [[actions]]: name at least one widget to change")
        think = data.get("think_seconds", 0.5)
        if not isinstance(think, int | float) or think < 0:
            raise ScenarioError(f"{path}: think_seconds must be a number >= 0")
        page = data.get("page", "")
        if not isinstance(page, str):
            raise ScenarioError(f'{path}: page must be a URL path, e.g. page = "notes"')
        return cls(tuple(actions), float(think), str(data.get("watch", "")), page.strip("/"))

    def next_step(self, tab: Session, rng: random.Random) -> Awaitable[RunResult]:
        """One action drawn by weight, applied to the tab: the rerun it makes."""
        (action,) = rng.choices(self.actions, weights=[a.weight for a in self.actions])
        if action.change == "rerun":
            return tab.rerun()
        widget = tab.find(action.widget)
        if widget is None:
            raise StreamlitError(
                "scenario", f"no widget {action.widget!r} on the page ({sorted(tab.widgets)})"
            )
        if action.change == "submit":
            return tab.submit(widget.name, action.fields)
        if action.change == "upload":
            return tab.upload(widget.name, Path(action.file).name, action.content)
        if action.change == "edit":
            row, value = edit_cell(action, widget, rng)
            return tab.edit(widget.name, row, action.column, value)
        return tab.set(widget.name, draw(action, widget, rng, tab.sent(widget)))


def positions(low: float, high: float, stops: int, step: float = 0) -> list[float]:
    """`stops` evenly spaced positions from low to high, on the widget's `step` grid
    (fewer when the grid is coarser)."""
    spaced = [low + (high - low) * n / (stops - 1) for n in range(stops)]
    if step:
        spaced = [min(high, low + round((x - low) / step) * step) for x in spaced]
    return list(dict.fromkeys(spaced))


def _spots(widget: Widget, stops: int) -> list:
    """Where a slider's or date input's ends may go: `stops` positions on its step
    grid (dates as text), or a select_slider's options."""
    proto = widget.proto
    if widget.kind == "select_slider":
        return list(proto.options)
    if widget.kind == "date_input":
        low, high = (date.fromisoformat(d).toordinal() for d in (proto.min, proto.max))
        return [date.fromordinal(round(x)).isoformat() for x in positions(low, high, stops, 1)]
    return positions(proto.min, proto.max, stops, proto.step)


def _two_ended(widget: Widget) -> bool:
    if widget.kind == "date_input":
        return widget.proto.is_range
    return len(widget.proto.default) == 2


def _number_positions(widget: Widget, stops: int) -> list[float]:
    proto = widget.proto
    if proto.has_min and proto.has_max:
        return positions(proto.min, proto.max, stops, proto.step)
    # Unbounded: up to stops // 2 steps either side of its value, as a user clicks +/-.
    middle = proto.value if proto.HasField("value") else proto.default
    return [middle + proto.step * n for n in range(-(stops // 2), stops // 2 + 1)]


def draw(action: Action, widget: Widget, rng: random.Random, sent: object = None) -> object:
    """The value `action` sets `widget` to, drawn with `rng` (`sent`: the value this
    tab sent it last, None if none: a click flips a checkbox from there)."""
    kind, change, proto = widget.kind, action.change, widget.proto
    if change == "fixed":
        return action.value
    if change == "choice" and action.values:
        return rng.choice(action.values)
    hint = ""
    if change == "click" and kind == "button":
        return True
    if change == "click" and kind in ("checkbox", "toggle"):
        return not (proto.default if sent is None else sent)
    if change == "subset" and kind == "multiselect" and proto.options:
        options = list(proto.options)
        return rng.sample(options, rng.randint(1, len(options)))
    if change in ("choice", "range") and kind in ("slider", "select_slider", "date_input"):
        spots = _spots(widget, action.stops)
        if change == "range" and _two_ended(widget) and len(spots) >= 2:
            return sorted(rng.sample(spots, 2), key=spots.index)
        if change == "choice" and not _two_ended(widget):
            spot = rng.choice(spots)
            return spot if kind == "date_input" else [spot]
        hint = ' (two-ended: change = "range")' if _two_ended(widget) else " (one-ended)"
    elif change == "choice":
        if kind in ("selectbox", "radio") and proto.options:
            return rng.choice(list(proto.options))
        if kind in ("checkbox", "toggle"):
            return rng.choice([True, False])
        if kind == "number_input":
            return rng.choice(_number_positions(widget, action.stops))
        if kind in ("text_input", "text_area"):
            text = f"load test {rng.randrange(10**6)}"
            return text[: proto.max_chars] if proto.max_chars else text
    raise StreamlitError("scenario", f"{change!r} cannot change the {kind} {widget.name!r}{hint}")


def edit_cell(action: Action, widget: Widget, rng: random.Random) -> tuple[int, object]:
    """The (row, value) an edit action sets: its row, or any row the editor shows."""
    value = action.value if action.value is not None else rng.choice(action.values)
    if action.row is not None:
        return action.row, value
    rows = len(editor_rows(widget))
    if not rows:
        raise StreamlitError("scenario", f"the data editor {widget.name!r} has no rows to edit")
    return rng.randrange(rows), value


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
    A scenario that uploads loads the page first, as a browser does: uploads
    need its XSRF cookie, and behind an edge the replica the page chose.
    """
    result = SessionResult()
    timeout = max(1.0, deadline - time.monotonic())
    try:
        async with Session(
            base_url, headers, timeout=timeout, page=scenario.page, load_page=scenario.uploads
        ) as tab:
            result.watched.append(_watched(await tab.run(), scenario.watch))
            for _ in range(reruns):
                await asyncio.sleep(rng.uniform(0, scenario.think_seconds))
                if time.monotonic() >= deadline:
                    raise StreamlitError("timeout", "the load test's deadline was reached")
                run = await scenario.next_step(tab, rng)
                result.latencies.append(run.seconds)
                result.watched.append(_watched(run, scenario.watch))
                if run.exceptions:
                    raise StreamlitError("script error", run.exceptions[0])
    except StreamlitError as error:
        result.error, result.detail = error.kind, error.message
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


def first_errors(results: list[SessionResult]) -> dict[str, str]:
    """The first failed session's message, per error kind."""
    first: dict[str, str] = {}
    for result in results:
        if result.error:
            first.setdefault(result.error, result.detail or "")
    return first


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(results: list[SessionResult], reruns: int) -> dict[str, Any]:
    """The report: reruns done and planned, rerun percentiles, and per error kind
    the count of failed sessions and the first one's message."""
    latencies = [x for result in results for x in result.latencies]
    first = first_errors(results)
    return {
        "sessions": len(results),
        "reruns": len(latencies),
        "reruns_planned": len(results) * reruns,
        **{f"p{q}_seconds": percentile(latencies, q) for q in (50, 95, 99, 100)},
        "errors": {
            kind: {"count": count, "first": first[kind]}
            for kind, count in errors_by_kind(results).items()
        },
    }


def report_text(report: Mapping[str, Any]) -> str:
    """The summary as a line, then a line per error kind with its first message."""
    quantiles = ", ".join(
        f"{name} {report[f'p{q}_seconds']:.3f}"
        for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    )
    errors = report["errors"]
    failed = sum(error["count"] for error in errors.values())
    lines = [
        f"{report['sessions']} sessions, {report['reruns']}/{report['reruns_planned']} reruns;"
        f" rerun seconds {quantiles if report['reruns'] else 'none'};"
        f" errors: {f'{failed} sessions failed' if failed else 'none'}"
    ]
    lines += [
        f"  {kind}: {error['count']} sessions, the first: {error['first']}"
        for kind, error in errors.items()
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="make loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the app's base URL, e.g. http://host:8501")
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument("--page", help="the page's URL path, e.g. notes (wins over the scenario's)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--reruns", type=int, default=5, help="actions per session")
    parser.add_argument("--seconds", type=float, default=120.0, help="bound on the whole run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--header", action="append", default=[], help="'Name: value' for the handshake (Cookie)"
    )
    parser.add_argument(
        "--sign-in",
        metavar="EMAIL",
        help="sign in through the edge's form-based dev provider first (compose's dev login)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--discover", action="store_true", help="list the page's widgets; write a starter scenario"
    )
    parser.add_argument("--write", type=Path, metavar="FILE", help="--discover: the scenario file")
    return parser


def _headers(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """The handshake's headers: --header's, and the cookies of --sign-in."""
    headers = {}
    for header in args.header:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            parser.error(f"--header {header!r}: expected 'Name: value'")
        headers[name.strip()] = value.strip()
    if args.sign_in:
        signed_in = signin.sign_in(args.url, args.sign_in)
        cookies = {**signed_in.credentials, **parse_cookie_header(headers)}
        headers = {k: v for k, v in headers.items() if k.lower() != "cookie"}
        headers |= signin.cookie_header(cookies)
    return headers


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if min(args.sessions, args.reruns, args.seconds) <= 0:
        parser.error("--sessions, --reruns and --seconds must be > 0")
    if args.write and not args.discover:
        parser.error("--write goes with --discover")
    try:
        scenario = None if args.discover else Scenario.load(args.scenario)
        headers = _headers(parser, args)
        if scenario is None:
            return discover.main(args.url, args.page or "", headers, args.write, args.seconds)
    except (ScenarioError, signin.SignInError) as error:
        print(f"loadtest: {error}", file=sys.stderr)
        return 2
    if args.page is not None:
        scenario = replace(scenario, page=args.page.strip("/"))
    results = asyncio.run(
        load(args.url, args.sessions, args.reruns, scenario, args.seed, args.seconds, headers)
    )
    report = summary(results, args.reruns)
    print(json.dumps(report) if args.json else report_text(report))
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
