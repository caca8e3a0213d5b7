"""/ws/status through a real uvicorn server, real PostgreSQL, Redis and the in-process outbox relay."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from core.events import events_channel
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from tests.realtime.conftest import Live, patient_signed_in, recv
from tests.support.factories import PHLEB, TECH

S = SampleState


async def _move(pool: asyncpg.Pool, barcode: str, to: SampleState) -> None:
    async with pool.acquire() as conn:
        actor = PHLEB if to is S.IN_TRANSIT else TECH
        centre = "CC-1" if to is S.IN_TRANSIT else "LAB-1"
        await samples.transition(conn, barcode=barcode, to_state=to, actor=actor, centre_id=centre)


async def test_snapshot_then_live_events_in_order(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    token, p, sample = await patient_signed_in(live, pool, vault, "+9198" + "7" * 8)
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
    token, _, sample = await patient_signed_in(live, pool, vault, "+9198" + "6" * 8)
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
        # A resume message mid-stream never repeats what this socket has carried (replayed or live).
        await ws.send(json.dumps({"type": "resume", "last_event_id": last + 2}))
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv(ws))["type"] == "pong"  # and nothing else was queued before it


async def test_a_resume_frame_does_not_repeat_an_event_sent_live_after_the_snapshot(
    live: Live, pool: asyncpg.Pool, vault: Vault
) -> None:
    """The page resumes after the snapshot; an event committed meanwhile went out live before the frame arrived.
    The replay brings what the snapshot covered since the client's last event, and not that live one again."""
    token, _, sample = await patient_signed_in(live, pool, vault, "+9198" + "2" * 8)
    async with live.socket(token) as ws:
        last = (await recv(ws))["last_event_id"]
    for to in (S.IN_TRANSIT, S.RECEIVED_AT_LAB):  # missed while away
        await _move(pool, sample.barcode, to)
    async with live.socket(token) as ws:
        assert (await recv(ws))["last_event_id"] == last + 2  # the snapshot
        await _move(pool, sample.barcode, S.PROCESSING)
        sent_live = await recv(ws)
        assert (sent_live["last_event_id"], sent_live["replay"]) == (last + 3, False)
        await ws.send(json.dumps({"type": "resume", "last_event_id": last}))
        await ws.send(json.dumps({"type": "ping"}))
        got = [await recv(ws) for _ in range(3)]
    assert [(g.get("last_event_id"), g.get("replay")) for g in got[:2]] == [(last + 1, True), (last + 2, True)]
    assert got[2]["type"] == "pong"


async def test_an_event_the_bus_lost_is_read_from_postgresql(
    live: Live,
    pool: asyncpg.Pool,
    vault: Vault,
    redis,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """The socket sees an event on the bus whose predecessor never got there (lost by Redis): it reads the
    missing one from PostgreSQL first. No gap, no duplicate."""
    token, _, sample = await patient_signed_in(live, pool, vault, "+9198" + "5" * 8)
    async with live.socket(token) as ws:
        last = (await recv(ws))["last_event_id"]
        for to in (S.IN_TRANSIT, S.RECEIVED_AT_LAB):  # through the relay, as usual
            await _move(pool, sample.barcode, to)
        got = [await recv(ws) for _ in range(2)]
        assert [g["last_event_id"] for g in got] == [last + 1, last + 2]
        # Now publish only seq n+4 by hand while n+3 sits, never published, in PostgreSQL.
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
    token, p, sample = await patient_signed_in(live, pool, vault, "+9198" + "4" * 8)
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


async def test_events_committed_while_the_bus_is_down_arrive_after_it_returns(
    live: Live,
    pool: asyncpg.Pool,
    vault: Vault,
    redis,  # type: ignore[no-untyped-def]
) -> None:
    """Redis drops every subscriber (as on a restart); events published meanwhile never reach the hub. When the
    hub is back, each socket re-reads from PostgreSQL: the missed events arrive once, in order, then live ones."""
    token, _, sample = await patient_signed_in(live, pool, vault, "+9198" + "3" * 8)
    async with live.socket(token) as ws:
        last = (await recv(ws))["last_event_id"]
        await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        for to in (S.IN_TRANSIT, S.RECEIVED_AT_LAB):  # published by the relay while the hub is not subscribed
            await _move(pool, sample.barcode, to)
        got = [await recv(ws) for _ in range(2)]
        assert [g["last_event_id"] for g in got] == [last + 1, last + 2]
        await _move(pool, sample.barcode, S.PROCESSING)
        assert (await recv(ws))["last_event_id"] == last + 3
        with pytest.raises(TimeoutError):
            await recv(ws, timeout=0.5)


def _chain(task: asyncio.Task[object]) -> list[str]:
    """The names of the coroutines a task is awaiting through, outermost first."""
    names, coro = [], task.get_coro()
    while coro is not None and hasattr(coro, "cr_code"):
        names.append(coro.cr_code.co_name)
        coro = coro.cr_await
    return names


async def test_an_open_status_socket_holds_few_layers(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    """Thousands stay open for hours: the socket's handler is reached through the request id, the access log, the
    input guard and the rate limit only, not every HTTP layer (each keeps a coroutine and closures alive)."""
    token, _, _ = await patient_signed_in(live, pool, vault, "+9198" + "1" * 8)
    async with live.socket(token) as ws:
        await recv(ws)
        chains = [c for t in asyncio.all_tasks() if "status_socket" in (c := _chain(t))]
    assert len(chains) == 1
    assert len(chains[0]) <= 14, chains[0]  # 12 today; 23 through the whole HTTP stack
