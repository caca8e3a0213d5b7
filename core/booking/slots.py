"""Collection slots: one row per centre, kind and hour, with its capacity (the database refuses overbooking).

``ensure`` keeps the coming days' slots in place (the worker runs it daily; it never changes a slot that exists,
so a capacity an operator edited stays edited). Hours are in the lab's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import asyncpg

from core.booking import store
from core.booking.store import Slot as Slot
from core.labtime import LAB_TZ

HOME_HOURS = range(7, 12)  # fasting samples are taken early: 07:00 … 11:00
CENTRE_HOURS = range(8, 19)
HOME_CAPACITY = 4  # visits one centre's phlebotomists make in an hour
CENTRE_CAPACITY = 8
BOOKABLE_DAYS = 7


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
    return await store.ensure_slots(conn, starts, kinds, caps)


async def open_days(conn: asyncpg.Connection, kind: str, centre_id: str, now: datetime) -> list[date]:
    """Days (lab time) with at least one slot that starts more than an hour from now and has room."""
    return await store.open_days(conn, kind, centre_id, now, BOOKABLE_DAYS, LAB_TZ.key)


async def open_slots(conn: asyncpg.Connection, kind: str, centre_id: str, day: date, now: datetime) -> list[Slot]:
    return await store.open_slots(conn, kind, centre_id, day, now, LAB_TZ.key)


async def get(conn: asyncpg.Connection, slot_id: int) -> Slot | None:
    """One slot, full or not, past or not (the booking itself decides whether it can still be taken)."""
    return await store.get_slot(conn, slot_id)
