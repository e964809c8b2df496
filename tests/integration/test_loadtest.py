"""`make loadtest` against a real Streamlit server running an app of a user's own
with a scenario naming its widgets. The app writes each run's widget values to
a file, so the test sees from the server's side that the actions really
changed them. (The reference app's shipped scenario: tests/reference/.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.ops.loadtest import Scenario, ScenarioError
from tests.support.ops import make_loadtest
from tests.support.servers import dashboard

USER_APP = """
import json, os
import streamlit as st

temperature = st.slider("Temperature", 0, 40, 20)
city = st.selectbox("City", ["Oslo", "Lima", "Pune", "Kobe"])
tags = st.multiselect("Tags", ["a", "b", "c", "d"], default=["a"])
clicked = st.button("Refresh")
with open(os.environ["RUNS_FILE"], "a") as runs:
    runs.write(json.dumps([temperature, city, tags, clicked]) + "\\n")
st.metric("City", city)
"""
USER_SCENARIO = """
think_seconds = 0.05
watch = "City:"
[[actions]]
widget = "Temperature"
change = "choice"
stops = 5
[[actions]]
widget = "City"
change = "choice"
[[actions]]
widget = "Tags"
change = "subset"
[[actions]]
widget = "Refresh"
change = "click"
"""
SESSIONS, RERUNS = 4, 6


def test_a_users_own_app_and_scenario(tmp_path: Path):
    (tmp_path / "user_app.py").write_text(USER_APP)
    (tmp_path / "scenario.toml").write_text(USER_SCENARIO)
    runs_file = tmp_path / "runs.jsonl"
    env = {"RUNS_FILE": str(runs_file)}
    with dashboard(env, tmp_path / "user.log", script=str(tmp_path / "user_app.py")) as server:
        result = make_loadtest(
            server.url,
            f"SCENARIO={tmp_path / 'scenario.toml'}",
            f"LOADTEST_ARGS=--sessions {SESSIONS} --reruns {RERUNS}",
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{SESSIONS} sessions, {SESSIONS * RERUNS}/{SESSIONS * RERUNS} reruns" in result.stdout
    assert "errors: none" in result.stdout
    runs = [json.loads(line) for line in runs_file.read_text().splitlines()]
    assert len(runs) == SESSIONS * (RERUNS + 1)  # each session's first run, then its reruns
    temperatures, cities, tags, clicks = zip(*runs, strict=True)
    # Every kind of action reached the server: values other than the defaults.
    assert set(temperatures) - {20}
    assert set(cities) - {"Oslo"}
    assert {tuple(t) for t in tags} - {("a",)}
    assert any(clicks)


# A second app of a user's own, on the platform (session.run): its default page has
# one widget of each family the load tool changes, its "notes" page a form. Every
# run appends what each widget returned to RUNS_FILE.
WIDGETS_APP = """
import datetime as dt
import json, os
import pandas as pd
import streamlit as st
from app.dashboard import session

def record(page, values):
    tab = st.session_state.setdefault("tab", os.urandom(4).hex())
    with open(os.environ["RUNS_FILE"], "a") as runs:
        runs.write(json.dumps({"page": page, "tab": tab, **values}, default=str) + "\\n")

def widgets():
    attachment = st.file_uploader("Attachment")
    stock = st.data_editor(pd.DataFrame({"item": ["bolt", "nut"], "qty": [1, 2]}), key="stock")
    record("widgets", {
        "Name": st.text_input("Name"),
        "Comment": st.text_area("Comment", max_chars=40),
        "Quantity": st.number_input("Quantity", 0, 100, 5),
        "Agree": st.checkbox("Agree"),
        "Dark mode": st.toggle("Dark mode"),
        "Size": st.radio("Size", ["S", "M", "L"]),
        "City": st.selectbox("City", ["Oslo", "Lima", "Pune"]),
        "Tags": st.multiselect("Tags", ["a", "b", "c"]),
        "Temperature": st.slider("Temperature", 0, 40, 20),
        "Band": st.slider("Band", 0.0, 1.0, (0.2, 0.8)),
        "Days": st.slider(
            "Days", dt.date(2024, 1, 1), dt.date(2024, 12, 31),
            (dt.date(2024, 3, 1), dt.date(2024, 4, 1)),
        ),
        "Level": st.select_slider("Level", ["low", "mid", "high"]),
        "Day": st.date_input("Day", dt.date(2024, 5, 5)),
        "Trip": st.date_input("Trip", (dt.date(2024, 5, 5), dt.date(2024, 5, 9))),
        "Refresh": st.button("Refresh"),
        "Attachment": attachment.getvalue().decode() if attachment else None,
        "stock": json.loads(stock.to_json(orient="records")),
    })

def notes():
    with st.form("note", clear_on_submit=True):
        note = st.text_area("Note")
        copies = st.number_input("Copies", 1, 10, 1)
        recorded = st.form_submit_button("Record")
    record("notes", {"Note": note, "Copies": copies, "Record": recorded})

session.run([
    st.Page(widgets, title="Widgets", default=True),
    st.Page(notes, title="Notes", url_path="notes"),
])
"""
# What each widget returns before anyone touches it.
DEFAULTS = {
    "Name": "",
    "Comment": "",
    "Quantity": 5,
    "Agree": False,
    "Dark mode": False,
    "Size": "S",
    "City": "Oslo",
    "Tags": [],
    "Temperature": 20,
    "Band": [0.2, 0.8],
    "Days": ["2024-03-01", "2024-04-01"],
    "Level": "low",
    "Day": "2024-05-05",
    "Trip": ["2024-05-05", "2024-05-09"],
    "Refresh": False,
    "Attachment": None,
    "stock": [{"item": "bolt", "qty": 1}, {"item": "nut", "qty": 2}],
}
WIDGET_KINDS = {
    *("text_input", "text_area", "number_input", "checkbox", "toggle", "radio", "selectbox"),
    *("multiselect", "slider", "select_slider", "date_input", "button", "file_uploader"),
    "data_editor",
}
ATTACHMENT = "part,count\nbolt,3\n"
# Every kind of action, one widget each (the file is relative to the scenario).
WIDGETS_SCENARIO = """
think_seconds = 0
[[actions]]
widget = "Name"
change = "choice"
[[actions]]
widget = "Comment"
change = "choice"
values = ["short", "a longer comment"]
[[actions]]
widget = "Quantity"
change = "choice"
stops = 5
[[actions]]
widget = "Agree"
change = "click"
[[actions]]
widget = "Dark mode"
change = "click"
[[actions]]
widget = "Size"
change = "choice"
[[actions]]
widget = "City"
change = "fixed"
value = "Pune"
[[actions]]
widget = "Tags"
change = "subset"
[[actions]]
widget = "Temperature"
change = "choice"
[[actions]]
widget = "Band"
change = "range"
[[actions]]
widget = "Days"
change = "range"
[[actions]]
widget = "Level"
change = "choice"
[[actions]]
widget = "Day"
change = "choice"
[[actions]]
widget = "Trip"
change = "range"
[[actions]]
widget = "Refresh"
change = "click"
[[actions]]
widget = "Attachment"
change = "upload"
file = "files/attachment.csv"
[[actions]]
widget = "stock"
change = "edit"
column = "qty"
values = [7, 9]
"""
NOTES_SCENARIO = """
page = "notes"
think_seconds = 0
[[actions]]
widget = "Record"
change = "submit"
fields = { Note = "from the load tool", Copies = 3 }
"""


@dataclass
class WidgetsApp:
    url: str
    runs_file: Path
    folder: Path

    def runs_since(self, start: int) -> list[dict]:
        lines = self.runs_file.read_text().splitlines()[start:]
        return [json.loads(line) for line in lines]

    def runs_so_far(self) -> int:
        return len(self.runs_file.read_text().splitlines()) if self.runs_file.exists() else 0

    def scenario(self, name: str, text: str) -> str:
        path = self.folder / name
        path.write_text(text)
        return f"SCENARIO={path}"


@pytest.fixture(scope="module")
def widgets_app(sqlite_env: dict, tmp_path_factory) -> Iterator[WidgetsApp]:
    folder = tmp_path_factory.mktemp("widgets-app")
    (folder / "widgets_app.py").write_text(WIDGETS_APP)
    (folder / "files").mkdir()
    (folder / "files/attachment.csv").write_text(ATTACHMENT)
    runs_file = folder / "runs.jsonl"
    env = {**sqlite_env, "RUNS_FILE": str(runs_file)}
    with dashboard(env, folder / "app.log", script=str(folder / "widgets_app.py")) as server:
        yield WidgetsApp(server.url, runs_file, folder)


def test_every_action_changes_its_widget_on_the_server(widgets_app: WidgetsApp):
    start = widgets_app.runs_so_far()
    result = make_loadtest(
        widgets_app.url,
        widgets_app.scenario("widgets.toml", WIDGETS_SCENARIO),
        "LOADTEST_ARGS=--sessions 2 --reruns 40",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 sessions, 80/80 reruns" in result.stdout
    runs = widgets_app.runs_since(start)
    assert len(runs) == 2 * 41
    seen = {name: [run[name] for run in runs] for name in DEFAULTS}
    for name, default in DEFAULTS.items():
        assert default in seen[name], (name, "the first runs show the defaults")
        assert any(value != default for value in seen[name]), (name, "never changed")
    # Each value is one the action can send.
    assert all(name.startswith("load test ") for name in set(seen["Name"]) - {""})
    assert set(seen["Comment"]) <= {"", "short", "a longer comment"}
    assert set(seen["City"]) == {"Oslo", "Pune"}
    assert {v for v in seen["Quantity"]} <= {0, 5, 25, 50, 75, 100}
    assert all(start <= end for start, end in seen["Days"] + seen["Trip"])
    assert set(seen["Attachment"]) == {None, ATTACHMENT}
    assert {row["qty"] for stock in seen["stock"] for row in stock} <= {1, 2, 7, 9}
    assert {stock[0]["item"] for stock in seen["stock"]} == {"bolt"}
    # A press is one rerun's: after a tab's first press, its runs are not all pressed.
    tabs = [
        [run["Refresh"] for run in runs if run["tab"] == tab] for tab in {r["tab"] for r in runs}
    ]
    after = [presses[presses.index(True) + 1 :] for presses in tabs if True in presses[:-3]]
    assert after
    assert all(False in presses for presses in after)


def test_a_form_on_another_page_is_filled_and_submitted(widgets_app: WidgetsApp):
    start = widgets_app.runs_so_far()
    result = make_loadtest(
        widgets_app.url,
        widgets_app.scenario("notes.toml", NOTES_SCENARIO),
        "LOADTEST_ARGS=--sessions 2 --reruns 3",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    runs = widgets_app.runs_since(start)
    assert {run["page"] for run in runs} == {"notes"}
    submitted = [run for run in runs if run["Record"]]
    assert len(submitted) == 2 * 3
    assert all((r["Note"], r["Copies"]) == ("from the load tool", 3) for r in submitted)


@pytest.mark.parametrize(
    ("scenario", "args", "kind", "first"),
    [
        (
            '[[actions]]\nwidget = "Humidity"\nchange = "choice"\n',
            "",
            "scenario",
            "no widget 'Humidity' on the page (['Agree', 'Attachment', 'Band', 'City', ",
        ),
        # --page wins over the scenario's page = "notes".
        (
            NOTES_SCENARIO,
            "--page nope",
            "no page",
            "no page 'nope' (pages: ['', 'notes', '_platform'])",
        ),
    ],
    ids=["widget", "page"],
)
def test_an_unknown_widget_or_page_is_named_with_its_first_message(
    widgets_app: WidgetsApp, scenario: str, args: str, kind: str, first: str
):
    path = widgets_app.scenario("unknown.toml", scenario)
    result = make_loadtest(widgets_app.url, path, f"LOADTEST_ARGS=--sessions 2 {args}")
    assert result.returncode != 0  # make's own status: the tool exited 1
    assert "0/10 reruns" in result.stdout
    assert f"  {kind}: 2 sessions, the first: {first}" in result.stdout
    as_json = make_loadtest(widgets_app.url, path, f"LOADTEST_ARGS=--sessions 2 {args} --json")
    errors = json.loads(as_json.stdout.splitlines()[-1])["errors"]
    assert list(errors) == [kind]
    assert errors[kind]["count"] == 2
    assert errors[kind]["first"].startswith(first)


def test_sign_in_where_nothing_asks_for_it_stops_before_any_session(widgets_app: WidgetsApp):
    """--sign-in needs an edge with a login form (tests/e2e signs in through one)."""
    result = make_loadtest(widgets_app.url, "LOADTEST_ARGS=--sign-in x@example.com")
    assert result.returncode != 0
    assert f"loadtest: {widgets_app.url}/ (HTTP 200) did not ask to sign in" in result.stderr


@pytest.mark.parametrize("page", ["", "notes"])
def test_discover_lists_the_widgets_and_its_starter_scenario_runs(
    widgets_app: WidgetsApp, tmp_path: Path, page: str
):
    starter = tmp_path / "starter.toml"
    result = make_loadtest(
        widgets_app.url, f"LOADTEST_ARGS=--discover --page '{page}' --write {starter}"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    listed = {line.split()[0] for line in lines if line.split()[0] in WIDGET_KINDS}
    assert listed == ({"text_area", "number_input", "button"} if page else WIDGET_KINDS)
    described = (
        ["text_area      'Note': text", "button         'Record': submits the form 'note'"]
        if page
        else [
            "radio          'Size': options: S, M, L",
            "slider         'Days': two-ended, 2024-01-01 to 2024-12-31, step 1 day",
            "number_input   'Quantity': 0 to 100, step 1",
            "data_editor    'stock': 2 rows; columns: item, qty",
        ]
    )
    assert set(described) <= set(lines), result.stdout
    scenario = Scenario.load(starter)
    assert scenario.page == page
    start = widgets_app.runs_so_far()
    run = make_loadtest(
        widgets_app.url, f"SCENARIO={starter}", "LOADTEST_ARGS=--sessions 2 --reruns 8"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 sessions, 16/16 reruns" in run.stdout
    runs = widgets_app.runs_since(start)
    assert {r["page"] for r in runs} == {page or "widgets"}
    if page:  # the form was filled and submitted
        assert any(r["Record"] and r["Note"] == "load test" for r in runs)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[actions]]\nwidget = 'X'\nchange = 'drag'\n", r"actions\[1\]: change must be one of"),
        ("[[actions]]\nwidget = 'X'\nchange = 'fixed'\n", r"actions\[1\]: .*needs a value"),
        ("[[actions]]\nwidget = 'X'\nchange = 'choice'\nspeed = 2\n", r"actions\[1\]: .*speed"),
        ("think_seconds = 1\n", r"no \[\[actions\]\]"),
        ("thinking = 1\n[[actions]]\nwidget = 'X'\nchange = 'click'\n", r"unknown key.*thinking"),
        ("[[actions]\n", r"scenario.toml: "),
    ],
)
def test_a_bad_scenario_is_named_before_any_session(tmp_path: Path, text: str, message: str):
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message):
        Scenario.load(path)
    result = make_loadtest("http://127.0.0.1:9", f"SCENARIO={path}")
    assert result.returncode != 0
    assert "loadtest: " in result.stderr
    assert "Traceback" not in result.stderr
