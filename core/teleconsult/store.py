"""The only SQL for teleconsults: consults, doctors' consult slots, join links, consents, transcript lines and
notes. Each function takes the caller's connection (and so its transaction); doctors' names come from the staff
store's subquery, so the staff table is named only there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from core.staff import store as staff_store


@dataclass(frozen=True, slots=True)
class ConsultSlot:
    id: int
    doctor_id: str
    doctor_name: str
    starts_at: datetime
    minutes: int


@dataclass(frozen=True, slots=True)
class Consult:
    id: str
    ref: str
    doctor_id: str
    doctor_name: str
    patient_id: str | None
    starts_at: datetime
    minutes: int
    status: str
    language: str


@dataclass(frozen=True, slots=True)
class TakenSlot:
    doctor_id: str
    starts_at: datetime
    minutes: int


@dataclass(frozen=True, slots=True)
class Link:
    consult_id: str
    side: str
    opens_at: datetime
    closes_at: datetime
    device_hash: bytes | None


@dataclass(frozen=True, slots=True)
class Contact:
    phone_lookup: str
    phone_enc: bytes | None
    channel: str


@dataclass(frozen=True, slots=True)
class Line:
    seq: int
    speaker: str
    started_ms: int
    ended_ms: int
    text_enc: bytes


@dataclass(frozen=True, slots=True)
class NoteRow:
    version: int
    status: str
    body_enc: bytes
    updated_at: datetime
    signed_at: datetime | None
    signed_by: str | None
    amends: int | None
    content_hash: bytes | None


# --- slots ---


async def ensure_slots(conn: asyncpg.Connection, starts: list[datetime], minutes: int) -> int:
    """Every active doctor's slot at each of ``starts`` that does not exist yet; returns how many were made."""
    added = await conn.fetchval(
        f"""WITH new AS (
               INSERT INTO consult_slots (doctor_id, starts_at, minutes)
               SELECT s.id, t, $2 FROM ({staff_store.names_sql()}) s, unnest($1::timestamptz[]) AS t
               WHERE s.role = 'doctor' AND s.active
               ON CONFLICT (doctor_id, starts_at) DO NOTHING RETURNING 1)
           SELECT count(*) FROM new""",
        starts,
        minutes,
    )
    return int(added)


async def open_slots(
    conn: asyncpg.Connection, start: datetime, end: datetime, after: datetime, limit: int
) -> list[ConsultSlot]:
    """Free slots of active doctors starting in [start, end) and after ``after``, earliest first."""
    rows = await conn.fetch(
        f"""SELECT c.id, c.doctor_id, s.display_name, c.starts_at, c.minutes FROM consult_slots c
           JOIN ({staff_store.names_sql()}) s ON s.id = c.doctor_id
           WHERE NOT c.booked AND s.active AND c.starts_at >= $1 AND c.starts_at < $2 AND c.starts_at > $3
           ORDER BY c.starts_at, s.display_name LIMIT $4""",
        start,
        end,
        after,
        limit,
    )
    return [ConsultSlot(r["id"], str(r["doctor_id"]), r["display_name"], r["starts_at"], r["minutes"]) for r in rows]


async def add_slot(conn: asyncpg.Connection, doctor_id: str, starts_at: datetime, minutes: int) -> int:
    slot_id = await conn.fetchval(
        """INSERT INTO consult_slots (doctor_id, starts_at, minutes) VALUES ($1, $2, $3)
           ON CONFLICT (doctor_id, starts_at) DO UPDATE SET minutes = EXCLUDED.minutes RETURNING id""",
        doctor_id,
        starts_at,
        minutes,
    )
    return int(slot_id)


async def take_slot(conn: asyncpg.Connection, slot_id: int, now: datetime) -> TakenSlot | None:
    """Mark the slot booked if it is free and still ahead; None if someone else has it (or it has passed)."""
    row = await conn.fetchrow(
        """UPDATE consult_slots SET booked = true WHERE id = $1 AND NOT booked AND starts_at > $2
           RETURNING doctor_id, starts_at, minutes""",
        slot_id,
        now,
    )
    return TakenSlot(str(row["doctor_id"]), row["starts_at"], row["minutes"]) if row else None


# --- consults ---

_CONSULT_SQL = f"""SELECT c.id, c.ref, c.doctor_id, s.display_name, c.patient_id, k.starts_at, k.minutes, c.status,
                          c.language
                   FROM consults c JOIN consult_slots k ON k.id = c.slot_id
                   JOIN ({staff_store.names_sql()}) s ON s.id = c.doctor_id"""


async def get(conn: asyncpg.Connection, consult_id: str) -> Consult | None:
    row = await conn.fetchrow(_CONSULT_SQL + " WHERE c.id = $1", consult_id)
    if row is None:
        return None
    return Consult(str(row["id"]), row["ref"], str(row["doctor_id"]), row["display_name"],
                   str(row["patient_id"]) if row["patient_id"] else None, row["starts_at"], row["minutes"],
                   row["status"], row["language"])  # fmt: skip


async def insert(
    conn: asyncpg.Connection,
    *,
    consult_id: str,
    ref: str,
    slot_id: int,
    doctor_id: str,
    phone_lookup: str,
    phone_enc: bytes | None,
    patient_id: str | None,
    reason_enc: bytes | None,
    language: str,
    channel: str,
) -> None:
    await conn.execute(
        """INSERT INTO consults (id, ref, slot_id, doctor_id, phone_lookup, phone_enc, patient_id, reason_enc,
                                 language, channel)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        consult_id,
        ref,
        slot_id,
        doctor_id,
        phone_lookup,
        phone_enc,
        patient_id,
        reason_enc,
        language,
        channel,
    )


async def cancel(conn: asyncpg.Connection, consult_id: str | None, phone_lookup: str) -> bool:
    """Cancel the booked consult of this phone, free its slot and close its links; False if there is none."""
    row = await conn.fetchrow(
        """UPDATE consults SET status = 'cancelled' WHERE id = $1 AND phone_lookup = $2 AND status = 'booked'
           RETURNING slot_id""",
        consult_id,
        phone_lookup,
    )
    if row is None:
        return False
    await conn.execute("UPDATE consult_slots SET booked = false WHERE id = $1", row["slot_id"])
    await conn.execute("UPDATE consult_links SET closes_at = now() WHERE consult_id = $1", consult_id)
    return True


async def complete(conn: asyncpg.Connection, consult_id: str) -> None:
    """A booked consult is done (its note was signed)."""
    await conn.execute(
        "UPDATE consults SET status = 'completed', completed_at = coalesce(completed_at, now()) WHERE id = $1 "
        "AND status = 'booked'",
        consult_id,
    )


async def contact(conn: asyncpg.Connection, consult_id: str) -> Contact | None:
    """The phone the consult was booked from (its lookup hash and sealed number) and the channel it came on."""
    row = await conn.fetchrow("SELECT phone_lookup, phone_enc, channel FROM consults WHERE id = $1", consult_id)
    return Contact(row["phone_lookup"], row["phone_enc"], row["channel"]) if row else None


# --- join links ---


async def insert_link(
    conn: asyncpg.Connection,
    *,
    token_hash: bytes,
    token_enc: bytes | None,
    consult_id: str,
    side: str,
    opens_at: datetime,
    closes_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO consult_links (token_hash, token_enc, consult_id, side, opens_at, closes_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        token_hash,
        token_enc,
        consult_id,
        side,
        opens_at,
        closes_at,
    )


async def lock_link(conn: asyncpg.Connection, token_hash: bytes) -> Link | None:
    """The link with this token hash, locked until the caller's transaction ends."""
    row = await conn.fetchrow(
        "SELECT consult_id, side, opens_at, closes_at, device_hash FROM consult_links WHERE token_hash = $1 FOR UPDATE",
        token_hash,
    )
    if row is None:
        return None
    return Link(str(row["consult_id"]), row["side"], row["opens_at"], row["closes_at"], row["device_hash"])


async def bind_link(conn: asyncpg.Connection, token_hash: bytes, device_hash: bytes, now: datetime) -> None:
    await conn.execute(
        "UPDATE consult_links SET device_hash = $2, first_used_at = $3 WHERE token_hash = $1",
        token_hash,
        device_hash,
        now,
    )


async def link_token_enc(conn: asyncpg.Connection, consult_id: str, side: str) -> bytes | None:
    """The sealed secret of one side's link; None if the consult has no such link."""
    row = await conn.fetchrow(
        "SELECT token_enc FROM consult_links WHERE consult_id = $1 AND side = $2", consult_id, side
    )
    return row["token_enc"] if row else None


# --- consent and transcript ---


async def set_consent(conn: asyncpg.Connection, consult_id: str, side: str, given: bool) -> None:
    await conn.execute(
        """INSERT INTO consult_consents (consult_id, side, given) VALUES ($1, $2, $3)
           ON CONFLICT (consult_id, side) DO UPDATE SET given = EXCLUDED.given, at = now()""",
        consult_id,
        side,
        given,
    )


async def consents(conn: asyncpg.Connection, consult_id: str) -> dict[str, bool]:
    """Each side's latest answer, by side; a side that never answered is absent."""
    rows = await conn.fetch("SELECT side, given FROM consult_consents WHERE consult_id = $1", consult_id)
    return {r["side"]: bool(r["given"]) for r in rows}


async def add_line(
    conn: asyncpg.Connection,
    consult_id: str,
    speaker: str,
    started_ms: int,
    ended_ms: int,
    seal: Callable[[int], bytes | None],
) -> int:
    """Number the next line of the consult (locking the consult until commit) and store it; returns its number.
    ``seal`` encrypts the text bound to the line's number."""
    seq = await conn.fetchval(
        "UPDATE consults SET line_seq = line_seq + 1 WHERE id = $1 RETURNING line_seq", consult_id
    )
    await conn.execute(
        """INSERT INTO consult_lines (consult_id, seq, speaker, started_ms, ended_ms, text_enc)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        consult_id,
        seq,
        speaker,
        started_ms,
        ended_ms,
        seal(int(seq)),
    )
    return int(seq)


async def lines(conn: asyncpg.Connection, consult_id: str) -> list[Line]:
    rows = await conn.fetch(
        "SELECT seq, speaker, started_ms, ended_ms, text_enc FROM consult_lines WHERE consult_id = $1 ORDER BY seq",
        consult_id,
    )
    return [Line(r["seq"], r["speaker"], r["started_ms"], r["ended_ms"], r["text_enc"]) for r in rows]


# --- notes ---

_NOTE_COLUMNS = "version, status, body_enc, updated_at, signed_at, signed_by, amends, content_hash"


def _note(row: asyncpg.Record) -> NoteRow:
    return NoteRow(row["version"], row["status"], row["body_enc"], row["updated_at"], row["signed_at"],
                   str(row["signed_by"]) if row["signed_by"] else None, row["amends"],
                   row["content_hash"])  # fmt: skip


async def note_head(conn: asyncpg.Connection, consult_id: str, *, lock: bool = False) -> NoteRow | None:
    """The latest version; with ``lock`` it stays locked until the transaction ends (edits, signing and amending
    are serialised)."""
    row = await conn.fetchrow(
        f"SELECT {_NOTE_COLUMNS} FROM consult_notes WHERE consult_id = $1 ORDER BY version DESC LIMIT 1"
        + (" FOR UPDATE" if lock else ""),
        consult_id,
    )
    return _note(row) if row else None


async def save_draft(
    conn: asyncpg.Connection, consult_id: str, version: int, body_enc: bytes | None, edited_by: str
) -> NoteRow:
    row = await conn.fetchrow(
        f"""INSERT INTO consult_notes (consult_id, version, body_enc, status, edited_by)
            VALUES ($1, $2, $3, 'draft', $4)
            ON CONFLICT (consult_id, version) DO UPDATE SET body_enc = EXCLUDED.body_enc,
                edited_by = EXCLUDED.edited_by, updated_at = now()
            RETURNING {_NOTE_COLUMNS}""",
        consult_id,
        version,
        body_enc,
        edited_by,
    )
    return _note(row)


async def sign_note(conn: asyncpg.Connection, consult_id: str, version: int, signed_by: str, digest: bytes) -> NoteRow:
    row = await conn.fetchrow(
        f"""UPDATE consult_notes SET status = 'signed', signed_by = $3, signed_at = now(), content_hash = $4
            WHERE consult_id = $1 AND version = $2 RETURNING {_NOTE_COLUMNS}""",
        consult_id,
        version,
        signed_by,
        digest,
    )
    return _note(row)


async def insert_amendment(
    conn: asyncpg.Connection, consult_id: str, version: int, body_enc: bytes | None, edited_by: str, amends: int
) -> NoteRow:
    row = await conn.fetchrow(
        f"""INSERT INTO consult_notes (consult_id, version, body_enc, status, edited_by, amends)
            VALUES ($1, $2, $3, 'draft', $4, $5) RETURNING {_NOTE_COLUMNS}""",
        consult_id,
        version,
        body_enc,
        edited_by,
        amends,
    )
    return _note(row)
