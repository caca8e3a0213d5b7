"""What a pathologist sees before signing (issue 19): the tubes awaiting approval; a tube's results with their
ranges and flags, each beside the patient's previous value of the same analyte from an earlier tube, a change past
the analyte's delta limit (``analytes.delta_percent``) marked, as a sample mix-up or a real change would be; and the
report's PDF as it would be issued, marked as a preview and unsigned. Reading the patient is audited; signing is
``core.reports.service.issue``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg

from core import access, audit, critical, permissions, ranges, results
from core.db.statement import Statement
from core.errors import InvalidInput, InvalidTransition, NotFound, UnknownBarcode
from core.i18n import worded
from core.identity import Actor, RequestMeta
from core.labtime import LAB_TZ
from core.patients.model import Patient
from core.reports import pdf
from core.reports import service as reports
from core.reports import store as reports_store
from core.samples import store as samples_store
from core.samples.model import Sample, SampleState, normalize_barcode
from core.vault import Vault

AWAITING = (SampleState.COMPLETED,)


@dataclass(frozen=True, slots=True)
class Line:
    """One result as the approval page shows it."""

    code: str
    name: str
    value: str
    unit: str | None
    range: str | None
    flag: str | None
    previous: results.Previous | None
    delta_percent: Decimal | None  # the change from the previous value, when both are numbers
    past_limit: bool  # the change is past the analyte's delta limit


@dataclass(frozen=True, slots=True)
class Review:
    sample: Sample
    patient: Patient
    lines: list[Line]


async def awaiting(conn: asyncpg.Connection, actor: Actor, centre_id: str | None) -> list[samples_store.WorkRow]:
    """Tubes whose results are all in and wait for a pathologist, oldest first (no PHI); one approved a moment ago,
    whose report is being prepared, is not among them."""
    permissions.require(actor.role, "report.issue")
    tubes = await samples_store.worklist(conn, states=AWAITING, centre_id=centre_id, limit=500)
    signed = await reports_store.preparing_barcodes(conn, [t.barcode for t in tubes])
    return [t for t in tubes if t.barcode not in signed]


async def review(
    conn: asyncpg.Connection, vault: Vault, actor: Actor, barcode: str, *, centre_id: str | None,
    meta: RequestMeta | None = None,
) -> Review:  # fmt: skip
    permissions.require(actor.role, "report.issue")
    sample = await tube_at(conn, barcode, centre_id)
    patient, _ = await access.read_patient(conn, vault, actor, sample.patient_id, meta=meta)
    latest = await results.latest_of_sample(conn, sample.id)
    codes = [r.code for r in latest]
    before = await results.previous_values(conn, sample.patient_id, sample.id, sample.collected_at, codes)
    limits = await ranges.delta_limits(conn, codes)
    return Review(sample, patient, [_line(r, before.get(r.code), limits.get(r.code)) for r in latest])


def _line(r: results.Latest, previous: results.Previous | None, limit: Decimal | None) -> Line:
    change = None
    if previous is not None and r.value_num is not None and previous.value_num != 0:
        change = (r.value_num - previous.value_num) / abs(previous.value_num) * 100
    past = change is not None and limit is not None and abs(change) > limit
    return Line(r.code, r.name, reports.shown_value(r), r.unit, r.reference_range, r.flag, previous, change, past)


async def preview(
    conn: asyncpg.Connection, vault: Vault, actor: Actor, barcode: str, *, centre_id: str | None,
    meta: RequestMeta | None = None,
) -> bytes:  # fmt: skip
    """The PDF the approval would issue, unsigned and marked as a preview; the read is audited."""
    permissions.require(actor.role, "report.issue")
    sample = await tube_at(conn, barcode, centre_id)
    content = await reports.draft(conn, vault, sample, actor, datetime.now(UTC))
    async with conn.transaction():
        await audit.append(conn, actor=actor, action="report.preview", entity_type="sample", entity_id=sample.id,
                           patient_id=sample.patient_id, summary={"barcode": sample.barcode}, meta=meta)  # fmt: skip
    return pdf.render(
        {**content, "hash_hint": "none (preview)"}, "(preview: not issued)", "PREVIEW, NOT SIGNED: NOT A REPORT"
    )


async def tube_at(conn: asyncpg.Connection, barcode: str, centre_id: str | None) -> Sample:
    """A tube whose results are in, at ``centre_id`` (any centre for a member tied to none): a tube at another
    centre is as unknown to this member as one that does not exist (its patient is not theirs to see)."""
    code = normalize_barcode(barcode)
    sample = await samples_store.get_by_barcode(conn, code)
    if sample is None or (centre_id is not None and sample.centre_id != centre_id):
        raise UnknownBarcode(code)
    if sample.state not in (SampleState.COMPLETED, SampleState.REPORTED):
        raise InvalidTransition(code, sample.state.value, SampleState.REPORTED.value)
    return sample


async def correct(
    conn: asyncpg.Connection,
    vault: Vault,
    actor: Actor,
    barcode: str,
    code: str,
    *,
    value: Decimal,
    reason: str,
    centre_id: str | None,
    meta: RequestMeta | None = None,
) -> None:
    """Correct one numeric result of a tube with a reason: a new 'corrected' result, flagged against the patient's
    ranges (a critical one raises its alert), audited, in one statement. A reported tube then takes a new report
    version (``reports.service.issue``), and the patient is told it was updated."""
    permissions.require(actor.role, "report.issue")
    why = reason.strip()
    if not 3 <= len(why) <= 300:
        raise worded(InvalidInput, "error:say_why_result_corrected", "reason")
    sample = await tube_at(conn, barcode, centre_id)
    latest = {r.code: r for r in await results.latest_of_sample(conn, sample.id)}
    if code not in latest:
        raise NotFound(f"Tube {sample.barcode} has no result {code[:20]!r} to correct.")
    patient, _ = await access.read_patient(conn, vault, actor, sample.patient_id, meta=meta)
    age = ranges.age_years(patient.date_of_birth, datetime.now(LAB_TZ).date())
    sex = patient.sex.value if patient.sex.value in ("female", "male") else "any"
    rng = (await ranges.ranges_for(conn, [code], sex, age)).get(code)
    flag, critical_now = results.judged(value, None, rng)
    was = latest[code]
    stmt = Statement()
    results.stage_correction(stmt, results.Correction(
        sample.id, code, was.name, value, was.unit, was.reference_range or (rng.text() if rng else None), flag,
        critical_now, why, actor.id,
    ))  # fmt: skip
    if critical_now:
        critical.stage_alerts(stmt, "stored_results", datetime.now(UTC))
    audit.stage(stmt, actor=actor, action="result.correct", entity_type="sample", entity_id=sample.id,
                patient_id=sample.patient_id, summary={"code": code, "barcode": sample.barcode}, meta=meta,
                only_if="stored_results")  # fmt: skip
    await conn.execute(stmt.sql("SELECT 1"), *stmt.args)
