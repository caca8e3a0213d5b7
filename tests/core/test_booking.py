"""Booking in core: capacity held by the database under concurrent bookings, reminders that respect STOP and follow
reschedules, and slot generation that never touches an existing slot."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from core import consent
from core.booking import catalogue, reminders, slots
from core.booking import service as booking
from core.errors import InvalidInput
from core.notify import Message
from core.vault import Vault
from tests.support.days import first_full_day

PHONES = [f"+91982330{i:04d}" for i in range(10)]


class Phone:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None:
        self.sent.append((phone, message.text, message.kind))


async def _lab(conn: asyncpg.Connection) -> None:
    await conn.execute("INSERT INTO centres VALUES ('CC-1', 'Bandra Collection Centre', 'collection', 'Mumbai')")
    await conn.execute("INSERT INTO served_pincodes VALUES ('400050', 'CC-1', 'Bandra West')")
    await slots.ensure(conn, first_full_day())


async def _items(conn: asyncpg.Connection, *codes: str) -> list[catalogue.Item]:
    return [i for i in await catalogue.items(conn) if i.code in codes]


async def _future_slot(conn: asyncpg.Connection, kind: str, capacity: int | None = None) -> int:
    slot_id = await conn.fetchval(
        "SELECT id FROM slots WHERE kind = $1 AND starts_at > now() + interval '1 day' ORDER BY starts_at LIMIT 1",
        kind,
    )
    if capacity is not None:
        await conn.execute("UPDATE slots SET capacity = $2 WHERE id = $1", slot_id, capacity)
    return int(slot_id)


async def test_ten_people_racing_for_three_places_get_exactly_three(pool: asyncpg.Pool, vault: Vault) -> None:
    async with pool.acquire() as conn:
        await _lab(conn)
        slot = await _future_slot(conn, "centre", capacity=3)
        cbc = await _items(conn, "CBC")

    async def attempt(phone: str) -> str:
        async with pool.acquire() as conn:
            try:
                await booking.book(conn, vault, phone=phone, slot_id=slot, chosen=cbc, channel="sms")
            except booking.SlotFull:
                return "full"
            return "booked"

    outcomes = await asyncio.gather(*(attempt(p) for p in PHONES))
    assert sorted(outcomes).count("booked") == 3 and outcomes.count("full") == 7
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT booked FROM slots WHERE id = $1", slot) == 3
        assert await conn.fetchval("SELECT count(*) FROM bookings") == 3


async def test_bad_bookings_are_refused_clearly(pool: asyncpg.Pool, vault: Vault) -> None:
    async with pool.acquire() as conn:
        await _lab(conn)
        home = await _future_slot(conn, "home")
        cbc = await _items(conn, "CBC")
        with pytest.raises(InvalidInput, match="address"):
            await booking.book(conn, vault, phone=PHONES[0], slot_id=home, chosen=cbc, channel="sms")
        with pytest.raises(InvalidInput, match="at least one test"):
            await booking.book(conn, vault, phone=PHONES[0], slot_id=home, chosen=[], channel="sms")
        past = await conn.fetchval("INSERT INTO slots (centre_id, kind, starts_at, capacity) VALUES "
                                   "('CC-1', 'centre', now() - interval '1 hour', 5) RETURNING id")  # fmt: skip
        with pytest.raises(InvalidInput, match="no longer available"):
            await booking.book(conn, vault, phone=PHONES[0], slot_id=past, chosen=cbc, channel="sms")
        assert await conn.fetchval("SELECT count(*) FROM bookings") == 0
        assert await conn.fetchval("SELECT booked FROM slots WHERE id = $1", home) == 0  # nothing half-taken


async def test_reminders_respect_stop_and_follow_a_reschedule(pool: asyncpg.Pool, vault: Vault) -> None:
    phone = Phone()
    async with pool.acquire() as conn:
        await _lab(conn)
        slot = await _future_slot(conn, "home")
        fbs = await _items(conn, "FBS")
        made = await booking.book(conn, vault, phone=PHONES[1], slot_id=slot, chosen=fbs, channel="whatsapp",
                                  pincode="400050", address="12 Hill Road, Bandra West")  # fmt: skip
        jobs = await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE entrypoint = 'booking.remind'")
        assert jobs == 2  # the evening before, and an hour before
        lookup = vault.lookup.digest("phone", PHONES[1]).hex()
        await consent.update(conn, lookup, via="sms", reminders=False)  # STOP on another channel
    assert await reminders.remind(pool, vault, {"whatsapp": phone}, made.id, slot, "evening") == "opted_out"
    assert phone.sent == []
    async with pool.acquire() as conn:
        await consent.update(conn, lookup, via="whatsapp", reminders=True, language="hi")
    assert await reminders.remind(pool, vault, {"whatsapp": phone}, made.id, slot, "hour") == "sent"
    assert phone.sent[0][0] == PHONES[1] and "रिमाइंडर" in phone.sent[0][1] and made.ref in phone.sent[0][1]
    assert await reminders.remind(pool, vault, {"whatsapp": phone}, made.id, slot, "hour") == "duplicate"
    assert len(phone.sent) == 1  # a job that runs twice sends once
    async with pool.acquire() as conn:
        later = await conn.fetchval(
            "SELECT id FROM slots WHERE kind = 'home' AND starts_at > $1 ORDER BY starts_at LIMIT 1",
            made.starts_at + timedelta(hours=1),
        )
        await booking.reschedule(conn, phone_lookup=lookup, booking_id=made.id, slot_id=later)
    # The old time's reminder no longer applies; the new time's do.
    assert await reminders.remind(pool, vault, {"whatsapp": phone}, made.id, slot, "hour") == "stale"
    assert await reminders.remind(pool, vault, {}, made.id, later, "hour") == "no_channel"


async def test_slot_generation_keeps_what_an_operator_changed(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await _lab(conn)
        n = await conn.fetchval("SELECT count(*) FROM slots")
        assert n == (len(slots.HOME_HOURS) + len(slots.CENTRE_HOURS)) * (slots.BOOKABLE_DAYS + 1)
        await conn.execute("UPDATE slots SET capacity = 1")
        assert await slots.ensure(conn, first_full_day()) == 0
        assert await conn.fetchval("SELECT max(capacity) FROM slots") == 1
