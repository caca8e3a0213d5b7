"""Doctors' teleconsult slots: 15 minutes each, in a morning and an evening clinic, for the next week. Made by the
worker's daily sweep (idempotent: a slot that exists is left alone); a slot is booked at most once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import asyncpg

from core.labtime import LAB_TZ
from core.teleconsult import store
from core.teleconsult.store import ConsultSlot as ConsultSlot

MINUTES = 15
CLINICS = ((time(10, 0), time(13, 0)), (time(17, 0), time(19, 0)))
BOOKABLE_DAYS = 7


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
    return await store.ensure_slots(conn, starts, MINUTES)


async def open_slots(conn: asyncpg.Connection, day: date, now: datetime, limit: int = 40) -> list[ConsultSlot]:
    """Free slots on ``day`` that start at least 10 minutes from now, earliest first, any doctor."""
    start = datetime.combine(day, time(0), LAB_TZ)
    return await store.open_slots(conn, start, start + timedelta(days=1), now + timedelta(minutes=10), limit)


async def add(conn: asyncpg.Connection, doctor_id: str, starts_at: datetime, minutes: int = MINUTES) -> int:
    """One extra slot for a doctor (an added clinic, or an urgent same-day consult); returns its id."""
    return await store.add_slot(conn, doctor_id, starts_at, minutes)
