"""GET /ws/staff: the bench's live worklist. A staff member whose role may read tubes (``ws.staff`` in the permission
table), by the staff session (cookie, or a bearer token); the Origin is checked as on the patient socket.

Each tube's new step is sent as it happens to the members whose centre it is at or has just left (every tube to a
member with no centre): its barcode, step, centre, version and time, and whether it is still on this bench; never
anything about its patient. If the event bus was lost meanwhile the socket says ``resync`` and the page reads the
worklist again. The session is checked every 15 s: a signed-out member's socket closes (4401). A member who acts on
critical values also hears ``{"type":"critical"}`` when the critical values board changes (``BoardWatch``), and
its ``ready`` frame carries the board's current ``mark``: a board rendered with another mark (an alert raised
between the page's read and the socket's opening) re-reads itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from core import critical, metrics, permissions
from core.events import Event
from core.samples.model import ON_THE_BENCH
from core.samples.service import EVENT_STATE_CHANGED
from core.staff import service as staff
from core.staff.service import STAFF_COOKIE, StaffMember
from realtime import protocol
from realtime.hub import EVERY_PATIENT
from realtime.status_socket import SESSION_CHECK_SECONDS, origin_allowed

QUEUE_SIZE = 1024
BOARD_POLL_SECONDS = 2.0
_BENCH = frozenset(state.value for state in ON_THE_BENCH)


class TubeFeed:
    """What one member's bench is offered: tube steps at their centre, queued for the socket's one writer. A member
    who cannot keep up (the queue full) is closed; the page reconnects and reads the worklist afresh."""

    def __init__(self, centre_id: str | None) -> None:
        self.centre_id = centre_id
        self.queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = asyncio.Event()

    def frame(self, event: Event) -> str | None:
        if event.type != EVENT_STATE_CHANGED:
            return None
        p = event.payload
        here = self.centre_id is None or p.get("centre_id") == self.centre_id
        if not here and p.get("from_centre") != self.centre_id:
            return None
        on_bench = here and p.get("to") in _BENCH
        return json.dumps({"type": "tube", "barcode": p.get("barcode"), "state": p.get("to"),
                           "centre_id": p.get("centre_id"), "version": p.get("version"), "at": p.get("at"),
                           "on_bench": on_bench}, separators=(",", ":"))  # fmt: skip

    def offer(self, event: Event) -> None:
        text = self.frame(event)
        if text is None:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.overflowed.set()

    def notice(self, text: str) -> None:
        """A frame from elsewhere than the tube events (the critical values board has changed)."""
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.overflowed.set()

    def resync(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait('{"type":"resync"}')

    def revoke(self, phone_lookup: str, session: str | None) -> None:
        """Patients' sign-outs: not this socket's concern."""


class BoardWatch:
    """One per process: reads whether the critical values board has changed every ``BOARD_POLL_SECONDS`` and tells
    every open board (``{"type":"critical"}``), which then re-reads itself. A read, not a message bus: nothing a
    process misses while Redis or a publisher is away, and it works behind a transaction-pooling PgBouncer."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._feeds: set[TubeFeed] = set()
        self._mark: str | None = None

    def add(self, feed: TubeFeed) -> None:
        self._feeds.add(feed)

    def remove(self, feed: TubeFeed) -> None:
        self._feeds.discard(feed)

    async def run(self, beat: Callable[[], None]) -> None:
        while True:
            beat()
            # Read even while no board is open: a board that opens has rendered what it saw a moment before its
            # socket joined, and only a mark kept current tells it of a change in between.
            async with self._pool.acquire() as conn:
                mark = await critical.board_mark(conn)
            if self._mark is not None and mark != self._mark:
                for feed in tuple(self._feeds):
                    feed.notice('{"type":"critical"}')
            self._mark = mark
            await asyncio.sleep(BOARD_POLL_SECONDS)


async def _member(ws: WebSocket, state: Any) -> StaffMember | None:
    token = _token_of(ws)
    member: StaffMember | None = await state.staff_sessions.resolve(token) if token else None
    return member


async def _refuse(ws: WebSocket, code: int, kind: str, message: str) -> None:
    await ws.accept()
    await ws.send_text(protocol.error_frame(kind, message))
    await ws.close(code)


async def staff_socket(ws: WebSocket) -> None:
    state = ws.state
    if not origin_allowed(ws, state.settings.allowed_origins) and "authorization" not in ws.headers:
        await _refuse(ws, protocol.CLOSE_FORBIDDEN, "origin", "This page is not allowed to open the staff socket.")
        return
    member = await _member(ws, state)
    if member is None:
        await _refuse(ws, protocol.CLOSE_UNAUTHENTICATED, "unauthenticated", "Please sign in again for live updates.")
        return
    if not permissions.endpoint_allows("ws.staff", member.role):
        await _refuse(ws, protocol.CLOSE_FORBIDDEN, "forbidden", "Your role does not use the live worklist.")
        return
    board = permissions.endpoint_allows("staff.page.critical", member.role)  # the critical board's changes too
    async with state.pool.acquire() as conn:
        centre = await staff.centre_of(conn, member)
        mark = await critical.board_mark(conn) if board else None
    feed = TubeFeed(centre)
    await ws.accept()
    state.hub.add(EVERY_PATIENT, feed)
    if board:
        state.board.add(feed)
    try:
        ready = {"type": "ready", "centre_id": centre, "critical": board}
        if mark is not None:  # the board's mark now: a page rendered with another one re-reads itself
            ready["mark"] = mark
        await ws.send_text(json.dumps(ready))
        await _serve(ws, state, feed)
    except WebSocketDisconnect:
        pass
    finally:
        state.hub.remove(EVERY_PATIENT, feed)
        state.board.remove(feed)


async def _serve(ws: WebSocket, state: Any, feed: TubeFeed) -> None:
    """Send what the feed queues; close when the page goes, on overflow (4409: reconnect and re-read), or when the
    session has ended."""
    token = _token_of(ws)
    reader = asyncio.create_task(_drain_client(ws))
    try:
        while True:
            getting = asyncio.ensure_future(feed.queue.get())
            done, _ = await asyncio.wait({getting, reader}, timeout=SESSION_CHECK_SECONDS,
                                         return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            if reader in done:
                getting.cancel()
                return
            if getting not in done:
                getting.cancel()
                if await state.staff_sessions.resolve(token) is None:
                    await ws.close(protocol.CLOSE_UNAUTHENTICATED)
                    return
                continue
            if feed.overflowed.is_set():
                await ws.close(protocol.CLOSE_SLOW)
                return
            await ws.send_text(getting.result())
            metrics.EVENTS_DELIVERED.labels("staff").inc()
    finally:
        reader.cancel()


def _token_of(ws: WebSocket) -> str:
    """The staff session: a bearer token, else the browser's cookie."""
    scheme, _, value = ws.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ws.cookies.get(STAFF_COOKIE, "")


async def _drain_client(ws: WebSocket) -> None:
    """The page sends nothing but pings; reading keeps the close handshake moving."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await ws.receive_text()


def routes() -> list[WebSocketRoute]:
    return [WebSocketRoute("/ws/staff", staff_socket, name="ws.staff")]
