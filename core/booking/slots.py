"""Collection slots: one row per centre, kind and hour, with its capacity (the database refuses overbooking).

``ensure`` keeps the coming days' slots in place (the worker runs it daily; it never changes a slot that exists,
so a capacity an operator edited stays edited). Hours are in the lab's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import asyncpg

from core.labtime import LAB_TZ

HOME_HOURS = range(7, 12)  # fasting samples are taken early: 07:00 … 11:00
CENTRE_HOURS = range(8, 19)
HOME_CAPACITY = 4  # visits one centre's phlebotomists make in an hour
CENTRE_CAPACITY = 8
BOOKABLE_DAYS = 7


@dataclass(frozen=True, slots=True)
class Slot:
    id: int
    centre_id: str
    kind: str
    starts_at: datetime
    free: int


async def ensure(conn: asyncpg.Connection, today: date, days: int = BOOKABLE_DAYS) -> int:
    """Create the missing slots for ``today`` and the next ``days`` days; returns how many were added."""
    starts: list[datetime] = []
    kinds: list[str] = []
    caps: list[int] = []
    for d in range(days + 1):
        day = today + timedelta(days=d)
        for hour in HOME_HOURS:
            starts.append(datetime.combine(day, time(hour), LAB_TZ))
            kinds.append("home")
            caps.append(HOME_CAPACITY)
        for hour in CENTRE_HOURS:
            starts.append(datetime.combine(day, time(hour), LAB_TZ))
            kinds.append("centre")
            caps.append(CENTRE_CAPACITY)
    added = await conn.fetchval(
        """WITH new AS (
               INSERT INTO slots (centre_id, kind, starts_at, capacity)
               SELECT c.id, s.kind, s.starts_at, s.capacity
               FROM centres c, unnest($1::timestamptz[], $2::text[], $3::int[]) AS s(starts_at, kind, capacity)
               WHERE c.kind = 'collection'
                 AND (s.kind = 'centre' OR EXISTS (SELECT 1 FROM served_pincodes p WHERE p.centre_id = c.id))
               ON CONFLICT (centre_id, kind, starts_at) DO NOTHING RETURNING 1)
           SELECT count(*) FROM new""",
        starts,
        kinds,
        caps,
    )
    return int(added)


async def open_days(conn: asyncpg.Connection, kind: str, centre_id: str, now: datetime) -> list[date]:
    """Days (lab time) with at least one slot that starts more than an hour from now and has room."""
    rows = await conn.fetch(
        """SELECT DISTINCT (starts_at AT TIME ZONE $5)::date AS day FROM slots
           WHERE kind = $1 AND centre_id = $2 AND starts_at > $3::timestamptz + interval '1 hour' AND booked < capacity
           ORDER BY day LIMIT $4""",
        kind,
        centre_id,
        now,
        BOOKABLE_DAYS,
        LAB_TZ.key,
    )
    return [r["day"] for r in rows]


async def open_slots(conn: asyncpg.Connection, kind: str, centre_id: str, day: date, now: datetime) -> list[Slot]:
    rows = await conn.fetch(
        """SELECT id, centre_id, kind, starts_at, capacity - booked AS free FROM slots
           WHERE kind = $1 AND centre_id = $2 AND starts_at > $3::timestamptz + interval '1 hour' AND booked < capacity
             AND (starts_at AT TIME ZONE $5)::date = $4
           ORDER BY starts_at""",
        kind,
        centre_id,
        now,
        day,
        LAB_TZ.key,
    )
    return [Slot(r["id"], r["centre_id"], r["kind"], r["starts_at"], r["free"]) for r in rows]


async def get(conn: asyncpg.Connection, slot_id: int) -> Slot | None:
    """One slot, full or not, past or not (the booking itself decides whether it can still be taken)."""
    r = await conn.fetchrow(
        "SELECT id, centre_id, kind, starts_at, capacity - booked AS free FROM slots WHERE id = $1", slot_id
    )
    return Slot(r["id"], r["centre_id"], r["kind"], r["starts_at"], r["free"]) if r else None
