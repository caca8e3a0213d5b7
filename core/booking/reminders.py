"""The worker's reminder job: the evening before and an hour before a collection, on the channel it was booked
on, only while the booking stands at that time and the person has not said STOP (consent is per person, so STOP
on any channel silences reminders on all)."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from core import audit, consent
from core.booking import store
from core.identity import Actor
from core.labtime import LAB_TZ
from core.notify import Message, Notifier, SendRefused
from core.vault import Vault

WORKER = Actor.system("worker")


async def remind(
    pool: asyncpg.Pool,
    vault: Vault,
    notifiers: Mapping[str, Notifier],
    booking_id: str,
    slot_id: int,
    kind: str,
) -> str:
    """Send one reminder, or say why not: 'sent', 'stale' (moved or cancelled), 'opted_out', 'no_channel',
    'duplicate' (another run sent it), 'refused' (the provider refused it for good)."""
    async with pool.acquire() as conn:
        row = await store.reminder_target(conn, booking_id)
        if row is None or row.status != "booked" or row.slot_id != slot_id:
            return "stale"
        choice = await consent.get(conn, row.phone_lookup)
        phone = vault.open("bookings", "phone", booking_id, row.phone_enc)
        notifier = notifiers.get(row.channel)
        outcome = "opted_out" if not choice.reminders else "no_channel" if notifier is None or not phone else "sent"
        if outcome == "sent" and notifier is not None and phone:
            if not await store.claim_reminder(conn, booking_id, slot_id, kind):
                return "duplicate"  # another run sent it
            at = row.starts_at.astimezone(LAB_TZ).strftime("%H:%M")
            message = Message(f"reminder.{kind}", choice.language, {"ref": row.ref, "time": at})
            try:
                await notifier.send(phone, message)
            except SendRefused:
                outcome = "refused"  # recorded, never retried
            except Exception:
                await store.unclaim_reminder(conn, booking_id, slot_id, kind)  # nothing went out
                raise
        async with conn.transaction():
            await audit.append(conn, actor=WORKER, action="booking.remind", entity_type="booking",
                               entity_id=booking_id, outcome=outcome, summary={"kind": kind})  # fmt: skip
    return outcome
