"""The browserless Streamlit client against a real WebSocket server on 127.0.0.1.

The server side is scripted: it answers each ``rerun_script`` with ForwardMsg
protobufs built by hand, so message building, widget discovery and status
handling are checked without Streamlit's server.
"""

from __future__ import annotations

import asyncio

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from websockets.asyncio.server import serve

from app.ops.stream_client import (
    FINISHED,
    Session,
    StreamlitError,
    Widget,
    rerun_message,
    stream_url,
    widget_value,
)


def _new_session(page_hash: str) -> ForwardMsg:
    message = ForwardMsg()
    message.new_session.page_script_hash = page_hash
    return message


def _slider(label: str, widget_id: str) -> ForwardMsg:
    message = ForwardMsg()
    message.delta.new_element.slider.label = label
    message.delta.new_element.slider.id = widget_id
    return message


def _markdown(body: str) -> ForwardMsg:
    message = ForwardMsg()
    message.delta.new_element.markdown.body = body
    return message


def _finished(status: int) -> ForwardMsg:
    message = ForwardMsg()
    message.script_finished = status
    return message


def _talk(replies, received: list[BackMsg]):
    """Serve one socket: after the n-th BackMsg, send replies[n] (a list of ForwardMsg)."""

    async def handler(socket):
        for batch in replies:
            back = BackMsg()
            back.ParseFromString(await socket.recv())
            received.append(back)
            for message in batch:
                await socket.send(message.SerializeToString())
        await socket.wait_closed()

    return handler


def _drive(replies, client):
    """Start the scripted server on a free loopback port and run `client(session)`."""
    received: list[BackMsg] = []

    async def main():
        async with serve(_talk(replies, received), "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with Session(f"http://127.0.0.1:{port}", timeout=5) as session:
                return await client(session)

    return asyncio.run(main()), received


def test_stream_url_keeps_the_prefix_and_switches_scheme():
    assert stream_url("http://127.0.0.1:8501") == "ws://127.0.0.1:8501/_stcore/stream"
    assert stream_url("https://h/dash/") == "wss://h/dash/_stcore/stream"


def test_rerun_message_carries_hash_and_widget_values():
    back = BackMsg()
    slider = Widget("slider", "s1", "Dates", Slider())
    back.ParseFromString(rerun_message("abc", [widget_value(slider, [1.0, 2.0])]))
    assert back.WhichOneof("type") == "rerun_script"
    assert back.rerun_script.page_script_hash == "abc"
    (state,) = back.rerun_script.widget_states.widgets
    assert state.id == "s1"
    assert list(state.double_array_value.data) == [1.0, 2.0]


def test_a_page_is_named_by_its_path_until_the_server_gives_its_hash():
    first, later = BackMsg(), BackMsg()
    first.ParseFromString(rerun_message("", [], page_name="notes"))
    later.ParseFromString(rerun_message("abc", [], page_name="notes"))
    assert (first.rerun_script.page_name, first.rerun_script.page_script_hash) == ("notes", "")
    assert (later.rerun_script.page_name, later.rerun_script.page_script_hash) == ("", "abc")


def test_run_discovers_widgets_and_texts_then_set_sends_the_value():
    first = [
        _new_session("page-1"),
        _slider("Dates", "slider-id"),
        _markdown("Total 10"),
        _finished(FINISHED.FINISHED_SUCCESSFULLY),
    ]
    second = [_markdown("Total 5"), _finished(FINISHED.FINISHED_SUCCESSFULLY)]

    async def client(session):
        return await session.run(), await session.set("Dates", [3.0, 4.0])

    (run, rerun), received = _drive([first, second], client)
    assert run.status == "FINISHED_SUCCESSFULLY"
    assert run.widgets["Dates"].id == "slider-id"
    assert run.texts == ["Total 10"]
    assert rerun.texts == ["Total 5"]
    assert received[0].rerun_script.page_script_hash == ""
    assert received[1].rerun_script.page_script_hash == "page-1"
    (state,) = received[1].rerun_script.widget_states.widgets
    assert state.id == "slider-id"
    assert list(state.double_array_value.data) == [3.0, 4.0]


def test_finished_early_for_rerun_keeps_waiting_for_the_real_end():
    batch = [
        _markdown("stale"),
        _finished(FINISHED.FINISHED_EARLY_FOR_RERUN),
        _markdown("fresh"),
        _finished(FINISHED.FINISHED_SUCCESSFULLY),
    ]
    (run, _received) = _drive([batch], lambda session: session.run())
    assert run.status == "FINISHED_SUCCESSFULLY"
    assert "fresh" in run.texts


def test_compile_error_is_a_script_error():
    batch = [_finished(FINISHED.FINISHED_WITH_COMPILE_ERROR)]
    with pytest.raises(StreamlitError) as error:
        _drive([batch], lambda session: session.run())
    assert error.value.kind == "script error"


def test_silence_is_a_timeout():
    async def client(session):
        session.timeout = 0.2
        return await session.run()

    with pytest.raises(StreamlitError) as error:
        _drive([[]], client)
    assert error.value.kind == "timeout"


def test_unknown_widget_label_is_reported():
    batch = [_finished(FINISHED.FINISHED_SUCCESSFULLY)]

    async def client(session):
        await session.run()
        return await session.set("Nope", 1)

    with pytest.raises(StreamlitError) as error:
        _drive([batch], client)
    assert error.value.kind == "no widget"


def test_values_set_earlier_are_sent_again_like_a_browser():
    page = [
        _slider("Dates", "slider-id"),
        _slider("Price", "price-id"),
        _finished(FINISHED.FINISHED_SUCCESSFULLY),
    ]

    async def client(session):
        await session.run()
        await session.set("Dates", [1.0, 2.0])
        await session.set("Price", [5.0, 6.0])
        return await session.set("Dates", [3.0, 4.0])

    _, received = _drive([page] * 4, client)
    sent = {
        s.id: list(s.double_array_value.data)
        for s in received[3].rerun_script.widget_states.widgets
    }
    assert sent == {"slider-id": [3.0, 4.0], "price-id": [5.0, 6.0]}


def _navigation(page_hash: str, paths: list[str]) -> ForwardMsg:
    message = ForwardMsg()
    message.navigation.page_script_hash = page_hash
    for path in paths:
        message.navigation.app_pages.add(page_script_hash=f"h-{path}", url_pathname=path)
    return message


def _page_not_found() -> ForwardMsg:
    message = ForwardMsg()
    message.page_not_found.page_name = ""
    return message


PAGES = ["", "notes", "_platform"]


def _open_page(page: str, batch: list[ForwardMsg]):
    async def main():
        async with serve(_talk([batch], []), "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with Session(f"http://127.0.0.1:{port}", timeout=5, page=page) as session:
                return await session.run()

    return asyncio.run(main())


def test_an_unknown_page_is_an_error_naming_the_pages():
    """Streamlit says page_not_found, then runs the default page."""
    batch = [
        _page_not_found(),
        _navigation("h-", PAGES),
        _finished(FINISHED.FINISHED_SUCCESSFULLY),
    ]
    with pytest.raises(StreamlitError) as error:
        _open_page("nope", batch)
    assert error.value.kind == "no page"
    assert error.value.message == "no page 'nope' (pages: ['', 'notes', '_platform'])"


def test_a_page_found_after_a_page_not_found_is_no_error():
    """A fresh process of an app with a pages/ folder beside its script (the
    reference app's layout) says page_not_found, then finds the page after all."""
    batch = [
        _page_not_found(),
        _navigation("h-", PAGES),
        _navigation("h-_platform", PAGES),
        _finished(FINISHED.FINISHED_SUCCESSFULLY),
    ]
    assert _open_page("_platform", batch).status == "FINISHED_SUCCESSFULLY"
