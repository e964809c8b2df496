"""A browserless Streamlit client: one WebSocket session that runs the page and moves widgets.

It speaks Streamlit's own protocol (protobuf ``BackMsg`` out, ``ForwardMsg``
in, from the installed ``streamlit.proto``), as the browser does:

1. open ``/_stcore/stream`` with ``streamlit`` as the first subprotocol;
2. send ``rerun_script`` with a ``ClientState``: opening alone runs nothing;
3. read ``delta`` messages (elements, widgets) until ``script_finished``.

A widget's value goes back as the ``WidgetState`` field its Streamlit widget
registers (``value_type`` in ``streamlit/elements/widgets/*.py``); a file is
uploaded over HTTP first (``PUT /_stcore/upload_file/<session>/<file>``, with
the XSRF cookie and token as the browser sends them) and then named in the
uploader's state.

Smoke tests, the container and edge tests and the load tool all drive the app
through it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit, urlunsplit

import requests
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Checkbox_pb2 import Checkbox
from streamlit.proto.Dataframe_pb2 import Dataframe
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = ForwardMsg.ScriptFinishedStatus
# The URL path of the platform's status page, which every app on the platform has
# (app/dashboard/session.py): who is signed in, the replica, the database, the API.
STATUS_PAGE = "_platform"
# Streamlit's XSRF cookie; an upload sends its value back as the X-Xsrftoken header.
XSRF_COOKIE = "_streamlit_xsrf"
# Element types that are widgets as they are (others are told apart below).
PLAIN_WIDGETS = frozenset(
    {
        "button",
        "date_input",
        "file_uploader",
        "multiselect",
        "number_input",
        "radio",
        "selectbox",
        "text_area",
        "text_input",
    }
)


class StreamlitError(Exception):
    """A session failed; `kind` says how (for error counts in load tests)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass
class Widget:
    """A widget the page showed. `name` is how scenarios find it: its label, else
    the ``key=`` the app gave it (a data editor has no label), else ``<kind> <n>``."""

    kind: str
    id: str
    label: str
    proto: object = field(repr=False)
    name: str = ""

    @property
    def key(self) -> str:
        """The app's ``key=`` (Streamlit ends the widget's id with it), or ""."""
        key = self.id.split("-", 2)[2] if self.id.count("-") >= 2 else "None"
        return "" if key == "None" else key


@dataclass
class RunResult:
    """What one script run sent: its status, widgets by name and visible text."""

    status: str
    seconds: float
    widgets: dict[str, Widget]
    texts: list[str]
    exceptions: list[str]
    received: int = 0  # bytes of the run's messages, as they came over the socket


def stream_url(base_url: str) -> str:
    """ws(s)://host/prefix/_stcore/stream for an http(s) base URL."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/") + "/_stcore/stream"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def rerun_message(
    page_script_hash: str = "", widgets: Iterable[WidgetState] = (), page_name: str = ""
) -> bytes:
    """A serialized BackMsg asking for a script run with these widget values.

    A run names its page by hash once the server has said which it is; before
    that, by ``page_name``: the URL path a browser would open (``notes`` for
    ``/notes``; empty for the default page).
    """
    message = BackMsg()
    state = message.rerun_script
    state.page_script_hash = page_script_hash
    state.page_name = "" if page_script_hash else page_name
    state.widget_states.widgets.extend(widgets)
    return message.SerializeToString()


def widget_kind(element_kind: str, proto: object) -> str | None:
    """The widget kind of an element (None: not a widget). A toggle is a checkbox
    of type TOGGLE, a select_slider a slider of type SELECT_SLIDER, and a data
    editor a dataframe that allows editing."""
    if element_kind in PLAIN_WIDGETS:
        return element_kind
    if element_kind == "checkbox":
        return "toggle" if proto.type == Checkbox.TOGGLE else "checkbox"
    if element_kind == "slider":
        return "select_slider" if proto.type == Slider.SELECT_SLIDER else "slider"
    if element_kind == "dataframe" and proto.id and proto.editing_mode != Dataframe.READ_ONLY:
        return "data_editor"
    return None


def _listed(value: object) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def _iso_date(value: object) -> str:
    """A date as the date input sends it (YYYY-MM-DD), from a date or its text."""
    if isinstance(value, date):
        return value.isoformat()[:10]
    return date.fromisoformat(str(value)).isoformat()


def slider_number(widget: Widget, value: object) -> float:
    """A slider position as the slider sends it: the number, or for a date or
    datetime slider the microseconds since 1970 of the wall-clock time read as UTC."""
    if isinstance(value, int | float) or widget.proto.data_type not in (
        Slider.DATE,
        Slider.DATETIME,
    ):
        return float(value)
    moment = value if isinstance(value, date) else datetime.fromisoformat(str(value))
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return (moment.replace(tzinfo=UTC) - epoch) // timedelta(microseconds=1)


def widget_value(widget: Widget, value: object) -> WidgetState:
    """The WidgetState that sets `widget` to `value`, in the field its kind uses.

    Values: text for text fields, radios and selectboxes (the option as shown);
    a number for number inputs; a bool for checkboxes, toggles and buttons (a
    press); lists for multiselects; one or two positions for sliders (numbers,
    or dates as ``YYYY-MM-DD`` on date sliders; options on select_sliders); one
    or two dates for date inputs; a data editor's edit state (a dict or its
    JSON); ``(file_id, name, size)`` triples of uploaded files for uploaders.
    """
    try:
        return _widget_state(widget, value)
    except (TypeError, ValueError) as error:
        raise StreamlitError(
            "scenario", f"{value!r} is no value for the {widget.kind} {widget.name!r} ({error})"
        ) from None


def _widget_state(widget: Widget, value: object) -> WidgetState:
    state = WidgetState(id=widget.id)
    kind = widget.kind
    if kind == "button":
        state.trigger_value = bool(value)
    elif kind in ("checkbox", "toggle"):
        state.bool_value = bool(value)
    elif kind == "number_input":
        state.double_value = float(value)
    elif kind in ("text_input", "text_area", "selectbox", "radio"):
        state.string_value = str(value)
    elif kind in ("multiselect", "select_slider"):
        state.string_array_value.data.extend(str(v) for v in _listed(value))
    elif kind == "slider":
        state.double_array_value.data.extend(slider_number(widget, v) for v in _listed(value))
    elif kind == "date_input":
        state.string_array_value.data.extend(_iso_date(v) for v in _listed(value))
    elif kind == "data_editor":
        state.string_value = value if isinstance(value, str) else json.dumps(value, default=str)
    elif kind == "file_uploader":
        for file_id, name, size in value:
            state.file_uploader_state_value.uploaded_file_info.add(
                file_id=file_id, name=name, size=size
            )
    else:
        raise StreamlitError("scenario", f"a {kind} takes no value")
    return state


def _element_text(kind: str, element: object) -> str | None:
    if kind == "markdown":
        return element.body
    if kind == "metric":
        return f"{element.label}: {element.body}"
    if kind in ("alert", "heading", "text"):
        return element.body
    return None


def editor_rows(widget: Widget) -> list[dict]:
    """A data editor's rows as the page sent them (column name to value), without
    the index's columns (pandas' ``__index_level_<n>__``)."""
    import pyarrow  # Streamlit's own dependency; only data editors need it

    data = widget.proto.arrow_data.data
    if not data:
        return []
    rows = pyarrow.ipc.open_stream(data).read_all().to_pylist()
    return [{k: v for k, v in row.items() if not k.startswith("__index_level_")} for row in rows]


def parse_cookie_header(headers: Mapping[str, str]) -> dict[str, str]:
    """The cookies of a ``Cookie`` header among `headers`, by name."""
    value = next((v for k, v in headers.items() if k.lower() == "cookie"), "")
    pairs = (part.strip().partition("=") for part in value.split(";"))
    return {name: val for name, eq, val in pairs if eq and name}


def load_page(
    base_url: str,
    headers: Mapping[str, str],
    timeout: float,
    paths: tuple[str, ...] = ("/", "/_stcore/health"),
) -> dict[str, str]:
    """What a browser fetches before it opens the session: the page (where an edge
    sets its sticky-replica cookie) and the health check (where Streamlit sets its
    XSRF cookie). Returns the cookies of `headers` with those the `paths` set.

    Set-Cookie is read by hand: requests' jar would not send back a Secure
    cookie over http://localhost, which a browser does.
    """
    cookies = parse_cookie_header(headers)
    for path in paths:
        url = f"{base_url}{path}"
        sent = {k: v for k, v in headers.items() if k.lower() != "cookie"}
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        try:
            response = requests.get(url, headers=sent, timeout=timeout, allow_redirects=False)
        except requests.RequestException as error:
            raise StreamlitError("page load failed", f"{url}: {error}") from None
        if response.status_code != 200:
            raise StreamlitError("page load failed", f"HTTP {response.status_code} from {url}")
        jar = SimpleCookie()
        for header in response.raw.headers.getlist("Set-Cookie"):
            try:
                jar.load(header)
            except CookieError:
                continue
        cookies |= {name: morsel.value for name, morsel in jar.items()}
    return cookies


class Session:
    """One simulated browser tab. Use as ``async with Session(url) as s: await s.run()``.

    `headers` go with the WebSocket handshake (and uploads): a sign-in cookie
    behind a proxy. With `load_page`, the tab first loads the page as a browser
    does (``load_page``) and keeps the cookies it gets: its own sticky replica
    behind an edge, and the XSRF cookie that uploads need.
    """

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        page: str = "",
        load_page: bool = False,
    ):
        self.base_url = base_url.rstrip("/")
        self.url = stream_url(base_url)
        self.page = page.strip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.load_page = load_page
        self.page_script_hash = ""
        # The server's id of this session (uploads name it): set by the first run.
        self.session_id = ""
        self.widgets: dict[str, Widget] = {}
        # The app's pages by URL path ("" the default), from its navigation.
        self.pages: list[str] = []
        # Values this tab has set so far, by widget id: sent again on every
        # rerun, as a browser does, so one change does not reset the others.
        self._states: dict[str, WidgetState] = {}
        self._files: dict[str, str] = {}  # the file each uploader holds, by widget id
        self._socket = None

    async def __aenter__(self) -> Session:
        if self.load_page:
            await self._load_page()
        try:
            self._socket = await asyncio.wait_for(
                websockets.connect(
                    self.url,
                    subprotocols=["streamlit"],
                    additional_headers=self.headers,
                    max_size=None,
                    open_timeout=self.timeout,
                ),
                self.timeout,
            )
        except websockets.InvalidStatus as error:
            raise StreamlitError(
                "upgrade refused", f"HTTP {error.response.status_code} from {self.url}"
            ) from None
        except websockets.InvalidURI as error:
            # The handshake was redirected to a web page: a proxy asking to sign in.
            raise StreamlitError("upgrade refused", f"redirected to {error.uri}") from None
        except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
            raise StreamlitError("connect failed", f"{self.url}: {error}") from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._socket is not None:
            await self._socket.close()

    async def run(self, widgets: Iterable[WidgetState] = ()) -> RunResult:
        """Run the current page with these widget values; wait for the run to finish."""
        started = time.perf_counter()
        try:
            await self._socket.send(rerun_message(self.page_script_hash, widgets, self.page))
            return await asyncio.wait_for(self._read_run(started), self.timeout)
        except TimeoutError:
            raise StreamlitError(
                "timeout", f"no script_finished within {self.timeout:.0f} s"
            ) from None
        except websockets.ConnectionClosed as error:
            raise StreamlitError("socket closed", str(error)) from None

    async def set(self, name: str, value: object) -> RunResult:
        """Set one widget (found by name in the last run) and rerun, as a user would.

        Values set earlier are sent along: filters add up as in a browser. A button's
        press is sent once, in this rerun only.
        """
        state = widget_value(self.widget(name), value)
        if state.WhichOneof("value") == "trigger_value":
            return await self.run([*self._states.values(), state])
        self._states[state.id] = state
        return await self.rerun()

    async def rerun(self) -> RunResult:
        """Run the page again with the values set so far (a browser's reload of the page)."""
        return await self.run(list(self._states.values()))

    async def submit(self, button: str, fields: Mapping[str, object]) -> RunResult:
        """Fill a form's `fields` (by name) and press its submit `button`, in one rerun.

        As a form cleared on submit does, the fields' values are not kept.
        """
        pressed = widget_value(self.widget(button), True)
        filled = [widget_value(self.widget(name), value) for name, value in fields.items()]
        return await self.run([*self._states.values(), *filled, pressed])

    async def edit(self, name: str, row: int, column: str, value: object) -> RunResult:
        """Edit one cell of a data editor and rerun. As in a browser, the editor's
        state holds every edit of this tab so far, this one added."""
        widget = self.widget(name, "data_editor")
        earlier = self._states.get(widget.id)
        edits = (
            json.loads(earlier.string_value)
            if earlier
            else {"edited_rows": {}, "added_rows": [], "deleted_rows": []}
        )
        edits["edited_rows"].setdefault(str(row), {})[column] = value
        self._states[widget.id] = widget_value(widget, edits)
        return await self.rerun()

    async def upload(self, name: str, filename: str, content: bytes) -> RunResult:
        """Put a file in a file uploader, as a browser does: the file it held is
        deleted, the new one uploaded over HTTP, and the uploader's state names it."""
        widget = self.widget(name, "file_uploader")
        file_id = str(uuid.uuid4())
        await asyncio.to_thread(self._upload, widget, file_id, filename, content)
        self._states[widget.id] = widget_value(widget, [(file_id, filename, len(content))])
        return await self.rerun()

    def find(self, name: str) -> Widget | None:
        """The widget of the last run with this name, or else this ``key=``."""
        return self.widgets.get(name) or next(
            (w for w in self.widgets.values() if w.key and w.key == name), None
        )

    def widget(self, name: str, kind: str | None = None) -> Widget:
        """The widget named `name` (``find``), of `kind` if given; an error if none."""
        found = self.find(name)
        if found is None:
            raise StreamlitError("no widget", f"{name!r} not in {sorted(self.widgets)}")
        if kind and found.kind != kind:
            raise StreamlitError("scenario", f"{name!r} is a {found.kind}, not a {kind}")
        return found

    def sent(self, widget: Widget) -> object:
        """The value this tab last sent `widget` (None: none yet): a bool, a number,
        a text, or a list for array values."""
        state = self._states.get(widget.id)
        if state is None:
            return None
        value = getattr(state, state.WhichOneof("value"))
        return list(value.data) if hasattr(value, "data") else value

    async def _load_page(self) -> None:
        self._use_cookies(
            await asyncio.to_thread(load_page, self.base_url, self.headers, self.timeout)
        )

    def _use_cookies(self, cookies: Mapping[str, str]) -> None:
        self.headers = {k: v for k, v in self.headers.items() if k.lower() != "cookie"}
        if cookies:
            self.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())

    def _upload(self, widget: Widget, file_id: str, filename: str, content: bytes) -> None:
        cookies = parse_cookie_header(self.headers)
        if XSRF_COOKIE not in cookies:  # the tab did not load the page: the XSRF cookie alone
            cookies = load_page(self.base_url, self.headers, self.timeout, ("/_stcore/health",))
            self._use_cookies(cookies)
        headers = {**self.headers, "X-Xsrftoken": cookies.get(XSRF_COOKIE, "")}
        files = f"{self.base_url}/_stcore/upload_file/{self.session_id}"
        try:
            if previous := self._files.get(widget.id):
                requests.delete(f"{files}/{previous}", headers=headers, timeout=self.timeout)
            response = requests.put(
                f"{files}/{file_id}",
                files={"file": (filename, content)},
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise StreamlitError("upload failed", f"{files}: {error}") from None
        if response.status_code != 204:
            raise StreamlitError(
                "upload failed", f"HTTP {response.status_code} from {files}: {response.text[:200]}"
            )
        self._files[widget.id] = file_id

    async def _read_run(self, started: float) -> RunResult:
        widgets: dict[str, Widget] = {}
        unnamed: Counter[str] = Counter()
        texts: list[str] = []
        exceptions: list[str] = []
        # Streamlit says page_not_found, then navigates to the default page. A
        # navigation without it overrides: a fresh process of an app with a pages/
        # folder beside its script says it first, then finds the page all the same.
        page_not_found = fallback = False
        received = 0
        while True:
            frame = await self._socket.recv()
            received += len(frame)
            message = ForwardMsg()
            message.ParseFromString(frame)
            kind = message.WhichOneof("type")
            if kind == "new_session":
                new_session = message.new_session
                self.session_id = new_session.initialize.session_id or self.session_id
                self.page_script_hash = new_session.page_script_hash or self.page_script_hash
                self.pages = [page.url_pathname for page in new_session.app_pages] or self.pages
            elif kind == "navigation":
                self.pages = [page.url_pathname for page in message.navigation.app_pages]
                fallback, page_not_found = page_not_found, False
                self.page_script_hash = message.navigation.page_script_hash or self.page_script_hash
            elif kind == "page_not_found":
                page_not_found = True
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                element_kind = element.WhichOneof("type")
                proto = getattr(element, element_kind)
                if widget_type := widget_kind(element_kind, proto):
                    widget = Widget(widget_type, proto.id, getattr(proto, "label", ""), proto)
                    widget.name = widget.label or widget.key
                    if not widget.name:
                        unnamed[widget_type] += 1
                        widget.name = f"{widget_type} {unnamed[widget_type]}"
                    widgets[widget.name] = widget
                elif element_kind == "exception":
                    exceptions.append(f"{proto.type}: {proto.message}")
                text = _element_text(element_kind, proto)
                if text:
                    texts.append(text)
            elif kind == "script_finished":
                status = FINISHED.Name(message.script_finished)
                if message.script_finished == FINISHED.FINISHED_EARLY_FOR_RERUN:
                    continue  # a newer run replaces this one: keep reading
                self.widgets = widgets
                if page_not_found or fallback:
                    raise StreamlitError("no page", f"no page {self.page!r} (pages: {self.pages})")
                if status == "FINISHED_WITH_COMPILE_ERROR":
                    raise StreamlitError("script error", "compile error")
                seconds = time.perf_counter() - started
                return RunResult(status, seconds, widgets, texts, exceptions, received)
