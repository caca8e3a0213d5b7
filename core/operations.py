"""What the operations page shows (issue 19): jobs that gave up (dead letters), report notices nobody knows arrived
(uncertain), the job queue's depth, the MLLP listeners and who is connected to each now, the systems that send us
HL7 and their last message, and how report notices went by channel today. Ids, counts and times only: no PHI."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from core import audit, critical, metrics, permissions
from core.errors import Conflict
from core.hl7 import links
from core.hl7 import store as hl7_store
from core.i18n import worded
from core.identity import Actor, RequestMeta
from core.jobs import queue, runner
from core.reports import store as reports_store
from core.reports.render import DELIVER_JOB

DAY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Overview:
    dead_letters: list[dict[str, Any]]
    uncertain: list[reports_store.Uncertain]
    queue: dict[tuple[str, str], int]
    senders: list[hl7_store.Sender]
    listeners: list[links.Listener]
    notices: dict[tuple[str, str], int]


async def overview(conn: asyncpg.Connection, actor: Actor, now: datetime | None = None) -> Overview:
    permissions.require(actor.role, "admin.jobs")
    since = (now or datetime.now(UTC)) - DAY
    return Overview(
        dead_letters=await runner.dead_letters(conn, limit=100),
        uncertain=await reports_store.uncertain_notices(conn, limit=100),
        queue=await queue.depth(conn),
        senders=await hl7_store.senders(conn, since),
        listeners=await links.listeners(conn, now or datetime.now(UTC)),
        notices=await reports_store.notices_by_channel(conn, since),
    )


async def settle_notice(
    conn: asyncpg.Connection, delivery_id: int, *, arrived: bool, actor: Actor, meta: RequestMeta | None = None
) -> None:
    """Staff say what became of a notice whose provider never answered: it arrived (the patient or the provider's
    log says so), or it did not, and it is sent again. Audited; a notice already settled is refused."""
    permissions.require(actor.role, "admin.jobs")
    async with conn.transaction():
        if not await reports_store.settle_uncertain(conn, delivery_id, arrived=arrived):
            raise worded(Conflict, "error:notice_longer_waiting_decision")
        if not arrived:
            await queue.enqueue(conn, DELIVER_JOB, {"delivery_id": delivery_id},
                                key=f"deliver:{delivery_id}:again:{uuid.uuid4().hex[:8]}")  # fmt: skip
        await audit.append(conn, actor=actor, action="notice.settle", entity_type="delivery",
                           entity_id=str(delivery_id), summary={"arrived": arrived}, meta=meta)  # fmt: skip


async def sample_gauges(conn: asyncpg.Connection, now: datetime) -> None:
    """Set the gauges that are read from the database rather than counted as things happen (a worker does it every
    few seconds): the queue's depth, dead letters waiting, and the open critical values."""
    depth = await queue.depth(conn)
    metrics.JOB_QUEUE.clear()  # a status no job is in any more goes, rather than keep its last count
    for (job, status), n in depth.items():
        metrics.JOB_QUEUE.labels(job, status).set(n)
    metrics.DEAD_LETTERS.set(await runner.waiting_count(conn))
    seen = await critical.unacknowledged(conn, now)
    metrics.CRITICAL_OPEN.set(seen.open)
    metrics.CRITICAL_PAST_CHAIN.set(seen.past_chain)
    metrics.CRITICAL_OLDEST.set(seen.oldest_seconds)
