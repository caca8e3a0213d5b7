"""The only SQL for collection slots, bookings and the reminders sent for them. Each function takes the caller's
connection (and so its transaction); which centres have slots comes from the catalogue's subquery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from core.booking import catalogue


@dataclass(frozen=True, slots=True)
class Slot:
    id: int
    centre_id: str
    kind: str
    starts_at: datetime
    free: int


@dataclass(frozen=True, slots=True)
class Booking:
    id: str
    ref: str
    kind: str
    centre_id: str
    starts_at: datetime
    items: tuple[str, ...]
    price_paise: int
    status: str


@dataclass(frozen=True, slots=True)
class Held:
    """A booking locked by the caller, with the place of its slot."""

    id: str
    slot_id: int
    status: str
    kind: str
    centre_id: str


@dataclass(frozen=True, slots=True)
class AtDoor:
    """A booking locked for collection, by its reference."""

    id: str
    phone_lookup: str
    tests: tuple[str, ...]
    status: str
    order_id: str | None
    centre_id: str


@dataclass(frozen=True, slots=True)
class ReminderTarget:
    ref: str
    phone_lookup: str
    phone_enc: bytes | None
    channel: str
    status: str
    slot_id: int
    starts_at: datetime


# --- slots ---


async def ensure_slots(conn: asyncpg.Connection, starts: list[datetime], kinds: list[str], caps: list[int]) -> int:
    """The slots (start, kind, capacity) of every collection centre that do not exist yet (home visits only where
    the centre serves a pincode); returns how many were made."""
    added = await conn.fetchval(
        f"""WITH new AS (
               INSERT INTO slots (centre_id, kind, starts_at, capacity)
               SELECT c.id, s.kind, s.starts_at, s.capacity
               FROM ({catalogue.collection_centres_sql()}) c,
                    unnest($1::timestamptz[], $2::text[], $3::int[]) AS s(starts_at, kind, capacity)
               WHERE s.kind = 'centre' OR c.visits_homes
               ON CONFLICT (centre_id, kind, starts_at) DO NOTHING RETURNING 1)
           SELECT count(*) FROM new""",
        starts,
        kinds,
        caps,
    )
    return int(added)


async def open_days(
    conn: asyncpg.Connection, kind: str, centre_id: str, now: datetime, limit: int, tz: str
) -> list[date]:
    """Days (in ``tz``) with a slot that starts more than an hour from now and has room."""
    rows = await conn.fetch(
        """SELECT DISTINCT (starts_at AT TIME ZONE $5)::date AS day FROM slots
           WHERE kind = $1 AND centre_id = $2 AND starts_at > $3::timestamptz + interval '1 hour' AND booked < capacity
           ORDER BY day LIMIT $4""",
        kind,
        centre_id,
        now,
        limit,
        tz,
    )
    return [r["day"] for r in rows]


async def open_slots(
    conn: asyncpg.Connection, kind: str, centre_id: str, day: date, now: datetime, tz: str
) -> list[Slot]:
    rows = await conn.fetch(
        """SELECT id, centre_id, kind, starts_at, capacity - booked AS free FROM slots
           WHERE kind = $1 AND centre_id = $2 AND starts_at > $3::timestamptz + interval '1 hour' AND booked < capacity
             AND (starts_at AT TIME ZONE $5)::date = $4
           ORDER BY starts_at""",
        kind,
        centre_id,
        now,
        day,
        tz,
    )
    return [Slot(r["id"], r["centre_id"], r["kind"], r["starts_at"], r["free"]) for r in rows]


async def get_slot(conn: asyncpg.Connection, slot_id: int) -> Slot | None:
    r = await conn.fetchrow(
        "SELECT id, centre_id, kind, starts_at, capacity - booked AS free FROM slots WHERE id = $1", slot_id
    )
    return Slot(r["id"], r["centre_id"], r["kind"], r["starts_at"], r["free"]) if r else None


async def take_slot(conn: asyncpg.Connection, slot_id: int, now: datetime) -> Slot | None:
    """One more place taken in a slot still ahead; None if it has passed. A full slot raises
    ``asyncpg.CheckViolationError`` (the table's CHECK, which is what stops overbooking)."""
    r = await conn.fetchrow(
        """UPDATE slots SET booked = booked + 1 WHERE id = $1 AND starts_at > $2
           RETURNING id, centre_id, kind, starts_at, capacity - booked AS free""",
        slot_id,
        now,
    )
    return Slot(r["id"], r["centre_id"], r["kind"], r["starts_at"], r["free"]) if r else None


async def release_slot(conn: asyncpg.Connection, slot_id: int) -> None:
    await conn.execute("UPDATE slots SET booked = booked - 1 WHERE id = $1", slot_id)


# --- bookings ---


async def insert(
    conn: asyncpg.Connection,
    *,
    booking_id: str,
    ref: str,
    phone_lookup: str,
    phone_enc: bytes | None,
    kind: str,
    slot_id: int,
    pincode: str | None,
    address_enc: bytes | None,
    items: list[str],
    tests: list[str],
    price_paise: int,
    channel: str,
) -> None:
    await conn.execute(
        """INSERT INTO bookings (id, ref, phone_lookup, phone_enc, kind, slot_id, pincode, address_enc, items,
                                 tests, price_paise, channel)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        booking_id,
        ref,
        phone_lookup,
        phone_enc,
        kind,
        slot_id,
        pincode,
        address_enc,
        items,
        tests,
        price_paise,
        channel,
    )


_BOOKING = """SELECT b.id::text, b.ref, b.kind, s.centre_id, s.starts_at, b.items, b.price_paise, b.status, b.pincode
              FROM bookings b JOIN slots s ON s.id = b.slot_id"""


def _booking(r: asyncpg.Record) -> Booking:
    return Booking(r["id"], r["ref"], r["kind"], r["centre_id"], r["starts_at"], tuple(r["items"]), r["price_paise"],
                   r["status"])  # fmt: skip


async def upcoming(conn: asyncpg.Connection, phone_lookup: str, now: datetime) -> list[Booking]:
    rows = await conn.fetch(
        _BOOKING + " WHERE b.phone_lookup = $1 AND b.status = 'booked' AND s.starts_at > $2 ORDER BY s.starts_at",
        phone_lookup,
        now,
    )
    return [_booking(r) for r in rows]


async def find(conn: asyncpg.Connection, phone_lookup: str, booking_id: str) -> tuple[Booking, str | None] | None:
    """One of this phone's bookings with the pincode of a home collection."""
    r = await conn.fetchrow(_BOOKING + " WHERE b.id = $1 AND b.phone_lookup = $2", booking_id, phone_lookup)
    return (_booking(r), r["pincode"]) if r else None


async def lock_mine(conn: asyncpg.Connection, phone_lookup: str, booking_id: str) -> Held | None:
    """This phone's booking, locked until the caller's transaction ends."""
    r = await conn.fetchrow(
        """SELECT b.id::text, b.slot_id, b.status, s.kind, s.centre_id FROM bookings b JOIN slots s ON s.id = b.slot_id
           WHERE b.id = $1 AND b.phone_lookup = $2 FOR UPDATE OF b""",
        booking_id,
        phone_lookup,
    )
    return Held(r["id"], r["slot_id"], r["status"], r["kind"], r["centre_id"]) if r else None


async def cancel(conn: asyncpg.Connection, booking_id: str) -> None:
    await conn.execute("UPDATE bookings SET status = 'cancelled', updated_at = now() WHERE id = $1", booking_id)


async def move(conn: asyncpg.Connection, booking_id: str, slot_id: int) -> None:
    await conn.execute("UPDATE bookings SET slot_id = $2, updated_at = now() WHERE id = $1", booking_id, slot_id)


async def lock_by_ref(conn: asyncpg.Connection, ref: str) -> AtDoor | None:
    """The booking with this reference, locked until the caller's transaction ends."""
    r = await conn.fetchrow(
        """SELECT b.id::text, b.phone_lookup, b.tests, b.status, b.order_id::text, s.centre_id
           FROM bookings b JOIN slots s ON s.id = b.slot_id WHERE b.ref = $1 FOR UPDATE OF b""",
        ref,
    )
    if r is None:
        return None
    return AtDoor(r["id"], r["phone_lookup"], tuple(r["tests"]), r["status"], r["order_id"], r["centre_id"])


async def mark_collected(conn: asyncpg.Connection, booking_id: str, order_id: str) -> None:
    await conn.execute(
        "UPDATE bookings SET status = 'collected', order_id = $2, updated_at = now() WHERE id = $1",
        booking_id,
        order_id,
    )


# --- reminders ---


async def reminder_target(conn: asyncpg.Connection, booking_id: str) -> ReminderTarget | None:
    r = await conn.fetchrow(
        """SELECT b.ref, b.phone_lookup, b.phone_enc, b.channel, b.status, b.slot_id, s.starts_at FROM bookings b
           JOIN slots s ON s.id = b.slot_id WHERE b.id = $1""",
        booking_id,
    )
    if r is None:
        return None
    return ReminderTarget(r["ref"], r["phone_lookup"], r["phone_enc"], r["channel"], r["status"], r["slot_id"],
                          r["starts_at"])  # fmt: skip


async def claim_reminder(conn: asyncpg.Connection, booking_id: str, slot_id: int, kind: str) -> bool:
    """Record that this reminder goes out; False if another run already sent it."""
    claimed = await conn.fetchval(
        """INSERT INTO reminders_sent (booking_id, slot_id, kind) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING 1""",
        booking_id,
        slot_id,
        kind,
    )
    return bool(claimed)


async def unclaim_reminder(conn: asyncpg.Connection, booking_id: str, slot_id: int, kind: str) -> None:
    """Nothing went out: free the claim so the retry can send."""
    await conn.execute(
        "DELETE FROM reminders_sent WHERE booking_id = $1 AND slot_id = $2 AND kind = $3", booking_id, slot_id, kind
    )


async def for_day(conn: asyncpg.Connection, centre_id: str | None, start: datetime, end: datetime) -> list[Booking]:
    """Bookings whose slot starts in [start, end), at ``centre_id`` (None: every centre), every status, by time."""
    rows = await conn.fetch(
        _BOOKING
        + """ WHERE s.starts_at >= $1 AND s.starts_at < $2 AND ($3::text IS NULL OR s.centre_id = $3)
                       ORDER BY s.starts_at, b.ref""",
        start,
        end,
        centre_id,
    )
    return [_booking(r) for r in rows]
