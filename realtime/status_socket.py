"""GET /ws/status: a patient's live sample status. Authenticated by the session cookie, or by a single-use
socket token (mobile apps); the Origin is checked; one patient per socket, authorized and audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from core import tracking
from core.errors import DomainError
from core.events import Event
from core.identity import RequestMeta
from core.inputs import valid_ip
from core.patients.sessions import PATIENT_COOKIE, PatientSession
from realtime import protocol
from realtime.connection import StatusConnection

log = logging.getLogger("labpulse.realtime")

PATH = "/ws/status"
RATE_BURST = 20  # frames
RATE_PER_SECOND = 5.0
SESSION_CHECK_SECONDS = 15.0  # a session that vanished without a sign-out (Redis lost it) is noticed this fast


def origin_allowed(ws: WebSocket, allowed: Sequence[str]) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return False
    if origin in allowed:
        return True
    return urlsplit(origin).netloc.lower() == ws.headers.get("host", "").lower()


def _meta(ws: WebSocket) -> RequestMeta:
    return RequestMeta(
        request_id=ws.headers.get("x-request-id"),
        source_ip=valid_ip(ws.client.host if ws.client else None),
        user_agent=(ws.headers.get("user-agent") or "")[:200] or None,
    )


async def _authenticate(ws: WebSocket, state: Any) -> PatientSession | None:
    token = ws.query_params.get("token")
    if token:
        return await state.patient_sessions.redeem_socket_token(token)  # type: ignore[no-any-return]
    return await state.patient_sessions.resolve_once(ws.scope, ws.cookies.get(PATIENT_COOKIE))  # type: ignore[no-any-return]


async def _refuse(ws: WebSocket, code: int, kind: str, message: str) -> None:
    await ws.accept()
    await ws.send_text(protocol.error_frame(kind, message))
    await ws.close(code)


async def _unavailable(ws: WebSocket, exc: Exception) -> None:
    log.warning("status socket refused while a dependency is away (%s)", type(exc).__name__)
    await _refuse(ws, protocol.CLOSE_TRY_LATER, "unavailable",
                  "Live updates are paused for a moment. Your results are safe; we will reconnect.")  # fmt: skip


async def status_socket(ws: WebSocket) -> None:
    state = ws.state
    settings = state.settings
    cookie_auth = "token" not in ws.query_params
    # A browser always sends Origin; a cookie-authenticated socket from a foreign page is refused (CSWSH).
    if (cookie_auth or "origin" in ws.headers) and not origin_allowed(ws, settings.allowed_origins):
        await _refuse(ws, protocol.CLOSE_FORBIDDEN, "origin", "This page is not allowed to open a status socket.")
        return
    try:
        session = await _authenticate(ws, state)
    except Exception as exc:  # noqa: BLE001 - Redis away: a calm "try again", never a 500
        await _unavailable(ws, exc)
        return
    if session is None:
        await _refuse(
            ws, protocol.CLOSE_UNAUTHENTICATED, "unauthenticated", "Please sign in again to see live updates."
        )
        return
    patient_id = ws.query_params.get("patient") or session.active_patient_id or ""
    meta = _meta(ws)
    pool = state.pool

    async def read_after(after: int) -> Sequence[Event]:
        async with pool.acquire() as conn:
            return await tracking.events_after(conn, session.phone_lookup, patient_id, after)

    conn_state = StatusConnection(patient_id, ws.send_text, read_after, phone_lookup=session.phone_lookup,
                                  session_key=session.key)  # fmt: skip
    hub = state.hub
    hub.add(patient_id, conn_state)  # before the snapshot, so nothing committed after it can be missed
    try:
        # One round trip: may this phone see the patient (the refusal audited as a subscription), what they see.
        async with pool.acquire() as conn:
            snap = await tracking.snapshot(conn, session.phone_lookup, patient_id, meta=meta,
                                           action="patient.status.subscribe")  # fmt: skip
    except DomainError:
        hub.remove(patient_id, conn_state)
        await _refuse(ws, protocol.CLOSE_FORBIDDEN, "not_found", "There are no tests to show for this person.")
        return
    except Exception as exc:  # noqa: BLE001 - PostgreSQL away: a calm "try again", never a 500
        hub.remove(patient_id, conn_state)
        await _unavailable(ws, exc)
        return

    await ws.accept()
    sender: asyncio.Task[None] | None = None
    code = 1000
    try:
        conn_state.start_at(snap.last_seq)
        await ws.send_text(protocol.snapshot_frame(snap))
        del snap  # not kept for the socket's life (hours, thousands of sockets)
        resume_from = ws.query_params.get("last_event_id", "")
        if resume_from.isdigit():
            conn_state.resume(int(resume_from))
        sender = asyncio.create_task(conn_state.run())
        code = await _receive_loop(ws, state, session, conn_state, sender, meta)
    except WebSocketDisconnect:
        code = 1000
    except Exception:
        # The record could not be read (database away, overloaded): say "try again", never a silent 1000.
        log.warning("status socket failed", exc_info=True)
        code = 1011
    finally:
        hub.remove(patient_id, conn_state)
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
        if ws.application_state == WebSocketState.CONNECTED and ws.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await ws.close(code)


async def _receive_loop(
    ws: WebSocket,
    state: Any,
    session: PatientSession,
    conn_state: StatusConnection,
    sender: asyncio.Task[None],
    meta: RequestMeta,
) -> int:
    """Read client frames until the socket should close; returns the close code to use. A sign-out anywhere
    (announced on the bus) closes it at once; the session is also looked at every ``SESSION_CHECK_SECONDS`` and
    whenever the hub reconnects to Redis, which may have lost it."""
    idle = float(state.settings.ws_idle_seconds)
    loop = asyncio.get_running_loop()
    tokens, last = float(RATE_BURST), loop.time()
    idle_at, check_at = last + idle, last + SESSION_CHECK_SECONDS
    sender.add_done_callback(lambda _: conn_state.interrupt())
    while True:
        # The read waits until the next look is due, or until the connection state interrupts it (its deadline
        # moved to now); a frame the client sent meanwhile stays queued for the next read.
        message: Any = None
        if not conn_state.wants_attention() and not sender.done():
            try:
                async with asyncio.timeout_at(min(idle_at, check_at)) as waiting:
                    conn_state.waiting = waiting
                    message = await ws.receive()
            except TimeoutError:
                pass
            finally:
                conn_state.waiting = None
        if conn_state.revoked:
            await _close_with_error(ws, sender, "unauthenticated", "You were signed out. Please sign in again.")
            return protocol.CLOSE_UNAUTHENTICATED
        if conn_state.overflowed:
            return protocol.CLOSE_SLOW
        if sender.done():
            return 1011  # the sender failed (e.g. the database went away): the client resumes
        if message is None:
            now = loop.time()
            if conn_state.recheck_now or now >= check_at:
                conn_state.recheck_now = False
                check_at = now + SESSION_CHECK_SECONDS
                if await _session_gone(state, session):
                    conn_state.revoke(session.phone_lookup, session.key)
                continue
            if now >= idle_at:
                await _close_with_error(
                    ws, sender, "idle", "Nothing heard from you for a while; reconnect when needed."
                )
                return protocol.CLOSE_IDLE
            continue
        if message["type"] == "websocket.disconnect":
            return 1000
        now = loop.time()
        idle_at = now + idle
        tokens = min(RATE_BURST, tokens + (now - last) * RATE_PER_SECOND)
        last = now
        if tokens < 1:
            await _close_with_error(ws, sender, "rate_limited", "Too many messages; slow down and reconnect.")
            return protocol.CLOSE_RATE
        tokens -= 1
        text = message.get("text")
        if text is None:
            await _close_with_error(ws, sender, "malformed", "Send JSON text frames, not binary.")
            return protocol.CLOSE_MALFORMED
        try:
            msg = protocol.parse(text)
        except protocol.BadFrame as exc:
            code = protocol.CLOSE_TOO_BIG if "64 KB" in exc.message else protocol.CLOSE_MALFORMED
            await _close_with_error(ws, sender, "malformed", exc.message)
            return code
        if isinstance(msg, protocol.Ping):
            if await state.patient_sessions.resolve_key(session.key) is None:
                await _close_with_error(ws, sender, "unauthenticated", "You were signed out. Please sign in again.")
                return protocol.CLOSE_UNAUTHENTICATED
            conn_state.frame(protocol.dumps({"type": "pong"}))
        elif isinstance(msg, protocol.Resume):
            conn_state.resume(msg.last_event_id)
        else:
            try:
                async with state.pool.acquire() as conn:
                    new = await tracking.acknowledge(
                        conn, session.phone_lookup, conn_state.patient_id, msg.event_id, meta=meta
                    )
                conn_state.frame(protocol.dumps({"type": "acked", "event_id": msg.event_id, "new": new}))
            except DomainError as exc:
                conn_state.frame(protocol.error_frame(exc.code, exc.message))


async def _session_gone(state: Any, session: PatientSession) -> bool:
    """Whether the session has ended; while Redis cannot answer, it is given the benefit of the doubt."""
    try:
        return not await state.patient_sessions.alive(session.key)
    except Exception as exc:  # noqa: BLE001 - Redis away: look again at the next check
        log.debug("session check skipped (%s)", type(exc).__name__)
        return False


async def _close_with_error(ws: WebSocket, sender: asyncio.Task[None], kind: str, message: str) -> None:
    # Stop the sender first: it is the only other writer, and the error frame must be the last thing sent.
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await sender
    with contextlib.suppress(Exception):
        await ws.send_text(protocol.error_frame(kind, message))


def routes() -> list[WebSocketRoute]:
    return [WebSocketRoute(PATH, status_socket, name="ws.status")]
