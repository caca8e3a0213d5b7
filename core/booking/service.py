"""Book, reschedule and cancel collections. Each is one transaction: the slot's count, the booking row, its audit
row and its reminder jobs. The slot's CHECK (booked <= capacity) is what stops overbooking, so the last place goes
to exactly one of two people racing for it, whatever the number of server processes."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from core import audit
from core.booking import store
from core.booking.catalogue import Item
from core.booking.store import Booking as Booking
from core.booking.store import Held, Slot
from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import worded
from core.identity import Actor, RequestMeta, Role
from core.ids import is_uuid
from core.jobs import queue as jobs
from core.labtime import LAB_TZ
from core.orders import service as orders
from core.patients import service as patients
from core.patients import store as patients_store
from core.samples import service as samples
from core.vault import Vault

REMINDER_JOB = "booking.remind"
EVENING_HOUR = 19  # the evening-before reminder goes out at 19:00 lab time


class SlotFull(Conflict):
    code = "slot_full"

    def __init__(self) -> None:
        super().__init__("That time has just been taken. Please choose another time.")


def booker(phone_lookup: str) -> Actor:
    return Actor(f"phone:{phone_lookup[:16]}", Role.PATIENT)


def _ref() -> str:
    return "B" + "".join(secrets.choice("ACDEFGHJKLMNPQRTUVWXY34679") for _ in range(6))


async def _take(conn: asyncpg.Connection, slot_id: int, now: datetime) -> Slot:
    try:
        row = await store.take_slot(conn, slot_id, now)
    except asyncpg.CheckViolationError as exc:
        raise SlotFull from exc
    if row is None:
        raise worded(InvalidInput, "error:slot_gone", "slot")
    return row


async def _schedule_reminders(conn: asyncpg.Connection, booking_id: str, slot_id: int, starts: datetime,
                              now: datetime) -> None:  # fmt: skip
    """Reminder jobs: the evening before (19:00 lab time) and one hour before, each only if still ahead."""
    local = starts.astimezone(LAB_TZ)
    evening = datetime.combine(local.date() - timedelta(days=1), datetime.min.time(), LAB_TZ).replace(hour=EVENING_HOUR)
    for kind, at in (("evening", evening), ("hour", starts - timedelta(hours=1))):
        if at > now:
            await jobs.queries(conn).enqueue(
                REMINDER_JOB,
                jobs.encode({"booking_id": booking_id, "slot_id": slot_id, "kind": kind}),
                execute_after=at - now,
                dedupe_key=f"remind:{booking_id}:{slot_id}:{kind}",
                on_conflict="skip",
            )


async def phone_for(conn: asyncpg.Connection, vault: Vault, phone_lookup: str) -> str | None:
    """The number behind a signed-in phone (a session keeps only its lookup hash), where reminders for a booking
    made on the portal go: read from a patient on that phone and checked against the hash. None if no patient on
    file has it any more (the account was closed meanwhile)."""
    for patient_id, sealed in await patients_store.sealed_phones(conn, bytes.fromhex(phone_lookup)):
        phone = vault.open("patients", "phone", patient_id, sealed)
        if phone and vault.lookup.digest("phone", phone).hex() == phone_lookup:
            return phone
    return None


async def book(
    conn: asyncpg.Connection,
    vault: Vault,
    *,
    phone: str,
    slot_id: int,
    chosen: list[Item],
    channel: str,
    pincode: str | None = None,
    address: str | None = None,
    now: datetime | None = None,
    meta: RequestMeta | None = None,
) -> Booking:
    now = now or datetime.now(UTC)
    phone_lookup = vault.lookup.digest("phone", phone).hex()
    if not chosen:
        raise worded(InvalidInput, "error:no_items", "items")
    tests = sorted({t for item in chosen for t in item.tests})
    price = sum(item.price_paise for item in chosen)
    booking_id = str(uuid.uuid4())
    async with conn.transaction():
        slot = await _take(conn, slot_id, now)
        home = slot.kind == "home"
        if home and not (pincode and address):
            raise worded(InvalidInput, "error:home_address", "address")
        ref = _ref()
        await store.insert(
            conn,
            booking_id=booking_id,
            ref=ref,
            phone_lookup=phone_lookup,
            phone_enc=vault.seal("bookings", "phone", booking_id, phone),
            kind=slot.kind,
            slot_id=slot_id,
            pincode=pincode if home else None,
            address_enc=vault.seal("bookings", "address", booking_id, address) if home else None,
            items=[i.code for i in chosen],
            tests=tests,
            price_paise=price,
            channel=channel,
        )
        await _schedule_reminders(conn, booking_id, slot_id, slot.starts_at, now)
        await audit.append(
            conn,
            actor=booker(phone_lookup),
            action="booking.create",
            entity_type="booking",
            entity_id=booking_id,
            summary={"kind": slot.kind, "slot": slot_id, "items": [i.code for i in chosen], "via": channel},
            meta=meta,
        )
    return Booking(booking_id, ref, slot.kind, slot.centre_id, slot.starts_at,
                   tuple(i.code for i in chosen), price, "booked")  # fmt: skip


async def upcoming(conn: asyncpg.Connection, phone_lookup: str, now: datetime | None = None) -> list[Booking]:
    return await store.upcoming(conn, phone_lookup, now or datetime.now(UTC))


async def find(conn: asyncpg.Connection, phone_lookup: str, booking_id: str) -> tuple[Booking, str | None] | None:
    """One of this phone's bookings, whatever its status, with the pincode of a home collection; None for any other
    id (so ids cannot be probed)."""
    if not is_uuid(booking_id):
        return None
    return await store.find(conn, phone_lookup, booking_id)


async def _mine(conn: asyncpg.Connection, phone_lookup: str, booking_id: str) -> Held:
    row = await store.lock_mine(conn, phone_lookup, booking_id)
    if row is None or row.status != "booked":
        raise worded(NotFound, "error:booking_not_found")
    return row


async def cancel(conn: asyncpg.Connection, *, phone_lookup: str, booking_id: str,
                 meta: RequestMeta | None = None) -> None:  # fmt: skip
    async with conn.transaction():
        row = await _mine(conn, phone_lookup, booking_id)
        await store.release_slot(conn, row.slot_id)
        await store.cancel(conn, booking_id)
        await audit.append(conn, actor=booker(phone_lookup), action="booking.cancel", entity_type="booking",
                           entity_id=booking_id, meta=meta)  # fmt: skip


async def reschedule(
    conn: asyncpg.Connection,
    *,
    phone_lookup: str,
    booking_id: str,
    slot_id: int,
    now: datetime | None = None,
    meta: RequestMeta | None = None,
) -> Booking:
    """Move a booking to another slot of the same kind and centre; the old place is freed in the same commit."""
    now = now or datetime.now(UTC)
    async with conn.transaction():
        row = await _mine(conn, phone_lookup, booking_id)
        slot = await _take(conn, slot_id, now)
        if (slot.kind, slot.centre_id) != (row.kind, row.centre_id):
            raise worded(InvalidInput, "error:same_place", "slot")
        await store.release_slot(conn, row.slot_id)
        await store.move(conn, booking_id, slot_id)
        await _schedule_reminders(conn, booking_id, slot_id, slot.starts_at, now)
        await audit.append(
            conn,
            actor=booker(phone_lookup),
            action="booking.reschedule",
            entity_type="booking",
            entity_id=booking_id,
            summary={"from": row.slot_id, "to": slot_id},
            meta=meta,
        )
    out = [b for b in await upcoming(conn, phone_lookup, now) if b.id == booking_id]
    return out[0]


@dataclass(frozen=True, slots=True)
class Collected:
    order_id: str
    barcodes: tuple[str, ...]


async def collect(
    conn: asyncpg.Connection,
    *,
    ref: str,
    patient_id: str,
    tubes: list[tuple[str, str]],
    actor: Actor,
    meta: RequestMeta | None = None,
) -> Collected:
    """The phlebotomist at the door scans the tubes: the booking becomes an order of its tests for the patient
    (who must be on the booking's phone: a family member is registered with it first), each scanned tube is
    registered collected against it, and the booking is marked collected. ``tubes`` are (barcode, sample type);
    every sample type the tests need must be there. Scanning again returns what the first scan made."""
    async with conn.transaction():
        row = await store.lock_by_ref(conn, ref.strip().upper()[:20])
        if row is None:
            raise worded(NotFound, "error:there_booking_number")
        if row.status == "collected" and row.order_id is not None:
            return Collected(row.order_id, tuple(t.barcode for t in await samples.tubes_of_order(conn, row.order_id)))
        if row.status != "booked":
            raise worded(InvalidInput, "error:booking_cancelled", "ref")
        if patient_id not in await patients.ids_for_lookup(conn, bytes.fromhex(row.phone_lookup)):
            raise worded(InvalidInput, "error:patient_not_booking_s", "patient_id")
        order = await orders.place(
            conn,
            patient_id=patient_id,
            centre_id=row.centre_id,
            test_codes=list(row.tests),
            actor=actor,
            meta=meta,
        )
        scanned = {sample_type: barcode for barcode, sample_type in tubes}
        missing = sorted(set(order.sample_types()) - set(scanned))
        if missing:
            raise InvalidInput("tubes", f"Scan a tube for each of: {', '.join(missing)}.")
        made = [
            (await samples.register(conn, order_id=order.id, barcode=scanned[t], sample_type=t, actor=actor,
                                    centre_id=row.centre_id, meta=meta)).barcode
            for t in order.sample_types()
        ]  # fmt: skip
        await store.mark_collected(conn, row.id, order.id)
        await audit.append(
            conn, actor=actor, action="booking.collect", entity_type="booking", entity_id=row.id,
            patient_id=patient_id, summary={"order_id": order.id, "tubes": len(made)}, meta=meta,
        )  # fmt: skip
    return Collected(order.id, tuple(made))


async def for_day(conn: asyncpg.Connection, centre_id: str | None, day: date) -> list[Booking]:
    """A centre's bookings on a day of the lab's calendar (home visits and visits to the centre), every status:
    the reception's list (references, times, tests and pincodes: no names)."""
    start = datetime.combine(day, time.min, tzinfo=LAB_TZ)
    return await store.for_day(conn, centre_id, start, start + timedelta(days=1))
