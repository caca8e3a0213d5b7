"""The worker's teleconsult messages: the reminder an hour before (with the patient's join link) and the tests the
doctor suggested (with a booking link that has them chosen). Sent on the channel the consult was booked on (SMS
for the portal), never after STOP, each at most once (the job's dedupe key), each outcome audited."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import asyncpg

from core import audit, consent
from core.identity import Actor
from core.labtime import LAB_TZ
from core.notify import Notifier, SendRefused
from core.teleconsult import service
from core.vault import Vault

WORKER = Actor.system("worker")
TEXTS = {
    ("remind", "en"): "labpulse: your video consultation with {doctor} is at {time}. Join from this phone at "
    "{link} (it opens 15 minutes before). Reply STOP to end reminders.",
    ("remind", "hi"): "labpulse: {doctor} के साथ आपका वीडियो परामर्श {time} बजे है। इसी फ़ोन से जुड़ें: {link} (15 मिनट "
    "पहले खुलेगा)। रिमाइंडर बंद करने के लिए STOP भेजें।",
    ("tests", "en"): "labpulse: {doctor} suggests these tests: {tests}. Book a home collection or a centre visit "
    "here: {link}",
    ("tests", "hi"): "labpulse: {doctor} ने ये टेस्ट सुझाए हैं: {tests}। घर से सैंपल या सेंटर विज़िट यहाँ बुक करें: {link}",
}


async def _send(
    pool: asyncpg.Pool, vault: Vault, notifiers: Mapping[str, Notifier], consult_id: str, kind: str, link_base: str,
    codes: list[str] | None = None,
) -> str:  # fmt: skip
    async with pool.acquire() as conn:
        consult = await service.get(conn, consult_id)
        row = await conn.fetchrow("SELECT phone_lookup, phone_enc, channel FROM consults WHERE id = $1", consult_id)
        if consult.status != "booked" and kind == "remind":
            outcome = "stale"
        else:
            choice = await consent.get(conn, row["phone_lookup"])
            phone = vault.open("consults", "phone", consult_id, row["phone_enc"])
            notifier = notifiers.get(row["channel"]) or notifiers.get("sms")
            outcome = "opted_out" if not choice.reminders else "no_channel" if notifier is None or not phone else "sent"
            if outcome == "sent" and notifier is not None and phone:
                if kind == "remind":
                    link = f"{link_base}/consult/join/{await service.link_token(conn, vault, consult_id, 'patient')}"
                else:
                    link = f"{link_base}/book?{urlencode({'tests': ','.join(codes or [])})}"
                text = TEXTS[(kind, consult.language)].format(
                    doctor=consult.doctor_name, time=consult.starts_at.astimezone(LAB_TZ).strftime("%H:%M"),
                    link=link, tests=", ".join(codes or []),
                )  # fmt: skip
                try:
                    await notifier.send(phone, text, purpose=f"consult.{kind}")
                except SendRefused:
                    outcome = "refused"
        async with conn.transaction():
            await audit.append(conn, actor=WORKER, action=f"consult.{kind}", entity_type="consult",
                               entity_id=consult_id, patient_id=consult.patient_id, outcome=outcome)  # fmt: skip
    return outcome


async def remind(pool: asyncpg.Pool, vault: Vault, notifiers: Mapping[str, Notifier], consult_id: str,
                 link_base: str) -> str:  # fmt: skip
    return await _send(pool, vault, notifiers, consult_id, "remind", link_base)


async def tests(pool: asyncpg.Pool, vault: Vault, notifiers: Mapping[str, Notifier], consult_id: str,
                codes: list[str], link_base: str) -> str:  # fmt: skip
    return await _send(pool, vault, notifiers, consult_id, "tests", link_base, codes)
