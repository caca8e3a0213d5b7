"""Results out: a released report goes, as an ORU^R01 over MLLP, to the system of the doctor who ordered it (their
``destination_id``) and to the LIS the order came from (a destination's ``order_source``).

``queue`` runs in the release's own transaction: one ``hl7_outbound`` row per report version and destination, and
its job. ``send`` (the worker's job) builds the message from the signed report content, sends it and checks the
ACK: AA marks it sent; AR is final (dead letter and an alert); no answer, another message's answer or AE are
tried again with backoff (``core.jobs.runner``), and after the last try the dead letter and the alert follow.
Each row has one control id for life (MSH-10), so a message resent after a crash between the receiver's ACK and
our commit is a duplicate the receiver recognises (as our own intake does): once per report version."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import asyncpg

from core import audit
from core.hl7 import mllp_client, store
from core.hl7.ack import escape
from core.identity import Actor, Role
from core.jobs import queue as jobs
from core.jobs.runner import Permanent
from core.labtime import LAB_TZ
from core.patients import service as patients
from core.reports import service as reports
from core.vault import Vault

SEND_JOB = "hl7.send_oru"
SENDER = Actor("hl7:outbound", Role.SYSTEM)


class NotAccepted(Exception):
    """The destination answered AE: it understood and could not take it now; worth another try."""


def control_id(report_id: str, destination_id: str) -> str:
    return "LPO" + hashlib.sha256(f"{report_id}/{destination_id}".encode()).hexdigest()[:16].upper()


async def queue(conn: asyncpg.Connection, report_id: str) -> int:
    """In the caller's transaction: a row and a job for each active destination of this report's order."""
    added = 0
    for destination_id in await store.destinations_for_report(conn, report_id):
        oid = await store.add_outbound(conn, report_id, destination_id, control_id(report_id, destination_id))
        if oid is not None:
            added += await jobs.enqueue(conn, SEND_JOB, {"outbound_id": oid}, key=f"oru:{oid}")
    return added


async def pending(conn: asyncpg.Connection, *, older_than_seconds: int = 300) -> int:
    """Queue again any message still pending with no job (a job lost at shutdown); the worker's sweep calls it."""
    added = 0
    async with conn.transaction():
        for oid in await store.stale_outbound(conn, older_than_seconds=older_than_seconds):
            added += await jobs.enqueue(conn, SEND_JOB, {"outbound_id": oid}, key=f"oru:{oid}")
    return added


async def send(pool: asyncpg.Pool, vault: Vault, outbound_id: int, *, wait: float = 10.0) -> bool:
    """Send one message; False when it was sent already (nothing happens then)."""
    async with pool.acquire() as conn:
        attempt = await store.start_attempt(conn, outbound_id)
        if attempt is None:
            raise Permanent("the message to send does not exist")
        if attempt.status != "pending":
            return False
        to = await store.destination(conn, attempt.destination_id)
        if to is None:
            raise Permanent("the destination of the message does not exist")
        report = await reports.released(conn, vault, attempt.report_id)
        if report is None:
            raise Permanent("the report to send does not exist")
        person = await patients.read(conn, vault, report.patient_id, actor=SENDER, purpose="results to the doctor")
    message = oru(report, person, attempt.control_id, to.receiving_app, to.receiving_facility)
    ack = await mllp_client.send(to.host, to.port, message, attempt.control_id, wait=wait)
    accepted = ack.code in ("AA", "CA")
    status = "sent" if accepted else "refused" if ack.code in ("AR", "CR") else "pending"
    async with pool.acquire() as conn, conn.transaction():
        await store.finish_attempt(conn, outbound_id, status, ack.code, ack.text)
        await audit.append(
            conn, actor=SENDER, action="hl7.send", entity_type="hl7_outbound", entity_id=str(outbound_id),
            patient_id=report.patient_id, outcome=ack.code,
            summary={"destination": to.id, "report_id": report.report_id, "version": report.version},
        )  # fmt: skip
    if status == "refused":
        raise Permanent(f"the destination refused the message ({ack.code})")
    if status == "pending":
        raise NotAccepted(f"the destination could not take the message now ({ack.code})")
    return True


_NUMBER = re.compile(r"^(<=|>=|<|>)?\s*(-?\d+(?:\.\d+)?)$")


def _typed(value: str) -> tuple[str, str]:
    """A result's value with its HL7 type: NM for a number, SN for one with a comparator (<^0.1), ST for text."""
    m = _NUMBER.match(value.strip())
    if m is None:
        return escape(value), "ST"
    return (f"{m.group(1)}^{m.group(2)}", "SN") if m.group(1) else (m.group(2), "NM")


def _ts(at: datetime) -> str:
    return at.astimezone(LAB_TZ).strftime("%Y%m%d%H%M%S%z")


def oru(
    report: reports.Released,
    person: Any,
    control: str,
    receiving_app: str,
    receiving_facility: str,
) -> str:
    """The ORU^R01 (v2.5.1) of a released report: its patient (MRN with its assigning authority), the order and
    tube, and one OBX per result as the pathologist signed it (final, or corrected for a later version)."""
    mrn, authority = person.mrn, person.mrn_authority
    status = "F" if report.version == 1 else "C"
    words = person.name.split()
    family, given = (words[-1], " ".join(words[:-1])) if len(words) > 1 else (person.name, "")
    sex = {"female": "F", "male": "M", "other": "O"}.get(person.sex.value, "U")
    born = person.date_of_birth.strftime("%Y%m%d") if person.date_of_birth else ""
    placer = escape(report.placer_number or "")
    tests = "~".join(escape(code) for code in report.test_codes)
    now = datetime.now(UTC)
    segments = [
        "|".join(["MSH", "^~\\&", "LABPULSE", "LAB", escape(receiving_app), escape(receiving_facility), _ts(now), "",
                  "ORU^R01^ORU_R01", control, "P", "2.5.1"]),
        "|".join(["PID", "1", "", f"{escape(mrn)}^^^{escape(authority or 'LABPULSE')}^MR", "",
                  f"{escape(family)}^{escape(given)}", "", born, sex]),
        "|".join(["ORC", "RE", placer, escape(report.barcode)]),
        "|".join(["OBR", "1", placer, escape(report.barcode), tests, "", "", _ts(report.collected_at), *[""] * 14,
                  _ts(now), "", "", status]),
    ]  # fmt: skip
    for n, t in enumerate(report.content.get("tests", []), start=1):
        value, kind = _typed(str(t.get("value") or ""))
        segments.append("|".join([
            "OBX", str(n), kind, f"{escape(str(t.get('code') or ''))}^{escape(str(t.get('name') or ''))}^LN", "",
            value, escape(str(t.get("unit") or "")), escape(str(t.get("range") or "")),
            escape(str(t.get("flag") or "")), "", "", status,
        ]))  # fmt: skip
    return "\r".join(segments) + "\r"
