"""A patient's report PDF: a signed link for their own report, and the download that redeems it (audited)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import asyncpg

from core import alert_rules, audit, tracking
from core.crypto import DecryptionError
from core.errors import Conflict, DomainError
from core.i18n import worded
from core.identity import Actor, RequestMeta, Role
from core.ids import is_uuid
from core.reports import store as reports_store
from core.reports.links import PORTAL_SECONDS, Grant, LinkInvalid, ReportLinks
from core.storage import FileStore
from core.vault import Vault

LINK_HOLDER = Actor("patient:link", Role.PATIENT)


class ReportFileDamaged(DomainError):
    code = "report_file_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "We could not open this report file just now. Your results are safe and our team has been told; "
            "please try again later or ask your collection centre for a printed copy."
        )


@dataclass(frozen=True)
class ReportFile:
    data: bytes
    filename: str


async def _report(conn: asyncpg.Connection, report_id: str) -> reports_store.ReportFile | None:
    if not is_uuid(report_id):
        return None
    return await reports_store.for_download(conn, report_id)


async def link_for(
    conn: asyncpg.Connection,
    links: ReportLinks,
    phone_lookup: str,
    patient_id: str,
    report_id: str,
    *,
    meta: RequestMeta | None = None,
) -> str:
    """A 15-minute link to one of this phone's patients' reports (another's is simply not found)."""
    await tracking.authorize(conn, phone_lookup, patient_id, action="report.link", meta=meta)
    row = await _report(conn, report_id)
    if row is None or row.patient_id != patient_id:
        raise LinkInvalid
    if row.rendered_at is None:
        raise worded(Conflict, "error:report_still_being_prepared")
    async with conn.transaction():
        await audit.append(
            conn,
            actor=tracking.patient_actor(phone_lookup),
            action="report.link",
            entity_type="report",
            entity_id=report_id,
            patient_id=patient_id,
            summary={"minutes": PORTAL_SECONDS // 60},
            meta=meta,
        )
    return links.make(report_id, patient_id, ttl=PORTAL_SECONDS)


async def download(
    conn: asyncpg.Connection,
    vault: Vault,
    store: FileStore,
    links: ReportLinks,
    token: str,
    *,
    meta: RequestMeta | None = None,
) -> ReportFile:
    """Redeem a link: the decrypted PDF, checked against the hash recorded when it was rendered."""
    grant: Grant | None = None
    outcome, row = "invalid", None
    try:
        grant = links.open(token)
        row = await _report(conn, grant.report_id)
        if row is None or row.patient_id != grant.patient_id or row.rendered_at is None:
            raise LinkInvalid
        if row.file_name is None or row.file_sha256 is None:  # rendering records both with rendered_at
            raise ReportFileDamaged
        blob = await store.get(row.file_name)
        try:
            data = vault.open_file("report", row.file_name, blob) if blob is not None else None
        except DecryptionError:
            data = None
        if data is None or hashlib.sha256(data).digest() != bytes(row.file_sha256):
            outcome = "damaged"
            await alert_rules.add(conn, "report.file_damaged", {"report_id": row.id})
            raise ReportFileDamaged
        outcome = "ok"
        return ReportFile(data, f"labpulse-report-{row.barcode}-v{row.version}.pdf")
    except DomainError as exc:
        if outcome == "invalid":
            outcome = exc.code
        raise
    finally:
        async with conn.transaction():
            await audit.append(
                conn,
                actor=LINK_HOLDER,
                action="report.download",
                entity_type="report",
                entity_id=(grant.report_id if grant else "-")[:64],
                patient_id=row.patient_id if row else None,
                outcome=outcome,
                meta=meta,
            )
