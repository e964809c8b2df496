"""A browserless Streamlit client: one WebSocket session that runs the page and moves widgets.

It speaks Streamlit's own protocol (protobuf ``BackMsg`` out, ``ForwardMsg``
in, from the installed ``streamlit.proto``), as the browser does:

1. open ``/_stcore/stream`` with ``streamlit`` as the first subprotocol;
2. send ``rerun_script`` with a ``ClientState``: opening alone runs nothing;
3. read ``delta`` messages (elements, widgets) until ``script_finished``.

Smoke tests, the container and edge tests and the load benchmark all drive
the app through it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = ForwardMsg.ScriptFinishedStatus
# The URL path of the platform's status page, which every app on the platform has
# (app/dashboard/session.py): who is signed in, the replica, the database, the API.
STATUS_PAGE = "_platform"
# Element types that carry a widget id, and the WidgetState field their value goes in.
WIDGET_VALUE_FIELDS = {
    "slider": "double_array_value",
    "selectbox": "string_value",
    "multiselect": "string_array_value",
    "text_input": "string_value",
    "text_area": "string_value",
    "number_input": "double_value",
    "checkbox": "bool_value",
    "button": "trigger_value",
}


class StreamlitError(Exception):
    """A session failed; `kind` says how (for error counts in load tests)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass
class Widget:
    kind: str
    id: str
    label: str
    proto: object = field(repr=False)


@dataclass
class RunResult:
    """What one script run sent: its status, widgets by label and visible text."""

    status: str
    seconds: float
    widgets: dict[str, Widget]
    texts: list[str]
    exceptions: list[str]


def stream_url(base_url: str) -> str:
    """ws(s)://host/prefix/_stcore/stream for an http(s) base URL."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/") + "/_stcore/stream"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def rerun_message(
    page_script_hash: str = "", widgets: list[WidgetState] = (), page_name: str = ""
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


def widget_value(widget: Widget, value: object) -> WidgetState:
    """The WidgetState that sets `widget` to `value` (a list for sliders and multiselects)."""
    state = WidgetState(id=widget.id)
    value_field = WIDGET_VALUE_FIELDS[widget.kind]
    if value_field.endswith("_array_value"):
        getattr(state, value_field).data.extend(value)
    else:
        setattr(state, value_field, value)
    return state


def _element_text(kind: str, element: object) -> str | None:
    if kind == "markdown":
        return element.body
    if kind == "metric":
        return f"{element.label}: {element.body}"
    if kind in ("alert", "heading", "text"):
        return element.body
    return None


class Session:
    """One simulated browser tab. Use as ``async with Session(url) as s: await s.run()``."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        page: str = "",
    ):
        self.url = stream_url(base_url)
        self.page = page.strip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.page_script_hash = ""
        # The server's id of this session (uploads name it): set by the first run.
        self.session_id = ""
        self.widgets: dict[str, Widget] = {}
        # Values this tab has set so far, by widget id: sent again on every
        # rerun, as a browser does, so one change does not reset the others.
        self._states: dict[str, WidgetState] = {}
        self._socket = None

    async def __aenter__(self) -> Session:
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

    async def run(self, widgets: list[WidgetState] = ()) -> RunResult:
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

    async def set(self, label: str, value: object) -> RunResult:
        """Set one widget (found by label in the last run) and rerun, as a user would.

        Values set earlier are sent along: filters add up as in a browser.
        """
        widget = self._widget(label)
        self._states[widget.id] = widget_value(widget, value)
        return await self.rerun()

    async def rerun(self) -> RunResult:
        """Run the page again with the values set so far (a browser's reload of the page)."""
        return await self.run(list(self._states.values()))

    async def submit(self, button: str, fields: Mapping[str, object]) -> RunResult:
        """Fill a form's `fields` (by label) and press its submit `button`, in one rerun.

        As a form cleared on submit does, the fields' values are not kept.
        """
        pressed = widget_value(self._widget(button), True)
        filled = [widget_value(self._widget(label), value) for label, value in fields.items()]
        return await self.run([*self._states.values(), *filled, pressed])

    def _widget(self, label: str) -> Widget:
        if label not in self.widgets:
            raise StreamlitError("no widget", f"{label!r} not in {sorted(self.widgets)}")
        return self.widgets[label]

    async def _read_run(self, started: float) -> RunResult:
        widgets: dict[str, Widget] = {}
        texts: list[str] = []
        exceptions: list[str] = []
        while True:
            message = ForwardMsg()
            message.ParseFromString(await self._socket.recv())
            kind = message.WhichOneof("type")
            if kind == "new_session":
                new_session = message.new_session
                self.session_id = new_session.initialize.session_id or self.session_id
                self.page_script_hash = new_session.page_script_hash or self.page_script_hash
            elif kind == "navigation" and message.navigation.page_script_hash:
                self.page_script_hash = message.navigation.page_script_hash
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                element_kind = element.WhichOneof("type")
                proto = getattr(element, element_kind)
                if element_kind in WIDGET_VALUE_FIELDS:
                    widgets[proto.label] = Widget(element_kind, proto.id, proto.label, proto)
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
                if status == "FINISHED_WITH_COMPILE_ERROR":
                    raise StreamlitError("script error", "compile error")
                return RunResult(status, time.perf_counter() - started, widgets, texts, exceptions)
