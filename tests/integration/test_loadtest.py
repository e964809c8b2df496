"""`make loadtest` against a real Streamlit server running an app of a user's own
with a scenario naming its widgets. The app writes each run's widget values to
a file, so the test sees from the server's side that the actions really
changed them. (The reference app's shipped scenario: tests/reference/.)"""

from __future__ import annotations

import json
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


def test_a_widget_missing_from_the_page_is_an_error_by_kind(tmp_path: Path):
    (tmp_path / "user_app.py").write_text(USER_APP)
    (tmp_path / "scenario.toml").write_text('[[actions]]\nwidget = "Humidity"\nchange = "choice"\n')
    env = {"RUNS_FILE": str(tmp_path / "runs.jsonl")}
    with dashboard(env, tmp_path / "user.log", script=str(tmp_path / "user_app.py")) as server:
        result = make_loadtest(
            server.url, f"SCENARIO={tmp_path / 'scenario.toml'}", "LOADTEST_ARGS=--sessions 2"
        )
    assert result.returncode != 0  # make's own status: the tool exited 1
    assert "0/10 reruns" in result.stdout
    assert "errors: {'scenario': 2}" in result.stdout


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
