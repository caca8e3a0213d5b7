"""Teleconsult pages and sockets. A join link (/consult/join/<token>) is opened on a device: the device gets a
long-lived random id cookie and the link itself is kept in a cookie for this consult, then the browser goes to the
room page. The room page, its signalling socket and the doctor's note endpoints all re-check that pair through
``core.teleconsult.service.join`` on every request, so the link (bound to its first device) is the authorization,
for the patient and the doctor alike; the doctor's note endpoints also require the doctor's side of the link."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from consult import ice
from consult.live import LiveConsults
from consult.owners import CLOSE_MOVED
from core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from core.i18n import error_text
from core.ids import is_uuid
from core.teleconsult import notes, service
from core.teleconsult.service import JoinGrant
from portal.http import read_json, request_meta, secure_cookies
from portal.pages import lang_of, render

DEVICE_COOKIE = "lp_device"
DEVICE_SECONDS = 400 * 24 * 3600
LINK_SECONDS = 3 * 3600
RATE_PER_SECOND, RATE_BURST = 20.0, 60.0  # signalling is a few frames a second; trickled ICE comes in bursts


def _link_cookie(consult_id: str) -> str:
    return "lp_consult_" + consult_id.replace("-", "")


async def _grant(conn: HTTPConnection, consult_id: str) -> JoinGrant:
    token = conn.cookies.get(_link_cookie(consult_id)) if is_uuid(consult_id) else None
    device = conn.cookies.get(DEVICE_COOKIE)
    if not token or not device:
        raise service.JoinLinkInvalid
    state = conn.state
    async with state.pool.acquire() as db:
        grant = await service.join(db, state.vault, token, device, meta=request_meta(conn))  # type: ignore[arg-type]
    if grant.consult.id != consult_id:
        raise service.JoinLinkInvalid
    return grant


def _error_page(request: Request, exc: DomainError, status: int) -> Response:
    return render(request, "consult_error.html", status, message=error_text(lang_of(request), exc))


async def join(request: Request) -> Response:
    """Open a join link on this device, then go to the room."""
    token = request.path_params["token"]
    device = request.cookies.get(DEVICE_COOKIE) or secrets.token_urlsafe(24)
    state = request.state
    try:
        async with state.pool.acquire() as conn:
            grant = await service.join(conn, state.vault, token, device, meta=request_meta(request))
    except (service.JoinLinkInvalid, service.JoinLinkOtherDevice) as exc:
        return _error_page(request, exc, 403 if isinstance(exc, service.JoinLinkOtherDevice) else 404)
    except (service.JoinLinkNotYet, service.JoinLinkClosed) as exc:
        return _error_page(request, exc, 409 if isinstance(exc, service.JoinLinkNotYet) else 410)
    response = RedirectResponse(f"/consult/{grant.consult.id}", status_code=303)
    secure = secure_cookies(request)
    response.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_SECONDS, httponly=True, samesite="lax", secure=secure)
    response.set_cookie(_link_cookie(grant.consult.id), token, max_age=LINK_SECONDS, httponly=True, samesite="lax",
                        secure=secure)  # fmt: skip
    return response


async def room(request: Request) -> Response:
    consult_id = request.path_params["consult_id"]
    try:
        grant = await _grant(request, consult_id)
    except service.JoinLinkOtherDevice as exc:
        return _error_page(request, exc, 403)
    except (service.JoinLinkNotYet, service.JoinLinkClosed) as exc:
        return _error_page(request, exc, 409 if isinstance(exc, service.JoinLinkNotYet) else 410)
    except DomainError as exc:
        return _error_page(request, exc, 404)
    settings = request.state.settings
    config = {
        "consult": consult_id,
        "side": grant.side,
        "socket": f"/consult/{consult_id}/ws",
        "iceServers": ice.for_browser(settings, f"{grant.side}-{consult_id[:8]}"),
        "lang": lang_of(request),
    }
    template = "consult_doctor.html" if grant.side == "doctor" else "consult_patient.html"
    return render(request, template, consult=grant.consult, config=config)


async def signal(ws: WebSocket) -> None:
    """The signalling socket: typed JSON frames both ways (consult/signalling.py), one writer at a time."""
    consult_id = ws.path_params["consult_id"]
    settings = ws.state.settings
    origin = ws.headers.get("origin")
    await ws.accept()
    try:
        # Cross-site WebSocket hijacking: a page elsewhere cannot open this socket with the visitor's cookies.
        if origin and origin.split("//", 1)[-1] != ws.headers.get("host") and origin != settings.public_url:
            raise PermissionDenied("consult.signal", "another site")
        grant = await _grant(ws, consult_id)
    except DomainError as exc:
        await ws.send_text(json.dumps({"type": "error", "code": exc.code, "message": exc.message}))
        # 4403 another site; 4404 no valid link here; 4409/4410 not open yet / closed or on another device
        await ws.close(code=4403 if isinstance(exc, PermissionDenied) else 4404 if isinstance(exc, NotFound) else
                       4410 if isinstance(exc, service.JoinLinkClosed) else 4409)  # fmt: skip
        return
    live: LiveConsults = ws.state.consults
    owner = await live.owner(consult_id)
    if owner is not None:  # the room lives on another web process: the page sets lp_node and comes back there
        await ws.send_text(json.dumps({"type": "moved", "node": owner}))
        await ws.close(code=CLOSE_MOVED)
        return
    lock = asyncio.Lock()

    async def send(frame: str) -> None:
        async with lock:
            await ws.send_text(frame)

    await live.connect(grant, send)
    tokens, last = RATE_BURST, time.monotonic()
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            now = time.monotonic()
            tokens = min(RATE_BURST, tokens + (now - last) * RATE_PER_SECOND)
            last = now
            if tokens < 1:
                await send(json.dumps({"type": "error", "code": "rate_limited",
                                       "message": "Too many messages; please reload the page."}))  # fmt: skip
                break
            tokens -= 1
            raw = message.get("text") if message.get("text") is not None else message.get("bytes")
            if raw is not None:
                await live.receive(grant, raw)
    except WebSocketDisconnect:
        pass
    finally:
        await live.disconnect(grant, send)
        with contextlib.suppress(Exception):
            await ws.close()


# --- the doctor's note ---------------------------------------------------------------------------------------


async def _doctor(request: Request) -> JoinGrant:
    grant = await _grant(request, request.path_params["consult_id"])
    service.require_doctor(grant, grant.consult)
    return grant


async def note_read(request: Request) -> Response:
    grant = await _doctor(request)
    state = request.state
    async with state.pool.acquire() as conn:
        note = await notes.latest(conn, state.vault, grant.consult, actor=grant.actor(), meta=request_meta(request))
    return JSONResponse({"note": note.to_json() if note else None})


async def note_save(request: Request) -> Response:
    grant = await _doctor(request)
    data = await read_json(request)
    state = request.state
    async with state.pool.acquire() as conn:
        note = await notes.save_draft(conn, state.vault, grant.consult, data.get("body"), actor=grant.actor(),
                                      meta=request_meta(request))  # fmt: skip
    return JSONResponse({"note": note.to_json()})


async def note_sign(request: Request) -> Response:
    grant = await _doctor(request)
    data = await read_json(request)
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidInput("version", "Say which version of the note you are signing.")
    state = request.state
    async with state.pool.acquire() as conn:
        note = await notes.sign(conn, state.vault, grant.consult, version=version, actor=grant.actor(),
                                meta=request_meta(request))  # fmt: skip
    return JSONResponse({"note": note.to_json()})


async def note_amend(request: Request) -> Response:
    grant = await _doctor(request)
    state = request.state
    async with state.pool.acquire() as conn:
        note = await notes.amend(conn, state.vault, grant.consult, actor=grant.actor(), meta=request_meta(request))
    return JSONResponse({"note": note.to_json()})


async def book_tests(request: Request) -> Response:
    """One click in the plan: the patient is sent a booking link with the ordered tests already chosen."""
    grant = await _doctor(request)
    data = await read_json(request)
    state = request.state
    async with state.pool.acquire() as conn:
        sent = await service.suggest_tests(conn, grant.consult, data.get("codes"), actor=grant.actor(),
                                           meta=request_meta(request))  # fmt: skip
    return JSONResponse({"queued": True, "codes": sent})


def routes() -> list[Any]:
    return [
        Route("/consult/join/{token}", join, methods=["GET"], name="page.consult.join"),
        Route("/consult/{consult_id}", room, methods=["GET"], name="page.consult.room"),
        WebSocketRoute("/consult/{consult_id}/ws", signal, name="ws.consult"),
        Route("/api/consults/{consult_id}/note", note_read, methods=["GET"], name="consult.note.read"),
        Route("/api/consults/{consult_id}/note", note_save, methods=["PUT"], name="consult.note.save"),
        Route("/api/consults/{consult_id}/note/sign", note_sign, methods=["POST"], name="consult.note.sign"),
        Route("/api/consults/{consult_id}/note/amend", note_amend, methods=["POST"], name="consult.note.amend"),
        Route("/api/consults/{consult_id}/tests", book_tests, methods=["POST"], name="consult.tests"),
    ]
