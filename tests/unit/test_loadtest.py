"""The load tool's pure parts: scenario files, the values actions draw, the widget
states they become, the starter scenario --discover writes and the login form
--sign-in fills. (Against real servers: tests/integration/test_loadtest.py.)"""

from __future__ import annotations

import json
import random
import tomllib
from pathlib import Path

import pytest
from streamlit.proto.Checkbox_pb2 import Checkbox
from streamlit.proto.DateInput_pb2 import DateInput
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.MultiSelect_pb2 import MultiSelect
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider

from app.ops.discover import starter, toml_value
from app.ops.loadtest import Action, Scenario, ScenarioError, draw, positions
from app.ops.signin import login_form
from app.ops.stream_client import StreamlitError, Widget, widget_kind, widget_value

RNG = random.Random(0)


def _widget(kind: str, proto: object, name: str = "W") -> Widget:
    return Widget(kind, f"$$ID-abc-{name}", name, proto, name)


def test_an_upload_reads_its_file_relative_to_the_scenario(tmp_path: Path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files/a.csv").write_bytes(b"a,b\n")
    (tmp_path / "s.toml").write_text(
        '[[actions]]\nwidget = "F"\nchange = "upload"\nfile = "files/a.csv"\n'
    )
    (action,) = Scenario.load(tmp_path / "s.toml").actions
    assert (action.content, Path(action.file).name) == (b"a,b\n", "a.csv")
    assert Scenario.load(tmp_path / "s.toml").uploads


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ('widget = "F"\nchange = "upload"', r'needs file = "<path>"'),
        ('widget = "F"\nchange = "upload"\nfile = "none.csv"', r"file: .*none\.csv"),
        ('widget = "E"\nchange = "edit"\nvalue = 1', r"needs a column and a value"),
        ('widget = "E"\nchange = "edit"\ncolumn = "qty"', r"needs a column and a value"),
        ('widget = "B"\nchange = "click"\nfields = {a = 1}', r"fields is a table, for .*submit"),
        ('widget = "B"\nchange = "click"\ncontent = "x"', r"unknown key\(s\) content"),
    ],
)
def test_a_bad_action_is_named(tmp_path: Path, action: str, message: str):
    (tmp_path / "s.toml").write_text(f"[[actions]]\n{action}\n")
    with pytest.raises(ScenarioError, match=message):
        Scenario.load(tmp_path / "s.toml")


def test_positions_are_evenly_spaced_on_the_step_grid():
    assert positions(0, 40, 5) == [0, 10, 20, 30, 40]
    assert positions(0, 10, 4, step=1) == [0, 3, 7, 10]
    assert positions(0, 2, 5, step=1) == [0, 1, 2]


def test_a_click_flips_a_checkbox_from_what_the_tab_sent_last():
    box = _widget("toggle", Checkbox(default=False, type=Checkbox.TOGGLE))
    click = Action("click", "W")
    assert draw(click, box, RNG) is True
    assert draw(click, box, RNG, sent=True) is False


def test_range_draws_two_ends_in_order_and_choice_one():
    band = _widget("slider", Slider(min=0, max=1, step=0.25, default=[0.25, 0.75]))
    for _ in range(20):
        low, high = draw(Action("range", "W", stops=5), band, RNG)
        assert low < high
        assert {low, high} <= {0, 0.25, 0.5, 0.75, 1}
    level = _widget("select_slider", Slider(options=["low", "mid", "high"], default=[0]))
    assert draw(Action("choice", "W"), level, RNG)[0] in ("low", "mid", "high")
    trip = _widget("date_input", DateInput(min="2024-01-01", max="2024-01-31", is_range=True))
    start, end = draw(Action("range", "W", stops=31), trip, RNG)
    assert "2024-01-01" <= start < end <= "2024-01-31"


def test_a_change_that_does_not_fit_the_widget_says_what_would():
    band = _widget("slider", Slider(min=0, max=1, default=[0.2, 0.8]), "Band")
    with pytest.raises(StreamlitError, match=r"'choice' cannot change the slider 'Band'.*range"):
        draw(Action("choice", "Band"), band, RNG)
    tags = _widget("multiselect", MultiSelect(options=["a"]), "Tags")
    with pytest.raises(StreamlitError, match=r"'click' cannot change the multiselect 'Tags'"):
        draw(Action("click", "Tags"), tags, RNG)


def test_an_unbounded_number_input_steps_around_its_value():
    price = _widget("number_input", NumberInput(default=2.0, step=0.5, data_type=NumberInput.FLOAT))
    drawn = {draw(Action("choice", "W", stops=4), price, RNG) for _ in range(50)}
    assert drawn == {1.0, 1.5, 2.0, 2.5, 3.0}


def test_values_go_in_the_field_their_widget_registers():
    days = _widget("slider", Slider(data_type=Slider.DATE))
    assert list(widget_value(days, ["1970-01-02"]).double_array_value.data) == [86_400_000_000]
    day = _widget("date_input", DateInput())
    assert list(widget_value(day, "2024-05-31").string_array_value.data) == ["2024-05-31"]
    editor = _widget("data_editor", None)
    edits = {"edited_rows": {"0": {"qty": 3}}, "added_rows": [], "deleted_rows": []}
    assert json.loads(widget_value(editor, edits).string_value) == edits
    uploader = _widget("file_uploader", None)
    (info,) = widget_value(
        uploader, [("id-1", "a.csv", 4)]
    ).file_uploader_state_value.uploaded_file_info
    assert (info.file_id, info.name, info.size) == ("id-1", "a.csv", 4)


def test_a_value_that_does_not_fit_is_a_scenario_error():
    quantity = _widget("number_input", NumberInput(), "Quantity")
    with pytest.raises(StreamlitError, match=r"'many' is no value for the number_input 'Quantity'"):
        widget_value(quantity, "many")


def test_widget_kinds_tell_toggles_select_sliders_and_data_editors_apart():
    element = Element()
    element.checkbox.type = Checkbox.TOGGLE
    assert widget_kind("checkbox", element.checkbox) == "toggle"
    element.slider.type = Slider.SELECT_SLIDER
    assert widget_kind("slider", element.slider) == "select_slider"
    element.dataframe.id = "$$ID-abc-stock"
    assert widget_kind("dataframe", element.dataframe) is None  # read-only: st.dataframe
    element.dataframe.editing_mode = element.dataframe.EditingMode.FIXED
    assert widget_kind("dataframe", element.dataframe) == "data_editor"
    assert _widget("data_editor", None, "stock").key == "stock"


def test_the_starter_fills_a_form_through_its_submit_button_and_parses():
    note = Element()
    note.text_area.label, note.text_area.form_id = "Note", "f"
    submit = Element()
    submit.button.label, submit.button.form_id, submit.button.is_form_submitter = "Save", "f", True
    uploader = Element()
    uploader.file_uploader.label = "File"
    widgets = [
        _widget("text_area", note.text_area, "Note"),
        _widget("button", submit.button, "Save"),
        _widget("file_uploader", uploader.file_uploader, "File"),
    ]
    text = starter("http://h", "notes", widgets)
    data = tomllib.loads(text)
    assert data["page"] == "notes"
    assert data["actions"] == [
        {"widget": "Save", "change": "submit", "fields": {"Note": "load test"}}
    ]  # the upload is written commented out: it needs a file of the user's
    assert '# file = "path/to/a/file"' in text


def test_toml_values_round_trip():
    value = {'a "quoted" label': ["x\ny", 1, 2.5, True, "é"]}
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value


def test_the_login_form_is_the_first_with_a_field_to_type_the_user_into():
    html = """
    <form method="post" action="/deny"><button name="action" value="deny">Deny</button></form>
    <form method="post"><input type="hidden" name="state" value="s1">
      <input type="text" name="sub" required></form>
    """
    form = login_form(html)
    assert (form.method, form.action, form.identity, form.fields) == (
        "post",
        "",
        "sub",
        {"state": "s1"},
    )
    assert login_form("<p>no form</p>") is None
