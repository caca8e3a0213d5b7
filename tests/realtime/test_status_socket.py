"""/ws/status through a real uvicorn server, real PostgreSQL, Redis and the in-process outbox relay."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from websockets.exceptions import ConnectionClosed

from core.events import events_channel
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from tests.realtime.conftest import Live, recv
from tests.support.factories import PHLEB, TECH, make_patient, make_sample

S = SampleState


async def _move(pool: asyncpg.Pool, barcode: str, to: SampleState) -> None:
    async with pool.acquire() as conn:
        actor = PHLEB if to is S.IN_TRANSIT else TECH
        centre = "CC-1" if to is S.IN_TRANSIT else "LAB-1"
        await samples.transition(conn, barcode=barcode, to_state=to, actor=actor, centre_id=centre)


async def _closed_with(ws, code: int) -> list[dict]:  # type: ignore[no-untyped-def]
    frames = []
    with pytest.raises(ConnectionClosed) as info:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    assert info.value.rcvd is not None and info.value.rcvd.code == code, info.value
    return frames


async def test_snapshot_then_live_events_in_order(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    async with pool.acquire() as conn:
        patient_phone = "+9198" + "7" * 8
        p = await make_patient(conn, vault, phone=patient_phone)
        sample = await make_sample(conn, vault, patient=p)
    token = await live.sign_in(patient_phone)
    async with live.socket(token) as ws:
        snap = await recv(ws)
        assert snap["type"] == "snapshot" and snap["patient_id"] == p.id
        assert [s["state"] for s in snap["samples"]] == ["collected"]
        assert snap["samples"][0]["tests"] == ["Complete blood count"]
        last = snap["last_event_id"]
        for to in (S.IN_TRANSIT, S.RECEIVED_AT_LAB, S.PROCESSING):
            await _move(pool, sample.barcode, to)
        got = [await recv(ws) for _ in range(3)]
    assert [g["last_event_id"] for g in got] == [last + 1, last + 2, last + 3]
    assert [g["data"]["to"] for g in got] == ["in_transit", "received_at_lab", "processing"]
    assert not any(g["replay"] for g in got)


async def test_resume_after_a_disconnect_gets_exactly_the_missed_events(
    live: Live, pool: asyncpg.Pool, vault: Vault
) -> None:
    phone = "+9198" + "6" * 8
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault, phone=phone)
        sample = await make_sample(conn, vault, patient=p)
    token = await live.sign_in(phone)
    async with live.socket(token) as ws:
        last = (await recv(ws))["last_event_id"]
    for to in (S.IN_TRANSIT, S.RECEIVED_AT_LAB, S.PROCESSING):  # while the phone is out of signal
        await _move(pool, sample.barcode, to)
    async with live.socket(token, query=f"?last_event_id={last}") as ws:
        snap = await recv(ws)
        assert snap["last_event_id"] == last + 3 and snap["samples"][0]["state"] == "processing"
        missed = [await recv(ws) for _ in range(3)]
        assert [m["last_event_id"] for m in missed] == [last + 1, last + 2, last + 3]
        assert all(m["replay"] for m in missed)
        await _move(pool, sample.barcode, S.COMPLETED)
        live_event = await recv(ws)
        assert (live_event["last_event_id"], live_event["replay"]) == (last + 4, False)
        # A resume message mid-stream replays from where the client says it is, once, in order.
        await ws.send(json.dumps({"type": "resume", "last_event_id": last + 2}))
        again = [await recv(ws) for _ in range(2)]
        assert [a["last_event_id"] for a in again] == [last + 3, last + 4]
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv(ws))["type"] == "pong"  # and nothing else was queued before it


async def test_an_event_the_bus_lost_is_read_from_postgresql(
    live: Live,
    pool: asyncpg.Pool,
    vault: Vault,
    redis,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """The socket sees seq n+2 on the bus without n+1 (lost by Redis): it fetches n+1 first. No gap, no dup."""
    phone = "+9198" + "5" * 8
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault, phone=phone)
        sample = await make_sample(conn, vault, patient=p)
    token = await live.sign_in(phone)
    async with live.socket(token) as ws:
        last = (await recv(ws))["last_event_id"]
        async with pool.acquire() as conn:
            # Commit two events with no relay publishing them: mark them published so the relay skips them.
            await conn.execute("UPDATE outbox SET published_at = now() WHERE published_at IS NULL")
            await samples.transition(conn, barcode=sample.barcode, to_state=S.IN_TRANSIT, actor=PHLEB, centre_id="CC-1")
            await samples.transition(
                conn, barcode=sample.barcode, to_state=S.RECEIVED_AT_LAB, actor=TECH, centre_id="LAB-1"
            )
        # Too late: the relay may have published them already. Either way the socket must get each exactly once.
        got = [await recv(ws) for _ in range(2)]
        assert [g["last_event_id"] for g in got] == [last + 1, last + 2]
        # Now the real thing: publish only seq n+4 by hand while n+3 sits unpublished in PostgreSQL.
        await _move_without_relay(pool, sample.barcode, redis, settings)
        got = [await recv(ws) for _ in range(2)]
        assert [g["last_event_id"] for g in got] == [last + 3, last + 4]
        assert [g["data"]["to"] for g in got] == ["processing", "completed"]
        with pytest.raises(TimeoutError):
            await recv(ws, timeout=0.5)


async def _move_without_relay(pool: asyncpg.Pool, barcode: str, redis, settings) -> None:  # type: ignore[no-untyped-def]
    from core import outbox

    async with pool.acquire() as conn:
        for to in (S.PROCESSING, S.COMPLETED):
            async with conn.transaction():
                await samples.transition(conn, barcode=barcode, to_state=to, actor=TECH, centre_id="LAB-1")
                # Mark it published in the same transaction, so the relay never sends it.
                await conn.execute("UPDATE outbox SET published_at = now() WHERE published_at IS NULL")
        patient_id = await conn.fetchval("SELECT patient_id::text FROM samples WHERE barcode = $1", barcode)
        latest = await outbox.events_after(conn, patient_id, 0)
    await redis.publish(events_channel(settings.redis_prefix), latest[-1].to_json())


async def test_ack_is_stored_once_and_audited(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    phone = "+9198" + "4" * 8
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault, phone=phone)
        sample = await make_sample(conn, vault, patient=p)
    token = await live.sign_in(phone)
    async with live.socket(token) as ws:
        await recv(ws)
        await _move(pool, sample.barcode, S.IN_TRANSIT)
        event = await recv(ws)
        for expected_new in (True, False):
            await ws.send(json.dumps({"type": "ack", "event_id": event["event_id"]}))
            assert await recv(ws) == {"type": "acked", "event_id": event["event_id"], "new": expected_new}
        await ws.send(json.dumps({"type": "ack", "event_id": "not-a-uuid"}))
        assert (await recv(ws))["code"] == "invalid_input"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM patient_acks WHERE patient_id = $1", p.id) == 1
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'patient.ack'") == 1
