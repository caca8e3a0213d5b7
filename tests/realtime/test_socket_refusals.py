"""Every way a socket is refused or closed: wrong origin, no session, someone else's patient, bad frames,
too many frames, a single-use token used twice, a session signed out elsewhere, silence."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core.vault import Vault
from realtime import protocol
from realtime.connection import StatusConnection
from tests.realtime.conftest import Live, patient_signed_in, recv
from tests.support.factories import make_patient, make_sample


async def _closed_with(ws, code: int) -> list[dict]:  # type: ignore[no-untyped-def]
    frames = []
    with pytest.raises(ConnectionClosed) as info:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    assert info.value.rcvd is not None and info.value.rcvd.code == code, info.value
    return frames


async def _signed_in(live: Live, pool: asyncpg.Pool, vault: Vault, phone: str) -> tuple[str, str]:
    token, patient, _ = await patient_signed_in(live, pool, vault, phone)
    return token, patient.id


async def test_a_foreign_origin_is_refused(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    token, _ = await _signed_in(live, pool, vault, "+919811100001")
    async with live.socket(token, origin="https://evil.example") as ws:
        frames = await _closed_with(ws, protocol.CLOSE_FORBIDDEN)
    assert frames == [{"type": "error", "code": "origin", "message": frames[0]["message"]}]


async def test_no_session_is_refused(live: Live) -> None:
    async with live.socket("not-a-session") as ws:
        frames = await _closed_with(ws, protocol.CLOSE_UNAUTHENTICATED)
    assert frames[0]["code"] == "unauthenticated"


async def test_another_patient_cannot_be_subscribed(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    token, _ = await _signed_in(live, pool, vault, "+919811100002")
    _, stranger = await _signed_in(live, pool, vault, "+919811100003")
    async with live.socket(token, query=f"?patient={stranger}") as ws:
        frames = await _closed_with(ws, protocol.CLOSE_FORBIDDEN)
    assert frames[0]["code"] == "not_found"
    async with pool.acquire() as conn:
        refused = await conn.fetchval(
            "SELECT count(*) FROM audit_log "
            "WHERE action = 'patient.status.subscribe' AND outcome = 'refused:not_linked'"
        )
    assert refused == 1


async def test_family_members_on_one_phone_can_each_be_watched(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    phone = "+919811100004"
    token, parent = await _signed_in(live, pool, vault, phone)
    async with pool.acquire() as conn:
        child = await make_patient(conn, vault, phone=phone, name="Child Patient")
        await make_sample(conn, vault, patient=child)
    async with live.socket(token, query=f"?patient={child.id}") as ws:
        assert (await recv(ws))["patient_id"] == child.id
    async with live.socket(token) as ws:
        assert (await recv(ws))["patient_id"] == parent


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", protocol.CLOSE_MALFORMED),
        (json.dumps({"type": "teleport"}), protocol.CLOSE_MALFORMED),
        (json.dumps({"type": "resume", "last_event_id": "seven"}), protocol.CLOSE_MALFORMED),
        (b"\x00\x01binary", protocol.CLOSE_MALFORMED),
    ],
)
async def test_a_malformed_frame_gets_an_error_frame_then_a_close(
    live: Live, pool: asyncpg.Pool, vault: Vault, frame: str | bytes, code: int
) -> None:
    token, _ = await _signed_in(live, pool, vault, f"+91982{abs(hash(frame)) % 10**7:07d}")
    async with live.socket(token) as ws:
        await recv(ws)
        await ws.send(frame)
        frames = await _closed_with(ws, code)
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "malformed" and frames[-1]["message"]


async def test_a_frame_over_64_kb_is_refused(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    token, _ = await _signed_in(live, pool, vault, "+919811100005")
    async with live.socket(token) as ws:
        await recv(ws)
        await ws.send(json.dumps({"type": "ping", "pad": "x" * 70_000}))
        await _closed_with(ws, protocol.CLOSE_TOO_BIG)


async def test_too_many_frames_close_the_socket(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    token, _ = await _signed_in(live, pool, vault, "+919811100006")
    async with live.socket(token) as ws:
        await recv(ws)
        for _ in range(60):
            await ws.send(json.dumps({"type": "ping"}))
        frames = await _closed_with(ws, protocol.CLOSE_RATE)
    assert frames[-1]["code"] == "rate_limited"
    assert 1 <= sum(f["type"] == "pong" for f in frames) <= 21


async def test_a_socket_token_opens_one_socket_once(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    session, _ = await _signed_in(live, pool, vault, "+919811100007")
    r = await live.http.post("/api/patient/socket-token", headers={"Authorization": f"Bearer {session}"})
    assert r.status_code == 200 and r.json()["expires_in"] == 60
    url = f"ws://{live.addr}/ws/status?token={r.json()['token']}"
    async with connect(url) as ws:  # a mobile app sends no Origin
        assert (await recv(ws))["type"] == "snapshot"
    async with connect(url) as ws:
        await _closed_with(ws, protocol.CLOSE_UNAUTHENTICATED)


async def test_signing_out_everywhere_ends_live_sockets(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    token, _ = await _signed_in(live, pool, vault, "+919811100008")
    other_device = await live.sign_in("+919811100008")
    async with live.socket(token) as ws:
        await recv(ws)
        r = await live.http.delete(
            "/api/patient/session?everywhere=1", headers={"Authorization": f"Bearer {other_device}"}
        )
        assert r.status_code == 204
        await ws.send(json.dumps({"type": "ping"}))
        frames = await _closed_with(ws, protocol.CLOSE_UNAUTHENTICATED)
    assert frames[-1]["code"] == "unauthenticated"
    r = await live.http.get("/api/patient/status", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


async def test_a_silent_socket_is_closed(settings, pool: asyncpg.Pool, vault: Vault) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from portal.app import create_app
    from tests.support.inbox import Inbox
    from tests.support.server import serving

    inbox = Inbox()
    app = create_app(settings.with_overrides(ws_idle_seconds=5), notifier=inbox)
    async with serving(app) as addr, httpx.AsyncClient(base_url=f"http://{addr}") as http:
        live = Live(addr, inbox, http)
        token, _ = await _signed_in(live, pool, vault, "+919811100009")
        async with live.socket(token) as ws:
            await recv(ws)
            frames = await _closed_with(ws, protocol.CLOSE_IDLE)
    assert frames[-1]["code"] == "idle"


async def test_a_client_that_falls_behind_is_told_to_resume() -> None:
    """The per-socket queue is bounded: overflow flags the socket (closed with 4409) instead of growing."""
    from datetime import UTC, datetime

    from core.events import Event

    async def never(_: str) -> None:
        await asyncio.Event().wait()

    async def nothing(_: int) -> list[Event]:
        return []

    conn = StatusConnection("p1", never, nothing, queue_size=3)
    for seq in range(1, 5):
        conn.offer(Event(f"e{seq}", "p1", seq, "t", {}, datetime.now(UTC)))
    assert conn.overflowed
