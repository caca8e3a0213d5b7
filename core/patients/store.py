"""The only SQL for patients and their merges. Values arrive and leave encrypted; the service seals and opens
them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import asyncpg

from core.db.statement import Statement


@dataclass(frozen=True, slots=True)
class PatientRow:
    id: str
    mrn: str
    name_enc: bytes
    phone_enc: bytes | None
    dob_enc: bytes | None
    address_enc: bytes | None
    sex: str
    mrn_authority: str = ""
    merged_into: str | None = None


@dataclass(frozen=True, slots=True)
class Sealed:
    """A patient's fields as stored: PHI sealed by the service, the phone's lookup digest, the plain sex."""

    name_enc: bytes
    phone_enc: bytes | None
    phone_lookup: bytes | None
    dob_enc: bytes | None
    address_enc: bytes | None
    sex: str


def stage_insert(
    stmt: Statement, patient_id: str, mrn: str, fields: Sealed, *, mrn_authority: str = "", if_new: bool = False
) -> str:
    """Stage the INSERT as CTE ``patient`` (``RETURNING id``), for the caller to add its audit row to the same
    statement. ``if_new``: an MRN of this authority stored already inserts nothing (no error, no row)."""
    b = stmt.bind
    stmt.cte(
        "patient",
        f"""INSERT INTO patients (id, mrn, name_enc, phone_enc, phone_lookup, dob_enc, address_enc, sex, mrn_authority)
            VALUES ({b(patient_id)}::uuid, {b(mrn)}, {b(fields.name_enc)}, {b(fields.phone_enc)},
                    {b(fields.phone_lookup)}, {b(fields.dob_enc)}, {b(fields.address_enc)}, {b(fields.sex)},
                    {b(mrn_authority)})"""
        + (" ON CONFLICT (mrn_authority, mrn) DO NOTHING" if if_new else "")
        + " RETURNING id",
    )
    return "patient"


def stage_update(stmt: Statement, patient_id: str, fields: Sealed) -> str:
    """Stage the UPDATE of every field as CTE ``patient`` (``RETURNING id``); a record merged into another (it
    points at the survivor) is not updated: no row."""
    b = stmt.bind
    stmt.cte(
        "patient",
        f"""UPDATE patients SET name_enc = {b(fields.name_enc)}, phone_enc = {b(fields.phone_enc)},
                   phone_lookup = {b(fields.phone_lookup)}, dob_enc = {b(fields.dob_enc)},
                   address_enc = {b(fields.address_enc)}, sex = {b(fields.sex)}, updated_at = now()
            WHERE id = {b(patient_id)}::uuid AND merged_into IS NULL RETURNING id""",
    )
    return "patient"


async def run(conn: asyncpg.Connection, stmt: Statement) -> bool:
    """Run a statement staged here (with its audit row): True when CTE ``patient`` wrote a row."""
    return bool(await conn.fetchval(stmt.sql("SELECT EXISTS (SELECT 1 FROM patient)"), *stmt.args))


_ROW = "id::text, mrn, name_enc, phone_enc, dob_enc, address_enc, sex, mrn_authority, merged_into::text"


async def get_by_mrn(conn: asyncpg.Connection, authority: str, mrn: str, *, lock: bool = False) -> PatientRow | None:
    r = await conn.fetchrow(
        f"SELECT {_ROW} FROM patients WHERE mrn_authority = $1 AND mrn = $2" + (" FOR UPDATE" if lock else ""),
        authority,
        mrn,
    )
    return PatientRow(**dict(r)) if r else None


async def set_mrn(conn: asyncpg.Connection, patient_id: str, authority: str, mrn: str) -> None:
    await conn.execute(
        "UPDATE patients SET mrn_authority = $2, mrn = $3, updated_at = now() WHERE id = $1", patient_id, authority, mrn
    )


async def set_merged_into(conn: asyncpg.Connection, patient_id: str, surviving_id: str | None) -> None:
    await conn.execute(
        "UPDATE patients SET merged_into = $2, updated_at = now() WHERE id = $1", patient_id, surviving_id
    )


async def merged_ids(conn: asyncpg.Connection, patient_id: str) -> list[str]:
    """The patients merged into this one (their records now belong to it)."""
    rows = await conn.fetch("SELECT id::text FROM patients WHERE merged_into = $1 ORDER BY id", patient_id)
    return [r["id"] for r in rows]


async def insert_merge(
    conn: asyncpg.Connection,
    *,
    merge_id: str,
    surviving_id: str,
    merged_id: str,
    moved: dict[str, list[str]],
    source: str,
) -> None:
    await conn.execute(
        """INSERT INTO patient_merges (id, surviving_id, merged_id, moved, source)
           VALUES ($1, $2, $3, $4::jsonb, $5)""",
        merge_id,
        surviving_id,
        merged_id,
        json.dumps(moved),
        source,
    )


@dataclass(frozen=True, slots=True)
class MergeRow:
    id: str
    surviving_id: str
    merged_id: str
    moved: dict[str, list[str]]
    undone: bool


async def get_merge(conn: asyncpg.Connection, merge_id: str, *, lock: bool = False) -> MergeRow | None:
    r = await conn.fetchrow(
        """SELECT id::text, surviving_id::text, merged_id::text, moved::text, undone_at IS NOT NULL AS undone
           FROM patient_merges WHERE id = $1"""
        + (" FOR UPDATE" if lock else ""),
        merge_id,
    )
    if r is None:
        return None
    return MergeRow(r["id"], r["surviving_id"], r["merged_id"], json.loads(r["moved"]), r["undone"])


async def mark_merge_undone(conn: asyncpg.Connection, merge_id: str, actor_id: str) -> None:
    await conn.execute("UPDATE patient_merges SET undone_at = now(), undone_by = $2 WHERE id = $1", merge_id, actor_id)


async def get(conn: asyncpg.Connection, patient_id: str, *, lock: bool = False) -> PatientRow | None:
    r = await conn.fetchrow(f"SELECT {_ROW} FROM patients WHERE id = $1" + (" FOR UPDATE" if lock else ""), patient_id)
    return PatientRow(**dict(r)) if r else None


async def sex(conn: asyncpg.Connection, patient_id: str) -> str | None:
    """The patient's recorded sex (a plain column), or None when there is no such patient."""
    value = await conn.fetchval("SELECT sex FROM patients WHERE id = $1", patient_id)
    return str(value) if value is not None else None


async def ids_by_phone_lookup(conn: asyncpg.Connection, phone_lookup: bytes) -> list[str]:
    rows = await conn.fetch("SELECT id::text FROM patients WHERE phone_lookup = $1 ORDER BY created_at", phone_lookup)
    return [r["id"] for r in rows]


async def next_mrn(conn: asyncpg.Connection) -> str:
    mrn: str = await conn.fetchval("SELECT 'LP' || lpad(nextval('patient_mrn_seq')::text, 7, '0')")
    return mrn


async def existing_mrns(conn: asyncpg.Connection, mrns: list[str]) -> set[str]:
    rows = await conn.fetch("SELECT mrn FROM patients WHERE mrn_authority = '' AND mrn = ANY($1::text[])", mrns)
    return {r["mrn"] for r in rows}


# --- read/write paths moved here from other modules ---


async def sealed_phones(conn: asyncpg.Connection, phone_lookup: bytes, limit: int = 5) -> list[tuple[str, bytes]]:
    """(id, sealed phone) of the first patients on file with this phone lookup hash who still have a phone."""
    rows = await conn.fetch(
        """SELECT id::text, phone_enc FROM patients WHERE phone_lookup = $1 AND phone_enc IS NOT NULL
           ORDER BY created_at LIMIT $2""",
        phone_lookup,
        limit,
    )
    return [(r["id"], r["phone_enc"]) for r in rows]


def next_event_seq_sql(patient: str) -> str:
    """An UPDATE … RETURNING event_seq that takes the patient's next event number, for a CTE of the statement that
    writes the event (``outbox.stage``); ``patient`` is the caller's placeholder. It locks the patient's row until
    commit, which keeps the sequence gap-free and commit-ordered."""
    return f"UPDATE patients SET event_seq = event_seq + 1 WHERE id = {patient} RETURNING event_seq"


def linked_sql(patient: str, phone_lookup: str) -> str:
    """A subquery of the patient (``id``, ``event_seq``) if, and only if, they belong to this phone; ``patient``
    and ``phone_lookup`` are the caller's placeholders (a uuid and the lookup hash's bytes)."""
    return f"SELECT id, event_seq FROM patients WHERE id = {patient}::uuid AND phone_lookup = {phone_lookup}"


async def event_seq(conn: asyncpg.Connection, patient_id: str) -> int:
    """The number of the patient's last event (0 for none yet, or no such patient)."""
    seq = await conn.fetchval("SELECT event_seq FROM patients WHERE id = $1", patient_id)
    return int(seq or 0)


def channels_sql(patient: str) -> str:
    """A subquery of (``id``, ``channel``) for each channel the patient chose for notices; ``patient`` is the
    caller's placeholder. For the statement that queues a report's notices."""
    return f"SELECT p.id, ch AS channel FROM patients p, unnest(p.notify_channels) AS ch WHERE p.id = {patient}"


@dataclass(frozen=True, slots=True)
class NoticeContact:
    phone_enc: bytes | None
    phone_lookup: str | None
    language: str


async def notice_contact(conn: asyncpg.Connection, patient_id: str) -> NoticeContact | None:
    """Where a report notice goes: the sealed phone, its lookup hash (hex) and the patient's language."""
    r = await conn.fetchrow(
        "SELECT phone_enc, encode(phone_lookup, 'hex') AS lookup, language FROM patients WHERE id = $1", patient_id
    )
    return NoticeContact(r["phone_enc"], r["lookup"], r["language"]) if r else None


async def erase_contact(conn: asyncpg.Connection, patient_id: str) -> None:
    """A closed account: erase the phone, its lookup hash and the address; the medical record stays."""
    await conn.execute(
        """UPDATE patients SET phone_enc = NULL, phone_lookup = NULL, address_enc = NULL, closed_at = now()
           WHERE id = $1""",
        patient_id,
    )


async def exists(conn: asyncpg.Connection, patient_id: str) -> bool:
    found: bool = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM patients WHERE id = $1)", patient_id)
    return found


def demographics_sql() -> str:
    """A subquery of what judging a result needs of a patient (``id``, ``sex``, sealed ``dob_enc``), for another
    store to JOIN in one statement while only this module names the table."""
    return "SELECT id, sex, dob_enc FROM patients"


def mrns_sql() -> str:
    """A subquery of each patient's ``id`` and ``mrn``, to JOIN in another module's statement (a critical value's
    message names the MRN) while only this module names the table."""
    return "SELECT id, mrn FROM patients"


async def first_id(conn: asyncpg.Connection) -> str | None:
    """The id of the patient registered first; None when there is none (the demo seeds only an empty database)."""
    found: str | None = await conn.fetchval("SELECT id::text FROM patients ORDER BY created_at LIMIT 1")
    return found
