"""The worker's notice job: tell a patient, once per channel they chose, that their report is ready (or updated).

Each notice is a ``deliveries`` row (unique per report and channel) that moves pending → sending → sent:
- a duplicated job finds it 'sent' (or being sent) and does nothing;
- a provider error puts it back to 'pending' and raises, so the queue retries with backoff;
- a worker killed between handing the text to the provider and recording 'sent' leaves it 'sending'. Whether the
  patient got it is then unknowable, so after a grace period the next run marks it 'uncertain' and raises an
  alert for staff to check the provider's log, rather than risk telling the patient twice.
The message carries a signed download link that expires in 72 hours; it never carries a result.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from core import alert_rules, audit
from core.jobs.runner import Permanent, safe_error
from core.notify import Notifier, NotifierUnavailable, SendLater, SendRefused, SendUncertain
from core.reports.links import MESSAGE_SECONDS, ReportLinks
from core.reports.render import WORKER
from core.vault import Vault

SENDING_GRACE_SECONDS = 120

TEXTS = {
    ("report.ready", "en"): "labpulse: your report for sample {barcode} is ready. Download it here "
    "(the link works for 72 hours): {url}",
    ("report.ready", "hi"): "labpulse: सैंपल {barcode} की आपकी रिपोर्ट तैयार है। यहाँ से डाउनलोड करें "
    "(लिंक 72 घंटे तक चलेगा): {url}",
    ("report.updated", "en"): "labpulse: the lab has updated your report for sample {barcode}. "
    "Please use the new version (the link works for 72 hours): {url}",
    ("report.updated", "hi"): "labpulse: लैब ने सैंपल {barcode} की आपकी रिपोर्ट अपडेट की है। "
    "कृपया नई रिपोर्ट देखें (लिंक 72 घंटे तक चलेगा): {url}",
}


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
        row = await conn.fetchrow(
            """UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = now()
               WHERE id = $1 AND status = 'pending'
               RETURNING id, report_id::text, patient_id::text, purpose, channel""",
            delivery_id,
        )
        if row is None:
            return await _not_pending(conn, delivery_id)
        info = await conn.fetchrow(
            """SELECT p.phone_enc, coalesce(c.language, p.language) AS language, coalesce(c.reports, true) AS wanted,
                      s.barcode
               FROM patients p LEFT JOIN consents c ON c.phone_lookup = encode(p.phone_lookup, 'hex'),
                    reports r JOIN samples s ON s.id = r.sample_id
               WHERE p.id = $1 AND r.id = $2""",
            row["patient_id"],
            row["report_id"],
        )
    try:
        return await _send(pool, vault, notifiers, links, base_url, row, info)
    except (NoticeFailed, Permanent, SendLater):
        raise
    except SendUncertain:
        return await _finish(pool, row, "uncertain", "the provider did not answer; check its log before resending")
    except Exception:
        await _back_to_pending(pool, delivery_id, "failed before sending")  # nothing went out: try again later
        raise


async def _back_to_pending(pool: asyncpg.Pool, delivery_id: int, error: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE deliveries SET status = 'pending', last_error = $2, updated_at = now() WHERE id = $1",
            delivery_id,
            error,
        )


async def _send(
    pool: asyncpg.Pool,
    vault: Vault,
    notifiers: Mapping[str, Notifier],
    links: ReportLinks,
    base_url: str,
    row: asyncpg.Record,
    info: asyncpg.Record | None,
) -> str:
    if info is None:
        return await _finish(pool, row, "skipped", "the patient or the report is no longer on record")
    notifier = notifiers.get(row["channel"])
    phone = vault.open("patients", "phone", row["patient_id"], info["phone_enc"])
    if notifier is None or phone is None or not info["wanted"]:
        reason = (
            "no phone number on record" if phone is None
            else "the person chose no report messages" if not info["wanted"]
            else f"{row['channel']} is not set up"
        )  # fmt: skip
        return await _finish(pool, row, "skipped", reason)
    token = links.make(row["report_id"], row["patient_id"], ttl=MESSAGE_SECONDS)
    url = f"{base_url.rstrip('/')}/reports/download/{token}"
    text = TEXTS[(row["purpose"], info["language"])].format(barcode=info["barcode"], url=url)
    try:  # WhatsApp carries the PDF itself (the provider fetches it from the signed link); SMS the link
        await notifier.send(
            phone, text, purpose=row["purpose"], media_url=url if row["channel"] == "whatsapp" else None
        )
    except (NotifierUnavailable, SendRefused) as exc:
        await _finish(pool, row, "failed", safe_error(exc))
        raise Permanent("the messaging channel refused the notice") from exc
    except SendLater:
        await _back_to_pending(pool, row["id"], "waiting for the per-person limit")
        raise
    except SendUncertain:
        raise
    except Exception as exc:  # the provider failed this time: back to pending, and the queue retries
        await _back_to_pending(pool, row["id"], safe_error(exc))
        raise NoticeFailed(safe_error(exc)) from exc
    return await _finish(pool, row, "sent", None)


async def _finish(pool: asyncpg.Pool, row: asyncpg.Record, status: str, error: str | None) -> str:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """UPDATE deliveries SET status = $2, last_error = $3, updated_at = now(),
                      sent_at = CASE WHEN $2 = 'sent' THEN now() END
               WHERE id = $1""",
            row["id"],
            status,
            error,
        )
        await audit.append(
            conn,
            actor=WORKER,
            action="report.notify",
            entity_type="report",
            entity_id=row["report_id"],
            patient_id=row["patient_id"],
            outcome=status,
            summary={"channel": row["channel"], "purpose": row["purpose"]},
        )
    return status


async def _not_pending(conn: asyncpg.Connection, delivery_id: int) -> str:
    row = await conn.fetchrow(
        "SELECT status, updated_at < now() - make_interval(secs => $2) AS stale FROM deliveries WHERE id = $1",
        delivery_id,
        SENDING_GRACE_SECONDS,
    )
    if row is None:
        raise Permanent("the notice to send does not exist")
    if row["status"] != "sending":
        return str(row["status"])  # already sent, skipped or failed: a duplicate run does nothing
    if not row["stale"]:
        raise NoticeFailed("another run is sending this notice")  # check again after it finishes
    async with conn.transaction():
        await conn.execute(
            "UPDATE deliveries SET status = 'uncertain', updated_at = now() WHERE id = $1 AND status = 'sending'",
            delivery_id,
        )
        await alert_rules.add(
            conn,
            "notice.uncertain",
            {"delivery_id": delivery_id, "hint": "a worker stopped while sending; check the provider's log"},
        )
    return "uncertain"
