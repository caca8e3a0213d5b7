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

from core import audit, permissions, results
from core.crypto import DecryptionError
from core.errors import Conflict, InvalidTransition, NotFound, UnknownBarcode
from core.identity import Actor, RequestMeta, Role
from core.ids import is_uuid
from core.jobs import queue as jobs
from core.labtime import LAB_TZ
from core.reports import content as rc
from core.samples.model import SampleState, normalize_barcode
from core.vault import Vault

PUBLIC = Actor("public:verify", Role.SYSTEM)
EVENT_REPORT_UPDATED = "report.updated"
RENDER_JOB = "reports.render"


def _value(r: asyncpg.Record) -> str:
    if r["value_num"] is not None:
        return f"{r['comparator'] or ''}{r['value_num']}"
    return str(r["value_text"] or r["value_code"] or "-")


async def _content(
    conn: asyncpg.Connection,
    vault: Vault,
    sample: asyncpg.Record,
    version: int,
    actor: Actor,
    report_id: str,
    issued: datetime,
) -> dict[str, Any]:
    p = await conn.fetchrow(
        "SELECT id::text, mrn, name_enc, dob_enc, sex FROM patients WHERE id = $1", sample["patient_id"]
    )
    dob = vault.open("patients", "dob", p["id"], p["dob_enc"])
    rows = await conn.fetch(
        """SELECT DISTINCT ON (r.code) r.code, coalesce(a.name, r.name) AS name, r.value_num, r.comparator,
                  r.value_text, r.value_code, r.unit, r.reference_range, r.flag
           FROM results r LEFT JOIN analytes a ON a.code = r.code
           WHERE r.sample_id = $1 ORDER BY r.code, r.id DESC""",
        sample["id"],
    )
    signer = await conn.fetchval("SELECT display_name FROM staff WHERE id::text = $1", actor.id.removeprefix("staff:"))
    return {
        "report_id": report_id,
        "version": version,
        "lab": rc.LAB,
        "patient": {
            "mrn": p["mrn"],
            "name": vault.open("patients", "name", p["id"], p["name_enc"]),
            "sex": p["sex"],
            "age": results.age_years(date.fromisoformat(dob) if dob else None, issued.astimezone(LAB_TZ).date()),
        },
        "sample": {
            "barcode": sample["barcode"],
            "type": sample["sample_type"].replace("_", " "),
            "collected_at": sample["collected_at"].astimezone(LAB_TZ).isoformat(),
            "centre": sample["centre"],
        },
        "tests": [
            {
                "code": r["code"],
                "name": r["name"],
                "value": _value(r),
                "unit": r["unit"],
                "range": r["reference_range"],
                "flag": r["flag"],
            }
            for r in sorted(rows, key=lambda r: r["name"])
        ],
        "signer": {"id": actor.id, "name": signer or actor.id, "role": actor.role.value.replace("_", " ")},
        "issued_at": issued.astimezone(LAB_TZ).isoformat(timespec="seconds"),
    }


async def issue(
    conn: asyncpg.Connection,
    vault: Vault,
    key: Ed25519PrivateKey,
    *,
    barcode: str,
    actor: Actor,
    verify_base: str,
    meta: RequestMeta | None = None,
) -> dict[str, Any]:
    """Approve a completed tube: sign its report (next version) and queue its rendering, in one transaction.

    The worker renders and stores the PDF, and only then releases the tube to 'reported' (core/reports/render.py),
    so the patient is never told about a report they cannot open yet.
    """
    permissions.require_transition(actor.role, SampleState.REPORTED)
    code = normalize_barcode(barcode)
    try:
        async with conn.transaction():  # the tube is locked from the checks to the commit: approvals take turns
            sample = await conn.fetchrow(
                """SELECT s.id::text, s.barcode, s.state, s.patient_id::text, s.sample_type, s.collected_at,
                          s.centre_id, c.name AS centre
                   FROM samples s JOIN centres c ON c.id = s.centre_id WHERE s.barcode = $1 FOR UPDATE OF s""",
                code,
            )
            if sample is None:
                raise UnknownBarcode(code)
            if await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM reports WHERE sample_id = $1 AND rendered_at IS NULL)", sample["id"]
            ):
                raise Conflict(f"The report for {code} was approved a moment ago and is being prepared.")
            reissue = sample["state"] == SampleState.REPORTED.value
            if reissue and not await conn.fetchval(
                """SELECT EXISTS (SELECT 1 FROM results WHERE sample_id = $1 AND status = 'corrected'
                                  AND created_at > (SELECT max(issued_at) FROM reports WHERE sample_id = $1))""",
                sample["id"],
            ):
                raise Conflict(f"The report for {code} is out, and no result has been corrected since.")
            if not reissue and sample["state"] != SampleState.COMPLETED.value:
                raise InvalidTransition(code, sample["state"], SampleState.REPORTED.value)
            version = 1 + (
                await conn.fetchval("SELECT coalesce(max(version), 0) FROM reports WHERE sample_id = $1", sample["id"])
            )
            report_id, issued = str(uuid.uuid4()), datetime.now(UTC)
            content = await _content(conn, vault, sample, version, actor, report_id, issued)
            content_hash, signature = rc.sign(key, content)
            verify_url = f"{verify_base.rstrip('/')}/verify/{report_id}"
            await conn.execute(
                """INSERT INTO reports (id, sample_id, version, content_enc, content_hash, signature, public_key,
                                        signer_id, issued_at, verify_url)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
                report_id,
                sample["id"],
                version,
                vault.seal("reports", "content", report_id, rc.canonical(content).decode()),
                content_hash,
                signature,
                rc.public_bytes(key),
                actor.id,
                issued,
                verify_url,
            )
            await jobs.enqueue(conn, RENDER_JOB, {"report_id": report_id}, key=f"render:{report_id}")
            await audit.append(
                conn,
                actor=actor,
                action="report.issue",
                entity_type="report",
                entity_id=report_id,
                patient_id=sample["patient_id"],
                summary={"version": version, "barcode": code},
                meta=meta,
            )
    except asyncpg.UniqueViolationError as exc:  # kept as a last guard: one version number, one report
        raise Conflict(f"A report for {code} was issued a moment ago; refresh to see it.") from exc
    return {"report_id": report_id, "version": version, "verify_url": verify_url, "status": "preparing"}


async def verification(
    conn: asyncpg.Connection, vault: Vault, report_id: str, *, meta: RequestMeta | None = None
) -> dict[str, Any]:
    """What the public page may show: genuine or not, the lab, test names, the date and the hash. No name, no values."""

    row = await conn.fetchrow("SELECT * FROM reports WHERE id = $1", report_id) if is_uuid(report_id) else None
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
        raise NotFound("We have no report with this number. It may have been mistyped, or it is not from our lab.")
    try:
        content = json.loads(vault.open("reports", "content", str(row["id"]), row["content_enc"]) or "{}")
    except (DecryptionError, ValueError):  # an altered or undecryptable record is simply not genuine
        content = {}
    ok = bool(content) and rc.genuine(
        content, bytes(row["content_hash"]), bytes(row["signature"]), bytes(row["public_key"])
    )
    return {
        "genuine": ok,
        "lab": rc.LAB["name"],
        "tests": sorted({t["name"] for t in content.get("tests", [])}),
        "issued_at": row["issued_at"].astimezone(LAB_TZ).date().isoformat(),
        "version": row["version"],
        "hash": bytes(row["content_hash"]).hex(),
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
    row = await conn.fetchrow(
        """SELECT r.id::text, r.version, r.content_enc, s.patient_id::text, s.barcode, s.collected_at,
                  o.placer_number, array(SELECT ot.test_code FROM order_tests ot
                                        WHERE ot.order_id = o.id AND ot.status = 'ordered' ORDER BY 1) AS tests
           FROM reports r JOIN samples s ON s.id = r.sample_id JOIN orders o ON o.id = s.order_id WHERE r.id = $1""",
        report_id,
    )
    if row is None:
        return None
    content = json.loads(vault.open("reports", "content", row["id"], row["content_enc"]) or "{}")
    return Released(row["id"], row["version"], content, row["patient_id"], row["barcode"], row["collected_at"],
                    row["placer_number"], tuple(row["tests"]))  # fmt: skip
