"""The only SQL for samples. Each function takes the caller's connection (and so its transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from core.booking import catalogue
from core.db.owned import PatientRows
from core.db.statement import Statement
from core.orders import store as orders_store
from core.patients import store as patients_store
from core.samples.model import RejectionReason, Sample, SampleState, TransitionRecord, UnknownScan

PATIENT_ROWS = PatientRows("samples")  # a merge of two patients moves their samples

_COLUMNS = """id::text, barcode, order_id::text, patient_id::text, sample_type, state, version, centre_id,
              rejection_reason, replaces_sample_id::text, collected_at, updated_at"""


def _sample(r: asyncpg.Record) -> Sample:
    return Sample(
        id=r["id"],
        barcode=r["barcode"],
        order_id=r["order_id"],
        patient_id=r["patient_id"],
        sample_type=r["sample_type"],
        state=SampleState(r["state"]),
        version=r["version"],
        centre_id=r["centre_id"],
        rejection_reason=RejectionReason(r["rejection_reason"]) if r["rejection_reason"] else None,
        replaces_sample_id=r["replaces_sample_id"],
        collected_at=r["collected_at"],
        updated_at=r["updated_at"],
    )


async def get_by_barcode(conn: asyncpg.Connection, barcode: str) -> Sample | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM samples WHERE barcode = $1", barcode)
    return _sample(row) if row else None


async def lock_by_barcode(conn: asyncpg.Connection, barcode: str) -> tuple[Sample, datetime] | None:
    """Lock the sample's row until the caller's transaction ends; also return the database clock once locked."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS}, clock_timestamp() AS locked_at FROM samples WHERE barcode = $1 FOR UPDATE", barcode
    )
    return (_sample(row), row["locked_at"]) if row else None


async def list_for_patient(conn: asyncpg.Connection, patient_id: str) -> list[Sample]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM samples WHERE patient_id = $1 ORDER BY collected_at", patient_id)
    return [_sample(r) for r in rows]


async def list_for_order(conn: asyncpg.Connection, order_id: str) -> list[Sample]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM samples WHERE order_id = $1 ORDER BY collected_at", order_id)
    return [_sample(r) for r in rows]


async def next_barcode(conn: asyncpg.Connection) -> str:
    code: str = await conn.fetchval("SELECT 'LPT' || lpad(nextval('tube_barcode_seq')::text, 8, '0')")
    return code


async def insert(
    conn: asyncpg.Connection,
    *,
    sample_id: str,
    barcode: str,
    order_id: str,
    patient_id: str,
    sample_type: str,
    centre_id: str,
    replaces_sample_id: str | None,
    actor_id: str,
    actor_role: str,
) -> Sample:
    row = await conn.fetchrow(
        f"""WITH s AS (
                INSERT INTO samples (id, barcode, order_id, patient_id, sample_type, state, version, centre_id,
                                     replaces_sample_id, collected_at, updated_at)
                SELECT $1, $2, $3, $4, $5, 'collected', 1, $6, $7, now.at, now.at
                FROM (SELECT clock_timestamp() AS at) AS now
                RETURNING *),
            t AS (
                INSERT INTO sample_transitions (sample_id, from_state, to_state, version, actor_id, actor_role,
                                                centre_id, at)
                SELECT id, NULL, state, version, $8, $9, centre_id, collected_at FROM s)
            SELECT {_COLUMNS} FROM s""",
        sample_id,
        barcode,
        order_id,
        patient_id,
        sample_type,
        centre_id,
        replaces_sample_id,
        actor_id,
        actor_role,
    )
    if row is None:
        raise RuntimeError("sample insert returned no row")
    return _sample(row)


async def apply_transition(
    conn: asyncpg.Connection,
    current: Sample,
    moved: Sample,
    *,
    note: str | None,
    actor_id: str,
    actor_role: str,
    also: Statement | None = None,
) -> Sample:
    """Write ``moved`` (see ``Sample.moved``) over ``current``, locked by the caller, and append the history row.

    ``also`` carries parts the caller staged (its audit row, its outbox event); they run in the same statement,
    so the whole change is one round trip.
    """
    stmt = also or Statement()
    reason = stmt.bind(moved.rejection_reason.value if moved.rejection_reason else None)
    stmt.cte(
        "s",
        f"""UPDATE samples SET state = {stmt.bind(moved.state.value)}, version = {stmt.bind(moved.version)},
                               centre_id = {stmt.bind(moved.centre_id)}, rejection_reason = {reason},
                               updated_at = {stmt.bind(moved.updated_at)}
            WHERE id = {stmt.bind(current.id)} AND version = {stmt.bind(current.version)}
            RETURNING *""",
    )
    stmt.cte(
        "t",
        f"""INSERT INTO sample_transitions (sample_id, from_state, to_state, version, actor_id, actor_role,
                                            centre_id, reason, note, at)
            SELECT id, {stmt.bind(current.state.value)}, state, version, {stmt.bind(actor_id)},
                   {stmt.bind(actor_role)}, centre_id, {reason}, {stmt.bind(note)}, updated_at FROM s""",
    )
    row = await conn.fetchrow(stmt.sql(f"SELECT {_COLUMNS} FROM s"), *stmt.args)
    if row is None:  # the caller holds the row lock, so the version cannot have moved under it
        raise RuntimeError("apply_transition needs the row locked by the caller")
    return _sample(row)


async def history(conn: asyncpg.Connection, sample_id: str) -> list[TransitionRecord]:
    rows = await conn.fetch(
        """SELECT from_state, to_state, version, actor_id, actor_role, centre_id, reason, note, at
           FROM sample_transitions WHERE sample_id = $1 ORDER BY version""",
        sample_id,
    )
    return [
        TransitionRecord(
            from_state=SampleState(r["from_state"]) if r["from_state"] else None,
            to_state=SampleState(r["to_state"]),
            version=r["version"],
            actor_id=r["actor_id"],
            actor_role=r["actor_role"],
            centre_id=r["centre_id"],
            reason=r["reason"],
            note=r["note"],
            at=r["at"],
        )
        for r in rows
    ]


async def record_unknown_scan(
    conn: asyncpg.Connection,
    *,
    barcode: str,
    attempted_state: str | None,
    actor_id: str,
    actor_role: str,
    centre_id: str | None,
    request_id: str | None,
    source_ip: str | None,
) -> int:
    scan_id: int = await conn.fetchval(
        """INSERT INTO unknown_scans (barcode, attempted_state, actor_id, actor_role, centre_id, request_id, source_ip)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        barcode,
        attempted_state,
        actor_id,
        actor_role,
        centre_id,
        request_id,
        source_ip,
    )
    return scan_id


async def open_unknown_scans(conn: asyncpg.Connection, limit: int = 100) -> list[UnknownScan]:
    rows = await conn.fetch(
        """SELECT id, barcode, attempted_state, actor_id, centre_id, at FROM unknown_scans
           WHERE reviewed_at IS NULL ORDER BY at DESC LIMIT $1""",
        limit,
    )
    return [UnknownScan(**dict(r)) for r in rows]


def reported_sql(patient: str, since: str) -> str:
    """A subquery of one patient's reported samples changed after ``since`` (``id``, ``updated_at``), for another
    store to JOIN; ``patient`` and ``since`` are the caller's placeholders. Only this module names the table."""
    return f"""SELECT id, updated_at FROM samples
               WHERE patient_id = {patient} AND state = 'reported' AND updated_at > {since}"""


def view_sql() -> str:
    """A subquery of the sample columns other stores may read, to JOIN in one statement (a patient's timeline, a
    report and its tube) while only this module names the table. PostgreSQL flattens it into the join."""
    return """SELECT id, barcode, order_id, patient_id, sample_type, state, version, centre_id, rejection_reason,
                     collected_at, updated_at FROM samples"""


def transitions_sql() -> str:
    """A subquery of the samples' history (``sample_id``, ``to_state``, ``version``, ``centre_id``, ``at``)."""
    return "SELECT sample_id, to_state, version, centre_id, at FROM sample_transitions"


async def get(conn: asyncpg.Connection, sample_id: str) -> Sample | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM samples WHERE id = $1::uuid", sample_id) if sample_id else None
    return _sample(row) if row else None


@dataclass(frozen=True, slots=True)
class ForResults:
    """A tube as an analyzer's results need it: its state, and its patient's sex and sealed date of birth (for the
    reference ranges)."""

    barcode: str
    id: str
    state: SampleState
    patient_id: str
    sex: str
    dob_enc: bytes | None


async def for_results(conn: asyncpg.Connection, barcodes: list[str]) -> list[ForResults]:
    """The tubes these barcodes name, with their patients, in one round trip (the patient's columns through the
    patients store's subquery)."""
    rows = await conn.fetch(
        f"""SELECT s.barcode, s.id::text, s.state, p.id::text AS patient_id, p.sex, p.dob_enc
            FROM samples s JOIN ({patients_store.demographics_sql()}) p ON p.id = s.patient_id
            WHERE s.barcode = ANY($1::text[])""",
        barcodes,
    )
    return [ForResults(r["barcode"], r["id"], SampleState(r["state"]), r["patient_id"], r["sex"], r["dob_enc"])
            for r in rows]  # fmt: skip


@dataclass(frozen=True, slots=True)
class WorkRow:
    """A tube on the bench's worklist: no PHI, only what the bench works by."""

    barcode: str
    state: SampleState
    sample_type: str
    centre_id: str
    collected_at: datetime
    updated_at: datetime
    tests: tuple[str, ...]
    target_hours: int | None  # the longest turnaround target of its tests


async def worklist(
    conn: asyncpg.Connection, *, states: tuple[SampleState, ...], centre_id: str | None, limit: int
) -> list[WorkRow]:
    """Tubes in ``states`` (at ``centre_id``, or anywhere), oldest first, each with the tests it carries and their
    turnaround target, in one query (the tests through the order and catalogue stores' subqueries)."""
    rows = await conn.fetch(
        f"""SELECT s.barcode, s.state, s.sample_type, s.centre_id, s.collected_at, s.updated_at,
                   coalesce(t.tests, '{{}}') AS tests, t.target_hours
            FROM samples s
            LEFT JOIN LATERAL (
                SELECT array_agg(ot.test_code ORDER BY ot.test_code) AS tests, max(tc.turnaround_hours) AS target_hours
                FROM ({orders_store.order_tests_sql()}) ot
                JOIN ({catalogue.tests_sql()}) tc ON tc.code = ot.test_code AND tc.sample_type = s.sample_type
                WHERE ot.order_id = s.order_id AND ot.status = 'ordered') t ON true
            WHERE s.state = ANY($1::text[]) AND ($2::text IS NULL OR s.centre_id = $2)
            ORDER BY s.collected_at, s.barcode LIMIT $3""",
        [state.value for state in states],
        centre_id,
        limit,
    )
    return [WorkRow(r["barcode"], SampleState(r["state"]), r["sample_type"], r["centre_id"], r["collected_at"],
                    r["updated_at"], tuple(r["tests"]), r["target_hours"]) for r in rows]  # fmt: skip
