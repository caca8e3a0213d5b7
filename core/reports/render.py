"""The worker's render job: signed content → PDF → encrypted file → the tube released → one notice per channel.

Exactly once, whatever happens to the worker:
- the PDF is written under a fresh name, atomically (core/storage.py), before anything in the database changes;
- one transaction then records the file on the report row *only if no run recorded one first*
  (``WHERE rendered_at IS NULL``), releases the tube (or, for a corrected version, tells the patient it was
  updated), and queues the notices, one per channel the patient chose (``UNIQUE (report_id, channel)``);
- a run that finds the report already rendered does nothing. A run killed before that transaction commits
  leaves at most an unreferenced file; PgQueuer hands the job to another worker, which renders again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from functools import partial
from typing import Any

import asyncpg

from core import audit, outbox
from core.crypto import DecryptionError
from core.db.owned import PatientRows
from core.hl7 import outbound
from core.identity import Actor, Role
from core.jobs import queue as jobs
from core.jobs.runner import Permanent, waiting_sql
from core.reports import pdf
from core.reports import store as reports_store
from core.reports.service import EVENT_REPORT_UPDATED, RENDER_JOB
from core.samples import service as samples
from core.samples.model import SampleState
from core.storage import FileStore
from core.vault import Vault

PATIENT_ROWS = PatientRows("deliveries")  # a merge of two patients moves their report deliveries

WORKER = Actor.system("worker")
DELIVER_JOB = "reports.deliver"


def file_name(report_id: str) -> str:
    return f"{report_id}-{uuid.uuid4().hex[:12]}.pdf"


def document(content: dict[str, Any], verify_url: str, signature: bytes, content_hash: bytes) -> bytes:
    return pdf.render({**content, "hash_hint": content_hash.hex()[:16]}, verify_url, signature.hex())


async def render(pool: asyncpg.Pool, vault: Vault, store: FileStore, report_id: str, verify_base: str = "") -> bool:
    """Render and release one report; returns False when another run already did (nothing changes then)."""
    async with pool.acquire() as conn:
        row = await reports_store.signed(conn, report_id)
    if row is None:
        raise Permanent("the report to render does not exist")
    if row.rendered_at is not None:
        return False
    try:
        content = json.loads(vault.open("reports", "content", report_id, row.content_enc) or "")
    except (DecryptionError, ValueError) as exc:
        raise Permanent("the signed report content cannot be read") from exc
    # reportlab is CPU-bound: a thread keeps this worker's heartbeats and other jobs moving meanwhile.
    verify_url = row.verify_url or f"{verify_base.rstrip('/')}/verify/{report_id}"  # rows from before 0012
    data = await asyncio.to_thread(document, content, verify_url, row.signature, row.content_hash)
    name = file_name(report_id)
    async with pool.acquire() as conn:
        if await reports_store.is_rendered(conn, report_id):
            return False  # another run finished while this one drew: its file stays, untouched
    await store.put(name, vault.seal_file("report", name, data))
    async with pool.acquire() as conn, conn.transaction():
        tube = await reports_store.record_file(conn, report_id, name, hashlib.sha256(data).digest(), verify_url)
        if tube is None:
            return False  # a concurrent run won; its file is the one on record
        barcode, state, centre_id, patient_id = tube.barcode, tube.state, tube.centre_id, tube.patient_id
        purpose = (
            None  # re-rendered after the upgrade: released and announced long ago
            if row.backfilled
            else await _release(conn, content, row.version, barcode, state, centre_id, patient_id, report_id)
        )
        if purpose is not None:
            await _queue_notices(conn, report_id, patient_id, purpose)
            await outbound.queue(conn, report_id)  # the ordering doctor's system and the LIS, if they take results
        await audit.append(
            conn,
            actor=WORKER,
            action="report.render",
            entity_type="report",
            entity_id=report_id,
            patient_id=patient_id,
            summary={"version": row.version, "bytes": len(data), "notice": purpose},
        )
    return True


async def _release(
    conn: asyncpg.Connection,
    content: dict[str, Any],
    version: int,
    barcode: str,
    state: str,
    centre_id: str,
    patient_id: str,
    report_id: str,
) -> str | None:
    """Release the first version (the tube moves to 'reported'); announce a later one. Returns the notice."""
    if state == SampleState.COMPLETED.value:
        signer = content["signer"]
        actor = Actor(signer["id"], Role(signer["role"].replace(" ", "_")))  # the approval is the pathologist's
        await samples.transition(conn, barcode=barcode, to_state=SampleState.REPORTED, actor=actor, centre_id=centre_id)
        return "report.ready"
    if version > 1:
        await outbox.add(
            conn,
            patient_id=patient_id,
            type=EVENT_REPORT_UPDATED,
            payload={"barcode": barcode, "version": version, "report_id": report_id},
        )
        return "report.updated"
    return None  # a first version re-rendered after an upgrade: the patient was told when it came out


async def _queue_notices(conn: asyncpg.Connection, report_id: str, patient_id: str, purpose: str) -> None:
    for delivery_id in await reports_store.queue_notices(conn, report_id, patient_id, purpose):
        await jobs.enqueue(conn, DELIVER_JOB, {"delivery_id": delivery_id}, key=f"deliver:{delivery_id}")


async def pending(conn: asyncpg.Connection, *, older_than_seconds: int = 300) -> int:
    """Queue again whatever should have finished by now and has no job: a report approved but never rendered, a
    notice never sent (a job cancelled at shutdown, purged by an operator, rows migrated from the in-database
    PDFs). Re-queuing is harmless: a job with the same key still waiting is not added twice, and each job
    re-checks its row before acting. What sits in the dead-letter table waits for staff instead. Returns how many
    jobs were queued."""
    added = 0
    async with conn.transaction():
        for report_id in await reports_store.unrendered(conn, older_than_seconds, partial(waiting_sql, "report_id")):
            added += await jobs.enqueue(conn, RENDER_JOB, {"report_id": report_id}, key=f"render:{report_id}")
        for delivery_id in await reports_store.overdue_notices(
            conn, older_than_seconds, partial(waiting_sql, "delivery_id")
        ):
            added += await jobs.enqueue(conn, DELIVER_JOB, {"delivery_id": delivery_id}, key=f"deliver:{delivery_id}")
    return added
