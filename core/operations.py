"""What the operations page shows (issue 19): jobs that gave up (dead letters), report notices nobody knows arrived
(uncertain), the job queue's depth, the systems that send us HL7 and their last message, and how report notices
went by channel today. Ids, counts and times only: no PHI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from core import permissions
from core.hl7 import store as hl7_store
from core.identity import Actor
from core.jobs import queue, runner
from core.reports import store as reports_store

DAY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Overview:
    dead_letters: list[dict[str, Any]]
    uncertain: list[reports_store.Uncertain]
    queue: dict[tuple[str, str], int]
    senders: list[hl7_store.Sender]
    notices: dict[tuple[str, str], int]


async def overview(conn: asyncpg.Connection, actor: Actor, now: datetime | None = None) -> Overview:
    permissions.require(actor.role, "admin.jobs")
    since = (now or datetime.now(UTC)) - DAY
    return Overview(
        dead_letters=await runner.dead_letters(conn, limit=100),
        uncertain=await reports_store.uncertain_notices(conn, limit=100),
        queue=await queue.depth(conn),
        senders=await hl7_store.senders(conn, since),
        notices=await reports_store.notices_by_channel(conn, since),
    )
