"""The outbox relay: at-least-once by event id, never a lost event, one active relay at a time."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from core import outbox
from core.config import Settings
from core.events import Event, events_channel
from core.outbox import Relay, redis_publisher, relay_batch
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from tests.support.factories import PHLEB, TECH, make_patient, make_sample


@pytest.fixture
async def listener(settings: Settings, redis: aioredis.Redis) -> AsyncIterator[aioredis.client.PubSub]:
    pubsub = redis.pubsub()
    await pubsub.subscribe(events_channel(settings.redis_prefix))
    await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
    yield pubsub
    await pubsub.aclose()


async def _drain(pubsub: aioredis.client.PubSub, want: int, timeout: float = 5.0) -> list[Event]:
    got: list[Event] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(got) < want and loop.time() < deadline:
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if msg:
            got.append(Event.from_json(msg["data"]))
    return got


async def test_relay_publishes_in_per_patient_order_and_marks(
    pool: asyncpg.Pool, vault: Vault, settings: Settings, redis: aioredis.Redis, listener: aioredis.client.PubSub
) -> None:
    async with pool.acquire() as conn:
        sample = await make_sample(conn, vault)
        for state in (SampleState.IN_TRANSIT, SampleState.RECEIVED_AT_LAB):
            await samples.transition(conn, barcode=sample.barcode, to_state=state, actor=TECH, centre_id="LAB-1")
    relay = Relay(
        pool,
        redis_publisher(redis, events_channel(settings.redis_prefix)),
        schema=settings.db_schema,
        poll_interval=0.01,
    )
    task = asyncio.create_task(relay.run())
    try:
        events = await _drain(listener, 3)
        assert [(e.seq, e.payload["to"]) for e in events] == [
            (1, "collected"),
            (2, "in_transit"),
            (3, "received_at_lab"),
        ]
        # A change made while the relay runs arrives too.
        async with pool.acquire() as conn:
            await samples.transition(
                conn, barcode=sample.barcode, to_state=SampleState.PROCESSING, actor=TECH, centre_id="LAB-1"
            )
        assert [e.seq for e in await _drain(listener, 1)] == [4]
    finally:
        relay.stop()
        await task
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def test_a_relay_killed_between_publish_and_mark_leads_to_a_republish_of_the_same_ids(
    pool: asyncpg.Pool, vault: Vault, settings: Settings, redis: aioredis.Redis, listener: aioredis.client.PubSub
) -> None:
    async with pool.acquire() as conn:
        sample = await make_sample(conn, vault)
        await samples.transition(
            conn, barcode=sample.barcode, to_state=SampleState.IN_TRANSIT, actor=PHLEB, centre_id="CC-1"
        )
    assert settings.database_url and settings.redis_url
    channel = events_channel(settings.redis_prefix)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.relay_crash",
        settings.database_url.reveal(),
        settings.db_schema,
        settings.redis_url.reveal(),
        channel,
    )
    assert await asyncio.wait_for(proc.wait(), 30) == -9  # SIGKILL: no cleanup ran
    first = await _drain(listener, 2)
    assert [e.seq for e in first] == [1, 2]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 2  # not marked

    # A fresh relay takes the lock the dead one held and publishes the very same events again.
    relay = Relay(pool, redis_publisher(redis, channel), schema=settings.db_schema, poll_interval=0.01)
    task = asyncio.create_task(relay.run())
    try:
        second = await _drain(listener, 2, timeout=10)
    finally:
        relay.stop()
        await task
    assert [e.event_id for e in second] == [e.event_id for e in first]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def test_redis_down_marks_nothing(pool: asyncpg.Pool, vault: Vault) -> None:
    async with pool.acquire() as conn:
        await make_sample(conn, vault)
        dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
        with pytest.raises(aioredis.ConnectionError):
            await relay_batch(conn, redis_publisher(dead, "nowhere"))
        await dead.aclose()
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1


async def test_two_relays_never_publish_at_once_each_event_goes_once_and_one_carries_on_alone(
    pool: asyncpg.Pool, vault: Vault, settings: Settings
) -> None:
    """Each batch takes a transaction-level lock (PgBouncer-safe), so two relays take turns: never two batches at
    once, every event published once and in order; when one stops, the other publishes what comes next."""
    seen: dict[str, list[int]] = {"a": [], "b": []}
    in_flight, most = 0, 0

    def recorder(name: str) -> outbox.Publisher:
        async def publish(events: list[Event]) -> None:  # type: ignore[override]
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.02)  # a slow bus: the other relay tries meanwhile
            seen[name].extend(e.seq for e in events)
            in_flight -= 1

        return publish  # type: ignore[return-value]

    a = Relay(pool, recorder("a"), schema=settings.db_schema, poll_interval=0.005)
    b = Relay(pool, recorder("b"), schema=settings.db_schema, poll_interval=0.005)
    tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
    async with pool.acquire() as conn:
        sample = await make_sample(conn, vault)
        for step, actor in ((SampleState.IN_TRANSIT, PHLEB), (SampleState.RECEIVED_AT_LAB, TECH),
                            (SampleState.PROCESSING, TECH)):  # fmt: skip
            await samples.transition(conn, barcode=sample.barcode, to_state=step, actor=actor, centre_id="CC-1")
    for _ in range(50):
        if len(seen["a"]) + len(seen["b"]) >= 4:
            break
        await asyncio.sleep(0.1)
    a.stop()
    await tasks[0]
    assert sorted(seen["a"] + seen["b"]) == [1, 2, 3, 4] and most == 1  # once each, one batch at a time
    async with pool.acquire() as conn:
        await samples.transition(conn, barcode=sample.barcode, to_state=SampleState.COMPLETED, actor=TECH,
                                 centre_id="LAB-1")  # fmt: skip
    for _ in range(40):  # the one left may be standing by: it tries again within a second
        if 5 in seen["b"]:
            break
        await asyncio.sleep(0.1)
    b.stop()
    await tasks[1]
    assert 5 in seen["b"] and 5 not in seen["a"]


async def test_per_patient_sequence_has_no_gaps_even_after_rollbacks(pool: asyncpg.Pool, vault: Vault) -> None:
    async with pool.acquire() as conn:
        patient = await make_patient(conn, vault)

    async def add(i: int) -> None:
        async with pool.acquire() as c, c.transaction():
            await outbox.add(c, patient_id=patient.id, type="test", payload={"i": i})
            if i % 3 == 0:
                raise RuntimeError("roll this one back")

    results = await asyncio.gather(*(add(i) for i in range(30)), return_exceptions=True)
    assert sum(isinstance(r, RuntimeError) for r in results) == 10
    async with pool.acquire() as conn:
        events = await outbox.events_after(conn, patient.id, 0)
        assert [e.seq for e in events] == list(range(1, 21))
        assert [e.seq for e in await outbox.events_after(conn, patient.id, 17)] == [18, 19, 20]
        assert json.loads(events[0].to_json())["patient_id"] == patient.id
