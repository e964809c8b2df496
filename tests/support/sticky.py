"""Whether a route keeps one browser on one dashboard replica, asked of Streamlit itself.

A Streamlit session lives in one process. Uploads are separate HTTP requests
naming the session (PUT /_stcore/upload_file/SESSION/FILE), and a replica that
does not hold the session answers 400 "Invalid session_id ... without sticky
sessions". So: open a session over the WebSocket, rerun it, then upload
several times, each on a new connection as a browser may; every upload
answering 204 means every request reached the session's replica.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http.cookies import SimpleCookie

import requests

from tests.support.status import status_session

XSRF_COOKIE = "_streamlit_xsrf"


@dataclass
class Visit:
    session_id: str
    reruns: int
    upload_statuses: list[int]
    cookies: dict[str, str]

    @property
    def pinned(self) -> bool:
        return all(status == 204 for status in self.upload_statuses)


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def load_page(url: str, cookies: dict[str, str]) -> dict[str, str]:
    """What a browser fetches before it opens the session: the page (where a
    route sets its sticky cookie) and the health check (where Streamlit sets
    its XSRF cookie). Returns the cookies with whatever both set."""
    for path in ("/", "/_stcore/health"):
        response = requests.get(f"{url}{path}", headers=cookie_header(cookies), timeout=30)
        response.raise_for_status()
        # Set-Cookie read by hand: requests' jar drops Secure cookies over
        # http://localhost, which a browser keeps.
        jar = SimpleCookie()
        for header in response.raw.headers.getlist("Set-Cookie"):
            jar.load(header)
        cookies = {**cookies, **{name: morsel.value for name, morsel in jar.items()}}
    return cookies


def visit(url: str, cookies: dict[str, str], reruns: int = 5, uploads: int = 8) -> Visit:
    """Load the page, run the status page `reruns` times over one WebSocket, then upload
    `uploads` small files, each on a fresh connection, while the session is open."""
    cookies = load_page(url, cookies)
    headers = cookie_header(cookies)

    async def run() -> Visit:
        async with status_session(url, headers, timeout=90) as session:
            for _ in range(reruns):
                result = await session.run()
                assert not result.exceptions, result.exceptions
            statuses = [
                await asyncio.to_thread(_upload, url, session.session_id, index, cookies)
                for index in range(uploads)
            ]
            return Visit(session.session_id, reruns, statuses, cookies)

    return asyncio.run(run())


def _upload(url: str, session_id: str, index: int, cookies: dict[str, str]) -> int:
    headers = {**cookie_header(cookies), "X-Xsrftoken": cookies.get(XSRF_COOKIE, "")}
    response = requests.put(
        f"{url}/_stcore/upload_file/{session_id}/probe-{index}",
        files={"file": (f"probe-{index}.csv", b"a,b\n1,2\n", "text/csv")},
        headers=headers,
        timeout=30,
    )
    return response.status_code
