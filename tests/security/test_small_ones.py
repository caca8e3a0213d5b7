"""Issue 16, item 10: break-glass needs a reason in real words and cannot sweep through records; a person who said
STOP gets only what they explicitly ask for (a booking made in the chat is confirmed there; its reminders are
not sent)."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from core import access
from core.booking import reminders
from core.errors import InvalidInput, TooManyAttempts
from core.identity import Role
from core.staff import service as staff
from core.vault import Vault
from tests.bots.test_twilio_conversations import say
from tests.support.factories import SYSTEM, make_patient
from tests.support.inbox import Inbox

REASON = "Unconscious in casualty, need her recent results"


async def test_break_glass_wants_real_words_and_stops_a_sweep(conn: asyncpg.Connection, vault: Vault) -> None:
    doctor = await staff.add(conn, username="dr.glass", display_name="Dr Glass", role=Role.DOCTOR,
                             password="x" * 12, actor=SYSTEM)  # fmt: skip
    patients = [await make_patient(conn, vault) for _ in range(7)]
    for reason in ("\u200b" * 12, "\u200b" * 30 + "ok", "aaaaaaaaaaaaaa", "1234567890 !!"):
        with pytest.raises(InvalidInput):
            await access.break_glass(conn, doctor.actor, patients[0].id, reason)
    for p in patients[: access.BREAK_GLASS_PER_WINDOW]:
        await access.break_glass(conn, doctor.actor, p.id, REASON)
    with pytest.raises(TooManyAttempts):
        await access.break_glass(conn, doctor.actor, patients[-1].id, REASON)
    assert await conn.fetchval("SELECT count(*) FROM alerts WHERE kind = 'break_glass.burst'") == 1
    assert await conn.fetchval("SELECT count(*) FROM break_glass") == access.BREAK_GLASS_PER_WINDOW


async def test_after_stop_a_chat_booking_is_confirmed_but_no_reminder_is_sent(
    wa: httpx.AsyncClient, pool: asyncpg.Pool, vault: Vault
) -> None:
    await say(wa, "STOP")
    await say(wa, "hi")
    for answer in ("1", "1", "1", "400050", "Flat 4, Sea View, Hill Road, Bandra West", "1", "1"):
        await say(wa, answer)
    [booked] = await say(wa, "yes")
    assert "Booked" in booked  # they asked for it in the conversation: it is answered there
    async with pool.acquire() as conn:
        booking = await conn.fetchrow("SELECT id::text, slot_id FROM bookings")
    inbox = Inbox()
    for kind in ("evening", "hour"):
        outcome = await reminders.remind(pool, vault, {"whatsapp": inbox, "sms": inbox}, booking["id"],
                                         booking["slot_id"], kind)  # fmt: skip
        assert outcome == "opted_out"
    assert inbox.sent == []
