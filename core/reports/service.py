"""Approve a completed tube into a signed report, and answer the public verification page.

Approval signs the report's canonical content and queues its rendering in the same transaction: the job exists if
and only if the report row does. The worker's render job (core/reports/render.py) stores the PDF and releases the
tube; a report row is "preparing" until then (``rendered_at`` is null)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import audit, consent, permissions, ranges, results
from core.booking import catalogue
from core.crypto import DecryptionError
from core.errors import Conflict, InvalidInput, InvalidTransition, NotFound, UnknownBarcode
from core.i18n import worded
from core.identity import Actor, RequestMeta, Role
from core.ids import is_uuid
from core.jobs import queue as jobs
from core.labtime import LAB_TZ
from core.patients import store as patients_store
from core.reports import content as rc
from core.reports import store as reports_store
from core.samples import store as samples_store
from core.samples.model import Sample, SampleState, normalize_barcode
from core.staff import store as staff_store
from core.vault import Vault

PUBLIC = Actor("public:verify", Role.SYSTEM)
EVENT_REPORT_UPDATED = "report.updated"
RENDER_JOB = "reports.render"


def shown_value(r: results.Latest) -> str:
    """A result's value as the report prints it: a number with its comparator, else its text or code."""
    if r.value_num is not None:
        return f"{r.comparator or ''}{r.value_num}"
    return str(r.value_text or r.value_code or "-")


async def _content(
    conn: asyncpg.Connection,
    vault: Vault,
    sample: Sample,
    version: int,
    actor: Actor,
    report_id: str,
    issued: datetime,
    comment: str | None = None,
) -> dict[str, Any]:
    p = await patients_store.get(conn, sample.patient_id)
    if p is None:
        raise worded(NotFound, "error:patient_tube_not_record")
    dob = vault.open("patients", "dob", p.id, p.dob_enc)
    rows = await results.latest_of_sample(conn, sample.id)
    signer = await staff_store.display_name(conn, actor.id.removeprefix("staff:"))
    lang = await _language(conn, p.id)
    names = await ranges.analyte_names(conn, [r.code for r in rows]) if lang != "en" else {}
    centre_local = await catalogue.centre_name(conn, sample.centre_id, lang) if lang != "en" else None
    return {
        "report_id": report_id,
        "version": version,
        "language": lang,  # the patient's: the report's words and the lab's names are printed in it
        "lab": rc.LAB,
        "patient": {
            "mrn": p.mrn,
            "name": vault.open("patients", "name", p.id, p.name_enc),
            "sex": p.sex,
            "age": ranges.age_years(date.fromisoformat(dob) if dob else None, issued.astimezone(LAB_TZ).date()),
        },
        "sample": {
            "barcode": sample.barcode,
            "type": sample.sample_type.replace("_", " "),
            "collected_at": sample.collected_at.astimezone(LAB_TZ).isoformat(),
            "centre": await catalogue.centre_name(conn, sample.centre_id),
            **({"centre_local": centre_local} if centre_local else {}),
        },
        "tests": [
            {
                "code": r.code,
                "name": r.name,
                **({"name_local": names[r.code][lang]} if lang in names.get(r.code, {}) else {}),
                "value": shown_value(r),
                "unit": r.unit,
                "range": r.reference_range,
                "flag": r.flag,
            }
            for r in sorted(rows, key=lambda r: r.name)
        ],
        **({"comment": comment} if comment else {}),  # the pathologist's, signed with the results
        "signer": {"id": actor.id, "name": signer or actor.id, "role": actor.role.value.replace("_", " ")},
        "issued_at": issued.astimezone(LAB_TZ).isoformat(timespec="seconds"),
    }


async def _language(conn: asyncpg.Connection, patient_id: str) -> str:
    """The language the patient chose (their consent record first, as for their messages), else English."""
    contact = await patients_store.notice_contact(conn, patient_id)
    if contact is None:
        return "en"
    choice = await consent.find(conn, contact.phone_lookup) if contact.phone_lookup else None
    return choice.language if choice is not None else contact.language


def _comment(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if len(text) > 1000:
        raise worded(InvalidInput, "error:keep_comment_characters", "comment")
    if any(not ch.isprintable() and ch not in "\n\t" for ch in text):
        raise worded(InvalidInput, "error:comment_characters_report_cannot", "comment")
    return text or None


async def draft(conn: asyncpg.Connection, vault: Vault, sample: Sample, actor: Actor, at: datetime) -> dict[str, Any]:
    """The content an approval by ``actor`` now would sign (its next version), for a preview: no report row."""
    version = await reports_store.next_version(conn, sample.id)
    return await _content(conn, vault, sample, version, actor, "preview", at)


async def issue(
    conn: asyncpg.Connection,
    vault: Vault,
    key: Ed25519PrivateKey,
    *,
    barcode: str,
    actor: Actor,
    verify_base: str,
    meta: RequestMeta | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """Approve a completed tube: sign its report (next version) and queue its rendering, in one transaction.
    ``comment``: the pathologist's words for the report, signed with its results.

    The worker renders and stores the PDF, and only then releases the tube to 'reported' (core/reports/render.py),
    so the patient is never told about a report they cannot open yet.
    """
    permissions.require_transition(actor.role, SampleState.REPORTED)
    code = normalize_barcode(barcode)
    try:
        async with conn.transaction():  # the tube is locked from the checks to the commit: approvals take turns
            locked = await samples_store.lock_by_barcode(conn, code)
            if locked is None:
                raise UnknownBarcode(code)
            sample = locked[0]
            if await reports_store.preparing(conn, sample.id):
                raise worded(Conflict, "error:report_approved_moment_ago", code=code)
            reissue = sample.state is SampleState.REPORTED
            if reissue and not await _corrected_since_report(conn, sample.id):
                raise worded(Conflict, "error:report_out_result_been", code=code)
            if not reissue and sample.state is not SampleState.COMPLETED:
                raise InvalidTransition(code, sample.state.value, SampleState.REPORTED.value)
            version = await reports_store.next_version(conn, sample.id)
            report_id, issued = str(uuid.uuid4()), datetime.now(UTC)
            content = await _content(conn, vault, sample, version, actor, report_id, issued, _comment(comment))
            content_hash, signature = rc.sign(key, content)
            verify_url = f"{verify_base.rstrip('/')}/verify/{report_id}"
            await reports_store.insert(
                conn,
                report_id=report_id,
                sample_id=sample.id,
                version=version,
                content_enc=vault.seal("reports", "content", report_id, rc.canonical(content).decode()),
                content_hash=content_hash,
                signature=signature,
                public_key=rc.public_bytes(key),
                signer_id=actor.id,
                issued_at=issued,
                verify_url=verify_url,
            )
            await jobs.enqueue(conn, RENDER_JOB, {"report_id": report_id}, key=f"render:{report_id}")
            await audit.append(
                conn,
                actor=actor,
                action="report.issue",
                entity_type="report",
                entity_id=report_id,
                patient_id=sample.patient_id,
                summary={"version": version, "barcode": code},
                meta=meta,
            )
    except asyncpg.UniqueViolationError as exc:  # kept as a last guard: one version number, one report
        raise worded(Conflict, "error:report_issued_moment_ago", code=code) from exc
    return {"report_id": report_id, "version": version, "verify_url": verify_url, "status": "preparing"}


async def _corrected_since_report(conn: asyncpg.Connection, sample_id: str) -> bool:
    """A result of the tube was corrected after its last report version was issued."""
    last = await reports_store.last_issued_at(conn, sample_id)
    return last is not None and await results.corrected_after(conn, sample_id, last)


async def verification(
    conn: asyncpg.Connection, vault: Vault, report_id: str, *, meta: RequestMeta | None = None
) -> dict[str, Any]:
    """What the public page may show: genuine or not, the lab, test names, the date and the hash. No name, no values."""

    row = await reports_store.signed(conn, report_id) if is_uuid(report_id) else None
    async with conn.transaction():
        await audit.append(
            conn,
            actor=PUBLIC,
            action="report.verify",
            entity_type="report",
            entity_id=report_id[:64],
            outcome="found" if row else "not_found",
            meta=meta,
        )
    if row is None:
        raise worded(NotFound, "error:no_such_report")
    try:
        content = json.loads(vault.open("reports", "content", row.id, row.content_enc) or "{}")
    except (DecryptionError, ValueError):  # an altered or undecryptable record is simply not genuine
        content = {}
    ok = bool(content) and rc.genuine(content, row.content_hash, row.signature, row.public_key)
    return {
        "genuine": ok,
        "lab": rc.LAB["name"],
        "tests": sorted({t["name"] for t in content.get("tests", [])}),
        "issued_at": row.issued_at.astimezone(LAB_TZ).date().isoformat(),
        "version": row.version,
        "hash": row.content_hash.hex(),
    }


@dataclass(frozen=True, slots=True)
class Released:
    """A released report as other systems receive it: its signed content and where it came from."""

    report_id: str
    version: int
    content: dict[str, Any]
    patient_id: str
    barcode: str
    collected_at: datetime
    placer_number: str | None
    test_codes: tuple[str, ...]


async def released(conn: asyncpg.Connection, vault: Vault, report_id: str) -> Released | None:
    """The signed content of a report with its tube and order (None when there is no such report)."""
    row = await reports_store.outgoing(conn, report_id)
    if row is None:
        return None
    content = json.loads(vault.open("reports", "content", row.id, row.content_enc) or "{}")
    return Released(row.id, row.version, content, row.patient_id, row.barcode, row.collected_at, row.placer_number,
                    row.tests)  # fmt: skip
