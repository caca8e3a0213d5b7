"""Transactional outbox: ``add`` inside the change's transaction; ``Relay`` publishes to Redis after commit.

Delivery is at-least-once by event id. The relay publishes a batch and only then marks it sent, in the same
transaction that locked the rows: if the process dies in between, the marks roll back and the same events
(same ids, same per-patient seq) are published again. Consumers drop what they have already seen.
One relay publishes at a time: each batch is one transaction that first takes a transaction-level advisory lock
(so it works through a transaction-pooling PgBouncer, where a session lock would stay behind on a server connection),
and batches take the oldest unpublished events, which keeps publication in commit order per patient. A relay that
finds the lock taken stands by and tries again a second later.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from core import metrics, trace
from core.db.statement import Statement
from core.events import SAMPLE_STATE_CHANGED, Event
from core.patients import store as patients_store

log = logging.getLogger("labpulse.outbox")

Publisher = Callable[[Sequence[Event]], Awaitable[None]]
BATCH_WINDOW_SECONDS = 0.003


def stage(stmt: Statement, *, patient_id: str, type: str, payload: dict[str, Any]) -> uuid.UUID:
    """Stage the event as CTEs ``outbox_seq`` and ``outbox_row`` (``RETURNING patient_seq, created_at``).

    Bumping the patient's counter locks that patient's row until commit, which is what makes the sequence
    gap-free and commit-ordered.
    """
    event_id = uuid.uuid4()
    patient = stmt.bind(patient_id)
    stmt.cte("outbox_seq", patients_store.next_event_seq_sql(patient))
    stmt.cte(
        "outbox_row",
        f"""INSERT INTO outbox (event_id, patient_id, patient_seq, type, payload, request_id)
            SELECT {stmt.bind(event_id)}, {patient}, outbox_seq.event_seq, {stmt.bind(type)}, {stmt.bind(payload)},
                   {stmt.bind(trace.current())}
            FROM outbox_seq RETURNING patient_seq, created_at""",
    )
    return event_id


async def add(conn: asyncpg.Connection, *, patient_id: str, type: str, payload: dict[str, Any]) -> Event:
    """Record an event for ``patient_id`` in the caller's transaction, with the patient's next seq number.

    Call it last in a transaction so the patient row is locked as briefly as possible.
    """
    stmt = Statement()
    event_id = stage(stmt, patient_id=patient_id, type=type, payload=payload)
    row = await conn.fetchrow(stmt.sql("SELECT patient_seq, created_at FROM outbox_row"), *stmt.args)
    if row is None:
        raise LookupError(f"patient {patient_id} does not exist")
    return Event(str(event_id), str(patient_id), row["patient_seq"], type, payload, row["created_at"], trace.current())


def _to_event(r: asyncpg.Record) -> Event:
    return Event(
        event_id=str(r["event_id"]),
        patient_id=str(r["patient_id"]),
        seq=r["patient_seq"],
        type=r["type"],
        payload=r["payload"],
        created_at=r["created_at"],
        request_id=r.get("request_id"),
    )


async def events_after(conn: asyncpg.Connection, patient_id: str, after_seq: int, *, limit: int = 1000) -> list[Event]:
    """The patient's committed events with seq > ``after_seq``, in order: the record resume reads from."""
    rows = await conn.fetch(
        """SELECT event_id, patient_id, patient_seq, type, payload, created_at FROM outbox
           WHERE patient_id = $1 AND patient_seq > $2 ORDER BY patient_seq LIMIT $3""",
        patient_id,
        after_seq,
        limit,
    )
    return [_to_event(r) for r in rows]


async def unpublished(conn: asyncpg.Connection) -> int:
    """How many committed events the relay has not yet published (the fault drill waits for none)."""
    return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


async def relay_batch(
    conn: asyncpg.Connection, publish: Publisher, *, batch_size: int = 500, lock_key: int | None = None
) -> int | None:
    """Publish one batch of unpublished events and mark them; returns how many, or None when another relay holds
    ``lock_key`` (its batch is under way). Safe to crash anywhere."""
    started = time.perf_counter()
    async with conn.transaction():
        if lock_key is not None and not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock_key):
            return None
        rows = await conn.fetch(
            """SELECT id, event_id, patient_id, patient_seq, type, payload, created_at, request_id FROM outbox
               WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",
            batch_size,
        )
        if not rows:
            return 0
        events = [_to_event(r) for r in rows]
        read = time.perf_counter()
        await publish(events)
        published = time.perf_counter()
        published_at = await conn.fetchval(
            "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[]) RETURNING published_at",
            [r["id"] for r in rows],
        )
    marked = time.perf_counter()
    for phase, seconds in (("read", read - started), ("publish", published - read), ("mark", marked - published)):
        metrics.RELAY_BATCH.labels(phase).observe(seconds)
    _observe(events, published_at)
    return len(rows)


def _observe(events: Sequence[Event], published_at: datetime) -> None:
    """Count what was published and how long each event waited since its commit; a tube's step counts as a
    transition (every change of state writes exactly one such event, whichever path made it)."""
    for event in events:
        metrics.EVENTS_PUBLISHED.labels(event.type).inc()
        metrics.RELAY_LAG.observe(max(0.0, (published_at - event.created_at).total_seconds()))
        if event.type == SAMPLE_STATE_CHANGED and isinstance(to := event.payload.get("to"), str):
            metrics.TRANSITIONS.labels(to).inc()
        if log.isEnabledFor(logging.DEBUG):  # a line per event: only when asked for
            token = trace.bind(event.request_id)
            log.debug("published %s", event.type)
            trace.reset(token)


def _lock_key(schema: str) -> int:
    return int.from_bytes(hashlib.sha256(f"labpulse-relay:{schema}".encode()).digest()[:8], "big", signed=True)


class Relay:
    """Moves committed outbox events to the bus. Only the holder of the relay lock publishes."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publish: Publisher,
        *,
        schema: str,
        poll_interval: float = 0.02,
        batch_size: int = 500,
    ) -> None:
        self._pool = pool
        self._publish = publish
        self._lock_key = _lock_key(schema)
        self._poll = poll_interval
        self._batch = batch_size
        self._stopping = asyncio.Event()
        self.published = 0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self, beat: Callable[[], None] = lambda: None) -> None:
        """Publish until ``stop()``. Any failure (PostgreSQL or Redis gone) ends this call with the exception; the
        process's supervisor (core/supervise.py) calls it again with back-off. ``beat`` is called each time round
        while the relay is healthy, standing by included."""
        active = False
        while not self._stopping.is_set():
            async with self._pool.acquire() as conn:
                n = await relay_batch(conn, self._publish, batch_size=self._batch, lock_key=self._lock_key)
            beat()
            if n is None:  # another relay's batch: stand by
                if active:
                    log.info("outbox relay standing by")
                active = False
                await self._sleep(1.0)
                continue
            if not active:
                log.info("outbox relay active")
                active = True
            self.published += n
            if n == 0:
                await self._sleep(self._poll)
            elif n < self._batch:
                # A short window lets a few more events gather, so a busy relay publishes batches rather than
                # spinning on single rows; it adds at most this much lag.
                await self._sleep(BATCH_WINDOW_SECONDS)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass


def redis_publisher(redis: Any, channel: str) -> Publisher:
    """A Publisher that sends each event as JSON on one Redis pub/sub channel, in one pipeline round trip."""

    async def publish(events: Sequence[Event]) -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.publish(channel, event.to_json())
            await pipe.execute()

    return publish


async def sample_of_event(conn: asyncpg.Connection, event_id: uuid.UUID, patient_id: str) -> str | None:
    """The tube an event of this patient was about; None for no such event of theirs (or one about no tube)."""
    found: str | None = await conn.fetchval(
        "SELECT payload->>'sample_id' FROM outbox WHERE event_id = $1 AND patient_id = $2", event_id, patient_id
    )
    return found
