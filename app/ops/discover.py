"""A page's widgets and a starter scenario for them: ``make loadtest ... --discover``.

    python -m app.ops.loadtest --url http://127.0.0.1:8501 --page notes --discover \\
        [--write notes.toml]

Opens the page as one browserless tab, runs it once, and lists each widget
with its kind, its name (the label, else the ``key=``) and what the protocol
tells of its values: options, ranges and steps, a data editor's rows and
columns. The starter scenario has one action per widget that a user would
change (app/ops/loadtest.py documents the format): fields inside a form are
filled by their submit button's action rather than changed alone, as a form
sends nothing until it is submitted; an upload is written commented out, as
it needs a file of yours. Trim it, weight it, and run it with ``SCENARIO=``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider

from app.ops.stream_client import RunResult, Session, StreamlitError, Widget, editor_rows

SHOWN_OPTIONS = 8  # options listed per widget in a description


def _micros_date(micros: float) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)).date().isoformat()


def _number(widget: Widget, value: float) -> float | int | str:
    """A number as the widget shows it: an int for int widgets, a date for date sliders."""
    proto = widget.proto
    if widget.kind == "slider" and proto.data_type in (Slider.DATE, Slider.DATETIME):
        return _micros_date(value)
    int_type = NumberInput.INT if widget.kind == "number_input" else Slider.INT
    return int(value) if proto.data_type == int_type else value


def _options(options: list[str]) -> str:
    shown = ", ".join(options[:SHOWN_OPTIONS])
    more = len(options) - SHOWN_OPTIONS
    return f"options: {shown}" + (f" and {more} more" if more > 0 else "")


def describe(widget: Widget) -> str:
    """What the protocol tells of a widget's values, in a few words."""
    proto, kind = widget.proto, widget.kind
    if kind == "slider":
        ends = "two-ended" if len(proto.default) == 2 else "one-ended"
        low, high = _number(widget, proto.min), _number(widget, proto.max)
        step = "1 day" if proto.data_type == Slider.DATE else _number(widget, proto.step)
        return f"{ends}, {low} to {high}, step {step}"
    if kind == "select_slider":
        ends = "two-ended" if len(proto.default) == 2 else "one-ended"
        return f"{ends}, {_options(list(proto.options))}"
    if kind in ("selectbox", "radio", "multiselect"):
        return _options(list(proto.options))
    if kind == "number_input":
        step = _number(widget, proto.step)
        if proto.has_min and proto.has_max:
            return f"{_number(widget, proto.min)} to {_number(widget, proto.max)}, step {step}"
        return f"no bounds, step {step}"
    if kind == "date_input":
        return f"{'a range' if proto.is_range else 'one date'}, {proto.min} to {proto.max}"
    if kind in ("text_input", "text_area"):
        return f"up to {proto.max_chars} characters" if proto.max_chars else "text"
    if kind in ("checkbox", "toggle"):
        return f"{'on' if proto.default else 'off'} at first"
    if kind == "button":
        return f"submits the form {proto.form_id!r}" if proto.is_form_submitter else "a button"
    if kind == "file_uploader":
        types = ", ".join(proto.type) or "any type"
        return f"{types}{', several files' if proto.multiple_files else ''}"
    if kind == "data_editor":
        rows = editor_rows(widget)
        columns = ", ".join(rows[0]) if rows else "none shown"
        return f"{len(rows)} rows; columns: {columns}"
    return kind


def toml_value(value: object) -> str:
    """A TOML value: strings, numbers, bools, lists and tables of these."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return (
            "{ "
            + ", ".join(f"{toml_value(str(k))} = {toml_value(v)}" for k, v in value.items())
            + " }"
        )
    if isinstance(value, date):
        return toml_value(value.isoformat())
    return json.dumps(str(value), ensure_ascii=False)  # JSON's escapes are TOML's


def field_value(widget: Widget) -> object:
    """A value to fill a form field with: its default, or a first option or a text."""
    proto, kind = widget.proto, widget.kind
    if kind in ("text_input", "text_area"):
        return "load test"
    if kind == "number_input":
        return _number(widget, proto.default if proto.HasField("default") else proto.min)
    if kind in ("checkbox", "toggle"):
        return not proto.default
    if kind in ("selectbox", "radio") and proto.options:
        return proto.options[proto.default if proto.HasField("default") else 0]
    if kind == "multiselect" and proto.options:
        return [proto.options[0]]
    if kind == "slider":
        return [_number(widget, v) for v in proto.default]
    if kind == "select_slider":
        return [proto.options[int(v)] for v in proto.default]
    if kind == "date_input" and proto.default:
        return list(proto.default) if proto.is_range else proto.default[0]
    return None


def _edit(widget: Widget) -> dict[str, object] | None:
    """An edit of the first row's first cell: values it may take, from its own."""
    rows = editor_rows(widget)
    if not rows:
        return None
    column, value = next(iter(rows[0].items()))
    if isinstance(value, bool):
        values = [True, False]
    elif isinstance(value, int | float):
        values = [value, value + 1]
    elif isinstance(value, str):
        values = [value, f"{value} (edited)"]
    elif isinstance(value, date):
        values = [value.isoformat()[:10]]
    else:
        return None
    return {"column": column, "values": values}


def _action(widget: Widget, forms: Mapping[str, list[Widget]]) -> tuple[dict[str, object], str]:
    """The starter action for a widget (none: {}) and what to say of it."""
    proto, kind = widget.proto, widget.kind
    if kind == "button" and proto.is_form_submitter:
        fields = {f.name: field_value(f) for f in forms.get(proto.form_id, [])}
        return {
            "change": "submit",
            "fields": {k: v for k, v in fields.items() if v is not None},
        }, ""
    if proto.form_id:
        return {}, "filled by its form's submit button"
    if kind in ("button", "checkbox", "toggle"):
        return {"change": "click"}, ""
    if kind == "multiselect":
        return ({"change": "subset"}, "") if proto.options else ({}, "no options")
    if kind in ("slider", "select_slider"):
        return {"change": "range" if len(proto.default) == 2 else "choice"}, ""
    if kind == "date_input":
        return {"change": "range" if proto.is_range else "choice"}, ""
    if kind in ("selectbox", "radio", "number_input", "text_input", "text_area"):
        return {"change": "choice"}, ""
    if kind == "file_uploader":
        return {"change": "upload", "file": "path/to/a/file"}, "needs a file of yours"
    if kind == "data_editor":
        edit = _edit(widget)
        return ({"change": "edit", **edit}, "") if edit else ({}, "no cell to edit")
    return {}, f"no action for a {kind}"


def starter(url: str, page: str, widgets: list[Widget]) -> str:
    """A scenario TOML with one action per widget a user changes, each described."""
    forms: dict[str, list[Widget]] = {}
    for widget in widgets:
        if widget.proto.form_id and not (
            widget.kind == "button" and widget.proto.is_form_submitter
        ):
            forms.setdefault(widget.proto.form_id, []).append(widget)
    lines = [
        f"# A starter scenario for {url.rstrip('/')}/{page}, written by --discover:",
        "# trim it, weight the actions, set values (app/ops/loadtest.py has the format).",
        f"page = {toml_value(page)}",
        "think_seconds = 0.5",
    ]
    actions = 0
    for widget in widgets:
        action, note = _action(widget, forms)
        lines += [
            "",
            f"# {widget.kind} {widget.name!r}: {describe(widget)}" + (f"; {note}" if note else ""),
        ]
        if widget.proto.disabled:
            lines[-1] += "; disabled"
            continue
        if not action:
            continue
        table = ["[[actions]]", f"widget = {toml_value(widget.name)}"]
        table += [f"{key} = {toml_value(value)}" for key, value in action.items()]
        if action["change"] == "upload":  # a file of the user's: left for them to name
            table = [f"# {line}" for line in table]
        else:
            actions += 1
        lines += table
    if not actions:
        lines += [
            "",
            "# No widget to change: rerun the page as it is.",
            "[[actions]]",
            'change = "rerun"',
        ]
    return "\n".join(lines) + "\n"


async def read_page(
    url: str, page: str, headers: Mapping[str, str], timeout: float
) -> tuple[RunResult, list[Widget]]:
    """One run of the page: what it showed and its widgets in page order."""
    async with Session(url, headers, timeout=timeout, page=page) as tab:
        run = await tab.run()
    return run, list(run.widgets.values())


def main(
    url: str, page: str, headers: Mapping[str, str], write: Path | None, timeout: float
) -> int:
    """List the page's widgets and write the starter scenario (stdout without `write`)."""
    page = page.strip("/")
    try:
        run, widgets = asyncio.run(read_page(url, page, headers, timeout))
    except StreamlitError as error:
        print(f"loadtest: {error}", file=sys.stderr)
        return 1
    for exception in run.exceptions:
        print(f"loadtest: the page raised {exception}", file=sys.stderr)
    scenario = starter(url, page, widgets)
    if write is None:
        print(scenario, end="")
        return 0
    for widget in widgets:
        print(f"{widget.kind:<14} {widget.name!r}: {describe(widget)}")
    write.write_text(scenario)
    print(f"wrote {write}: {len(widgets)} widgets")
    return 0
