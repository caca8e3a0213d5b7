"""Doctors' teleconsult slots: 15 minutes each, in a morning and an evening clinic, for the next week. Made by the
worker's daily sweep (idempotent: a slot that exists is left alone); a slot is booked at most once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import asyncpg

from core.labtime import LAB_TZ

MINUTES = 15
CLINICS = ((time(10, 0), time(13, 0)), (time(17, 0), time(19, 0)))
BOOKABLE_DAYS = 7


@dataclass(frozen=True, slots=True)
class ConsultSlot:
    id: int
    doctor_id: str
    doctor_name: str
    starts_at: datetime
    minutes: int


def _starts(day: date) -> list[datetime]:
    out = []
    for begin, end in CLINICS:
        at = datetime.combine(day, begin, LAB_TZ)
        while at.timetz() < end:
            out.append(at)
            at += timedelta(minutes=MINUTES)
    return out


async def ensure(conn: asyncpg.Connection, today: date, days: int = BOOKABLE_DAYS) -> int:
    """Create the missing slots of every active doctor for ``today`` and the next ``days`` days."""
    starts = [at for d in range(days + 1) for at in _starts(today + timedelta(days=d))]
    added = await conn.fetchval(
        """WITH new AS (
               INSERT INTO consult_slots (doctor_id, starts_at, minutes)
               SELECT s.id, t, $2 FROM staff s, unnest($1::timestamptz[]) AS t
               WHERE s.role = 'doctor' AND s.active
               ON CONFLICT (doctor_id, starts_at) DO NOTHING RETURNING 1)
           SELECT count(*) FROM new""",
        starts,
        MINUTES,
    )
    return int(added)


async def open_slots(conn: asyncpg.Connection, day: date, now: datetime, limit: int = 40) -> list[ConsultSlot]:
    """Free slots on ``day`` that start at least 10 minutes from now, earliest first, any doctor."""
    start = datetime.combine(day, time(0), LAB_TZ)
    rows = await conn.fetch(
        """SELECT c.id, c.doctor_id, s.display_name, c.starts_at, c.minutes FROM consult_slots c
           JOIN staff s ON s.id = c.doctor_id
           WHERE NOT c.booked AND s.active AND c.starts_at >= $1 AND c.starts_at < $2 AND c.starts_at > $3
           ORDER BY c.starts_at, s.display_name LIMIT $4""",
        start,
        start + timedelta(days=1),
        now + timedelta(minutes=10),
        limit,
    )
    return [ConsultSlot(r["id"], str(r["doctor_id"]), r["display_name"], r["starts_at"], r["minutes"]) for r in rows]


async def add(conn: asyncpg.Connection, doctor_id: str, starts_at: datetime, minutes: int = MINUTES) -> int:
    """One extra slot for a doctor (an added clinic, or an urgent same-day consult); returns its id."""
    slot_id = await conn.fetchval(
        """INSERT INTO consult_slots (doctor_id, starts_at, minutes) VALUES ($1, $2, $3)
           ON CONFLICT (doctor_id, starts_at) DO UPDATE SET minutes = EXCLUDED.minutes RETURNING id""",
        doctor_id,
        starts_at,
        minutes,
    )
    return int(slot_id)
