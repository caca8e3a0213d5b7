"""The worker's notice job: tell a patient, once per channel they chose, that their report is ready (or updated).

Each notice is a ``deliveries`` row (unique per report and channel, written by ``core.reports.store``) that moves
pending → sending → sent:
- a duplicated job finds it 'sent' (or being sent) and does nothing;
- a provider error puts it back to 'pending' and raises, so the queue retries with backoff;
- a worker killed between handing the text to the provider and recording 'sent' leaves it 'sending'. Whether the
  patient got it is then unknowable, so after a grace period the next run marks it 'uncertain' and raises an
  alert for staff to check the provider's log, rather than risk telling the patient twice.
The message carries a signed download link that expires in 72 hours; it never carries a result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from core import alert_rules, audit, consent
from core.jobs.runner import Permanent, safe_error
from core.notify import Message, Notifier, NotifierUnavailable, SendLater, SendRefused, SendUncertain
from core.patients import store as patients_store
from core.reports import store as reports_store
from core.reports.links import MESSAGE_SECONDS, ReportLinks
from core.reports.render import WORKER
from core.reports.store import Notice
from core.vault import Vault

SENDING_GRACE_SECONDS = 120


class NoticeFailed(Exception):
    """The provider refused or failed this time; the queue will try again."""


async def deliver(
    pool: asyncpg.Pool,
    vault: Vault,
    notifiers: Mapping[str, Notifier],
    links: ReportLinks,
    base_url: str,
    delivery_id: int,
) -> str:
    """Send one notice; returns the row's final status for this run."""
    async with pool.acquire() as conn:
        row = await reports_store.start_sending(conn, delivery_id)
        if row is None:
            return await _not_pending(conn, delivery_id)
        info = await _info(conn, row)
    try:
        return await _send(pool, vault, notifiers, links, base_url, row, info)
    except (NoticeFailed, Permanent, SendLater):
        raise
    except SendUncertain:
        return await _finish(pool, row, "uncertain", "the provider did not answer; check its log before resending")
    except Exception:
        await _back_to_pending(pool, delivery_id, "failed before sending")  # nothing went out: try again later
        raise


@dataclass(frozen=True, slots=True)
class _Info:
    phone_enc: bytes | None
    language: str
    wanted: bool
    barcode: str


async def _info(conn: asyncpg.Connection, row: Notice) -> _Info | None:
    """The patient's phone, language and report-message choice (their consent record first, then the patient
    record) and the tube's barcode; None when the patient or the report is no longer on record."""
    contact = await patients_store.notice_contact(conn, row.patient_id)
    barcode = await reports_store.barcode(conn, row.report_id)
    if contact is None or barcode is None:
        return None
    choice = await consent.find(conn, contact.phone_lookup) if contact.phone_lookup else None
    if choice is None:
        return _Info(contact.phone_enc, contact.language, True, barcode)
    return _Info(contact.phone_enc, choice.language, choice.reports, barcode)


async def _back_to_pending(pool: asyncpg.Pool, delivery_id: int, error: str) -> None:
    async with pool.acquire() as conn:
        await reports_store.back_to_pending(conn, delivery_id, error)


async def _send(
    pool: asyncpg.Pool,
    vault: Vault,
    notifiers: Mapping[str, Notifier],
    links: ReportLinks,
    base_url: str,
    row: Notice,
    info: _Info | None,
) -> str:
    if info is None:
        return await _finish(pool, row, "skipped", "the patient or the report is no longer on record")
    notifier = notifiers.get(row.channel)
    phone = vault.open("patients", "phone", row.patient_id, info.phone_enc)
    if notifier is None or phone is None or not info.wanted:
        reason = (
            "no phone number on record" if phone is None
            else "the person chose no report messages" if not info.wanted
            else f"{row.channel} is not set up"
        )  # fmt: skip
        return await _finish(pool, row, "skipped", reason)
    token = links.make(row.report_id, row.patient_id, ttl=MESSAGE_SECONDS)
    url = f"{base_url.rstrip('/')}/reports/download/{token}"
    message = Message(row.purpose, info.language, {"barcode": info.barcode, "url": url})
    try:  # WhatsApp carries the PDF itself (the provider fetches it from the signed link); SMS the link
        await notifier.send(phone, message, media_url=url if row.channel == "whatsapp" else None)
    except (NotifierUnavailable, SendRefused) as exc:
        await _finish(pool, row, "failed", safe_error(exc))
        raise Permanent("the messaging channel refused the notice") from exc
    except SendLater:
        await _back_to_pending(pool, row.id, "waiting for the per-person limit")
        raise
    except SendUncertain:
        raise
    except Exception as exc:  # the provider failed this time: back to pending, and the queue retries
        await _back_to_pending(pool, row.id, safe_error(exc))
        raise NoticeFailed(safe_error(exc)) from exc
    return await _finish(pool, row, "sent", None)


async def _finish(pool: asyncpg.Pool, row: Notice, status: str, error: str | None) -> str:
    async with pool.acquire() as conn, conn.transaction():
        await reports_store.finish(conn, row.id, status, error)
        await audit.append(
            conn,
            actor=WORKER,
            action="report.notify",
            entity_type="report",
            entity_id=row.report_id,
            patient_id=row.patient_id,
            outcome=status,
            summary={"channel": row.channel, "purpose": row.purpose},
        )
    return status


async def _not_pending(conn: asyncpg.Connection, delivery_id: int) -> str:
    found = await reports_store.notice_status(conn, delivery_id, SENDING_GRACE_SECONDS)
    if found is None:
        raise Permanent("the notice to send does not exist")
    status, stale = found
    if status != "sending":
        return status  # already sent, skipped or failed: a duplicate run does nothing
    if not stale:
        raise NoticeFailed("another run is sending this notice")  # check again after it finishes
    async with conn.transaction():
        await reports_store.mark_uncertain(conn, delivery_id)
        await alert_rules.add(
            conn,
            "notice.uncertain",
            {"delivery_id": delivery_id, "hint": "a worker stopped while sending; check the provider's log"},
        )
    return "uncertain"
