"""The worker's teleconsult messages: each side's join link right after booking (the patient on the channel they
booked on, the doctor on their own contact channel), the reminder an hour before (with the patient's join link)
and the tests the doctor suggested (with a booking link that has them chosen). The patient's messages go on the
channel the consult was booked on (SMS for the portal), never after STOP, each at most once (the job's dedupe key),
each outcome audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

import asyncpg

from core import audit, consent
from core.errors import NotFound
from core.i18n import worded
from core.identity import Actor
from core.labtime import LAB_TZ
from core.notify import Message, Notifier, SendRefused, fields_of
from core.staff import service as staff
from core.teleconsult import service, store
from core.vault import Vault

WORKER = Actor.system("worker")


async def _send(
    pool: asyncpg.Pool, vault: Vault, notifiers: Mapping[str, Notifier], consult_id: str, kind: str, link_base: str,
    codes: list[str] | None = None,
) -> str:  # fmt: skip
    async with pool.acquire() as conn:
        consult = await service.get(conn, consult_id)
        row = await store.contact(conn, consult_id)
        if row is None:
            raise worded(NotFound, "error:consult_not_found")
        if consult.status != "booked" and kind == "remind":
            outcome = "stale"
        else:
            choice = await consent.get(conn, row.phone_lookup)
            phone = vault.open("consults", "phone", consult_id, row.phone_enc)
            notifier = notifiers.get(row.channel) or notifiers.get("sms")
            outcome = "opted_out" if not choice.reminders else "no_channel" if notifier is None or not phone else "sent"
            if outcome == "sent" and notifier is not None and phone:
                if kind in ("remind", "links"):
                    link = f"{link_base}/consult/join/{await service.link_token(conn, vault, consult_id, 'patient')}"
                else:
                    link = f"{link_base}/book?{urlencode({'tests': ','.join(codes or [])})}"
                fields = {"doctor": consult.doctor_name, "time": _when(consult.starts_at, kind), "ref": consult.ref,
                          "link": link, "tests": ", ".join(codes or [])}  # fmt: skip
                message = Message(
                    f"consult.{kind}", consult.language, {k: fields[k] for k in fields_of(f"consult.{kind}")}
                )
                try:
                    await notifier.send(phone, message)
                except SendRefused:
                    outcome = "refused"
        async with conn.transaction():
            await audit.append(conn, actor=WORKER, action=f"consult.{kind}", entity_type="consult",
                               entity_id=consult_id, patient_id=consult.patient_id, outcome=outcome)  # fmt: skip
    return outcome


def _when(starts_at: datetime, kind: str) -> str:
    local = starts_at.astimezone(LAB_TZ)
    return local.strftime("%H:%M") if kind == "remind" else local.strftime("%d %b %Y, %H:%M")


async def links(
    pool: asyncpg.Pool,
    vault: Vault,
    patient_notifiers: Mapping[str, Notifier],
    staff_notifiers: Mapping[str, Notifier],
    consult_id: str,
    link_base: str,
) -> tuple[str, str]:
    """Right after booking: the patient's join link to the patient, the doctor's to the doctor (no patient detail
    in it, only the consult's reference). Returns both outcomes; the doctor's is audited here."""
    patient = await _send(pool, vault, patient_notifiers, consult_id, "links", link_base)
    async with pool.acquire() as conn:
        consult = await service.get(conn, consult_id)
        contact = await staff.contact(conn, vault, consult.doctor_id)
        notifier = staff_notifiers.get(contact[1]) or staff_notifiers.get("sms") if contact else None
        outcome = "no_contact" if contact is None else "no_channel" if notifier is None else "sent"
        if contact is not None and notifier is not None:
            link = f"{link_base}/consult/join/{await service.link_token(conn, vault, consult_id, 'doctor')}"
            fields = {"ref": consult.ref, "time": _when(consult.starts_at, "links"), "link": link}
            message = Message("consult.doctor_link", "en", fields)  # staff are written to in English
            try:
                await notifier.send(contact[0], message)
            except SendRefused:
                outcome = "refused"
        async with conn.transaction():
            await audit.append(conn, actor=WORKER, action="consult.doctor_link", entity_type="consult",
                               entity_id=consult_id, outcome=outcome)  # fmt: skip
    return patient, outcome


async def remind(pool: asyncpg.Pool, vault: Vault, notifiers: Mapping[str, Notifier], consult_id: str,
                 link_base: str) -> str:  # fmt: skip
    return await _send(pool, vault, notifiers, consult_id, "remind", link_base)


async def tests(pool: asyncpg.Pool, vault: Vault, notifiers: Mapping[str, Notifier], consult_id: str,
                codes: list[str], link_base: str) -> str:  # fmt: skip
    return await _send(pool, vault, notifiers, consult_id, "tests", link_base, codes)
