"""A patient's rights over their data: take a full copy (our JSON, and a FHIR R4 Bundle built with
``fhir.resources``), see who accessed it (``tracking.access_log``), and close their account.

Closing erases what lets us reach them (phone number, its lookup hash, address) and ends every session on that
phone; the medical record itself (name, date of birth, orders, samples, results, the audit trail) is kept for
as long as medical-record retention rules require, which the portal explains in plain words.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fhir.resources.R4B.bundle import Bundle

from core import audit, tracking
from core.booking import catalogue
from core.identity import RequestMeta
from core.orders import store as orders_store
from core.patients import service as patients
from core.patients import store as patients_store
from core.reports import store as reports_store
from core.storage import FileStore
from core.vault import Vault

FORMAT_VERSION = 1
# Sample state → FHIR DiagnosticReport.status
_REPORT_STATUS = {
    "collected": "registered",
    "in_transit": "registered",
    "received_at_lab": "registered",
    "processing": "partial",
    "completed": "preliminary",
    "reported": "final",
    "rejected": "cancelled",
    "recollection_requested": "cancelled",
}


async def _reports(conn: asyncpg.Connection, vault: Vault, store: FileStore, patient_id: str) -> list[dict[str, Any]]:
    """Every released report version, with its signed content (the results as released) and the PDF itself."""
    out = []
    for r in await reports_store.released_for_patient(conn, patient_id):
        content = json.loads(vault.open("reports", "content", r.id, r.content_enc) or "{}")
        blob = await store.get(r.file_name)
        pdf = vault.open_file("report", r.file_name, blob) if blob is not None else None
        if pdf is not None and hashlib.sha256(pdf).digest() != bytes(r.file_sha256):
            pdf = None
        out.append(
            {
                "report_id": r.id,
                "sample_id": r.sample_id,
                "barcode": r.barcode,
                "version": r.version,
                "issued_at": r.issued_at.isoformat(),
                "verify_url": r.verify_url,
                "results": content.get("tests", []),
                "pdf_base64": base64.b64encode(pdf).decode() if pdf is not None else None,
            }
        )
    return out


# The patient's orders with their centre and tests, each table read through its owner's subquery.
_ORDERS_SQL = f"""
    SELECT o.id::text, o.created_at, c.name AS centre, array_agg(tc.name ORDER BY tc.name) AS tests
    FROM ({orders_store.orders_sql()}) o JOIN ({catalogue.centres_sql()}) c ON c.id = o.centre_id
    JOIN ({orders_store.order_tests_sql()}) ot ON ot.order_id = o.id
    JOIN ({catalogue.tests_sql()}) tc ON tc.code = ot.test_code
    WHERE o.patient_id = $1 GROUP BY o.id, o.created_at, c.name ORDER BY o.created_at"""


async def export(
    conn: asyncpg.Connection,
    vault: Vault,
    phone_lookup: str,
    patient_id: str,
    *,
    store: FileStore | None = None,
    meta: RequestMeta | None = None,
) -> dict[str, Any]:
    """Everything we hold about this patient, decrypted, as one JSON-ready document (the export is audited)."""
    await tracking.authorize(conn, phone_lookup, patient_id, action="patient.export", meta=meta)
    actor = tracking.patient_actor(phone_lookup)
    person = await patients.read(conn, vault, patient_id, actor=actor, purpose="patient export", meta=meta)
    snap = await tracking.snapshot(conn, phone_lookup, patient_id, meta=meta)
    orders = await conn.fetch(_ORDERS_SQL, patient_id)
    acks = await tracking.acks(conn, patient_id)
    accessed = await tracking.access_log(conn, phone_lookup, patient_id, limit=10_000, meta=meta)
    released = await _reports(conn, vault, store, patient_id) if store is not None else []
    async with conn.transaction():
        await audit.append(
            conn,
            actor=actor,
            action="patient.export",
            entity_type="patient",
            entity_id=patient_id,
            patient_id=patient_id,
            meta=meta,
        )
    return {
        "format": f"labpulse-export/{FORMAT_VERSION}",
        "generated_at": datetime.now(UTC).isoformat(),
        "patient": {
            "id": person.id,
            "mrn": person.mrn,
            "name": person.name,
            "sex": person.sex.value,
            "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else None,
            "phone": person.phone,
            "address": person.address,
        },
        "orders": [
            {"id": o["id"], "created_at": o["created_at"].isoformat(), "centre": o["centre"], "tests": list(o["tests"])}
            for o in orders
        ],
        "samples": [s.to_json() for s in snap.samples],
        # Results as the pathologist released them (the signed report content), newest version last.
        "results": [{"barcode": r["barcode"], "version": r["version"], **t} for r in released for t in r["results"]],
        "reports": [{k: v for k, v in r.items() if k != "results"} for r in released],
        "acknowledged": [{"event_id": e, "sample_id": s, "at": at.isoformat()} for e, s, at in acks],
        "access_log": [
            {"at": e.at.isoformat(), "who": e.who, "role": e.role, "action": e.action, "outcome": e.outcome}
            for e in accessed
        ],
    }


_LOINC = re.compile(r"^\d{1,7}-\d$")
_NUMBER = re.compile(r"^(<=|>=|<|>)?\s*(-?\d+(?:\.\d+)?)$")
_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(-?\d+(?:\.\d+)?)\s*$")
_V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_INTERPRETATION = {"L": "Low", "H": "High", "LL": "Critical low", "HH": "Critical high", "A": "Abnormal",
                   "AA": "Critical abnormal", "N": "Normal", "<": "Off scale low", ">": "Off scale high"}  # fmt: skip
_OBSERVATION_STATUS = {"reported": "final"}


def _quantity(number: str, unit: str | None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": float(number) if "." in number else int(number)}
    if unit:  # lab units as analyzers send them are UCUM in almost every case (g/dL, 10*3/uL, mmol/L)
        q |= {"unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    return q


def fhir_observation(oid: str, t: dict[str, Any], subject: str, status: str) -> dict[str, Any]:
    """One released result as a FHIR Observation: LOINC code, value (a UCUM quantity when numeric, with its
    comparator), reference range (low and high when it is an interval) and interpretation flag."""
    code = str(t.get("code") or "")
    coding = [{"system": "http://loinc.org", "code": code, "display": t["name"]}] if _LOINC.match(code) else []
    obs: dict[str, Any] = {
        "resourceType": "Observation", "id": oid, "status": status,
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory"}]}],
        "code": {**({"coding": coding} if coding else {}), "text": t["name"]},
        "subject": {"reference": subject},
    }  # fmt: skip
    value = str(t.get("value") or "").strip()
    if m := _NUMBER.match(value):
        obs["valueQuantity"] = _quantity(m.group(2), t.get("unit")) | ({"comparator": m.group(1)} if m.group(1) else {})
    elif value:
        obs["valueString"] = value
    if t.get("range"):
        rng: dict[str, Any] = {"text": t["range"]}
        if m := _RANGE.match(str(t["range"])):
            rng |= {"low": _quantity(m.group(1), t.get("unit")), "high": _quantity(m.group(2), t.get("unit"))}
        obs["referenceRange"] = [rng]
    if flag := t.get("flag"):
        obs["interpretation"] = [
            {"coding": [{"system": _V3, "code": flag, "display": _INTERPRETATION.get(flag, flag)}]}
        ]
    return obs


def fhir_bundle(data: dict[str, Any]) -> dict[str, Any]:
    """The export as a FHIR R4 (R4B) collection Bundle: the Patient, a DiagnosticReport per sample and an
    Observation per released result (linked from its report), each validated by fhir.resources' models."""
    p = data["patient"]
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": p["id"],
        "identifier": [{"system": "urn:labpulse:mrn", "value": p["mrn"]}],
        "name": [{"text": p["name"]}],
        "gender": {"female": "female", "male": "male", "other": "other"}.get(p["sex"], "unknown"),
    }
    if p["date_of_birth"]:
        patient["birthDate"] = p["date_of_birth"]
    if p["phone"]:
        patient["telecom"] = [{"system": "phone", "value": p["phone"], "use": "mobile"}]
    if p["address"]:
        patient["address"] = [{"text": p["address"]}]
    entries = [{"fullUrl": f"urn:uuid:{p['id']}", "resource": patient}]
    latest = {r["sample_id"]: r for r in data.get("reports", [])}  # in issue order: the last version wins
    released: dict[str, list[dict[str, Any]]] = {}
    for r in data.get("results", []):
        version = next((x["version"] for x in latest.values() if x["barcode"] == r["barcode"]), None)
        if r["version"] == version:  # the results of the latest version only
            released.setdefault(r["barcode"], []).append(r)
    for s in data["samples"]:
        report = latest.get(s["id"])
        observations = [
            fhir_observation(str(uuid.uuid5(uuid.NAMESPACE_URL, f"{s['id']}/{n}/{t.get('code')}")), t,
                             f"urn:uuid:{p['id']}", "corrected" if report and report["version"] > 1 else "final")
            for n, t in enumerate(released.get(s["barcode"], []))
        ]  # fmt: skip
        forms = (
            [
                {
                    "contentType": "application/pdf",
                    "data": report["pdf_base64"],
                    "title": f"Report v{report['version']}",
                    "url": report["verify_url"],
                }
            ]
            if report and report["pdf_base64"]
            else None
        )
        entries.append(
            {
                "fullUrl": f"urn:uuid:{s['id']}",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "id": s["id"],
                    "identifier": [{"system": "urn:labpulse:barcode", "value": s["barcode"]}],
                    "status": _REPORT_STATUS[s["state"]],
                    "category": [{"text": "Laboratory"}],
                    "code": {"text": ", ".join(s["tests"]) or s["sample_type"]},
                    "subject": {"reference": f"urn:uuid:{p['id']}"},
                    "effectiveDateTime": s["collected_at"],
                    "issued": s["updated_at"],
                    **({"presentedForm": forms} if forms else {}),
                    **(
                        {"result": [{"reference": f"urn:uuid:{o['id']}"} for o in observations]} if observations else {}
                    ),
                },
            }
        )
        entries += [{"fullUrl": f"urn:uuid:{o['id']}", "resource": o} for o in observations]
    bundle = Bundle.model_validate(
        {"resourceType": "Bundle", "type": "collection", "timestamp": data["generated_at"], "entry": entries}
    )
    return bundle.model_dump(mode="json", exclude_none=True)


async def close_account(
    conn: asyncpg.Connection, phone_lookup: str, patient_id: str, *, meta: RequestMeta | None = None
) -> None:
    """Erase the contact details; keep the medical record. The caller also ends the phone's sessions."""
    await tracking.authorize(conn, phone_lookup, patient_id, action="patient.close", meta=meta)
    async with conn.transaction():
        await patients_store.erase_contact(conn, patient_id)
        await audit.append(
            conn,
            actor=tracking.patient_actor(phone_lookup),
            action="patient.close",
            entity_type="patient",
            entity_id=patient_id,
            patient_id=patient_id,
            summary={"erased": ["phone", "address"], "kept": "medical record"},
            meta=meta,
        )
