"""The consult note: a draft the doctor edits, then signs. A signed version never changes (the database refuses
it); an amendment is a new version that starts from the signed text and is signed in its turn. Every save, sign
and amendment is audited; the body is PHI and stored encrypted.

The body keeps the draft's shape: four sections of sentences, each with the transcript lines it came from, so a
clinician reading the note later can still see what was said, plus the lab tests the plan orders."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from core import audit
from core.errors import Conflict, InvalidInput
from core.i18n import worded
from core.identity import Actor, RequestMeta
from core.teleconsult import store
from core.teleconsult.service import Consult, require_doctor, staff_id
from core.teleconsult.store import NoteRow
from core.vault import Vault

SECTIONS = ("subjective", "objective", "assessment", "plan")
MAX_BODY = 64 * 1024
MAX_SENTENCE = 2000


class NoteSigned(Conflict):
    code = "note_signed"

    def __init__(self) -> None:
        super().__init__("This note is signed and cannot be changed. Start an amendment to correct it.")


class NoteChanged(Conflict):
    code = "note_changed"

    def __init__(self) -> None:
        super().__init__("The note changed since you opened it. Please reload it and sign again.")


@dataclass(frozen=True, slots=True)
class NoteVersion:
    version: int
    status: str
    body: dict[str, Any]
    updated_at: datetime
    signed_at: datetime | None
    signed_by: str | None
    amends: int | None
    content_hash: str | None

    def to_json(self) -> dict[str, object]:
        return {"version": self.version, "status": self.status, "body": self.body,
                "updated_at": self.updated_at.isoformat(),
                "signed_at": self.signed_at.isoformat() if self.signed_at else None, "signed_by": self.signed_by,
                "amends": self.amends, "content_hash": self.content_hash}  # fmt: skip


def validate(body: object) -> dict[str, Any]:
    """The body as the doctor's editor sends it, checked field by field with a clear message."""
    if not isinstance(body, dict):
        raise worded(InvalidInput, "error:note_must_four_sections", "body")
    out: dict[str, Any] = {}
    for section in SECTIONS:
        sentences = body.get(section, [])
        if not isinstance(sentences, list):
            raise InvalidInput(section, f"The {section} section must be a list of sentences.")
        clean = []
        for s in sentences:
            if not isinstance(s, dict) or not isinstance(s.get("text"), str):
                raise InvalidInput(section, f"Each {section} sentence needs its text.")
            sources = s.get("sources", [])
            if not isinstance(sources, list) or not all(isinstance(x, int) and not isinstance(x, bool)
                                                        for x in sources):  # fmt: skip
                raise InvalidInput(section, "A sentence's sources are transcript line numbers.")
            text = s["text"].strip()
            if len(text) > MAX_SENTENCE:
                raise InvalidInput(section, f"Please keep each sentence under {MAX_SENTENCE} characters.")
            if text:
                clean.append({"text": text, "sources": sorted(set(sources))})
        out[section] = clean
    tests = body.get("tests", [])
    if not isinstance(tests, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tests):
        raise worded(InvalidInput, "error:ordered_tests_list_names", "tests")
    out["tests"] = [{"name": t["name"][:200], "code": t.get("code") if isinstance(t.get("code"), str) else None}
                    for t in tests]  # fmt: skip
    unknown = set(body) - {*SECTIONS, "tests"}
    if unknown:
        raise InvalidInput("body", f"Unknown part of a note: {sorted(unknown)[0]}.")
    if len(_canonical(out)) > MAX_BODY:
        raise worded(InvalidInput, "error:note_too_long_save", "body")
    return out


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _version(vault: Vault, consult_id: str, row: NoteRow) -> NoteVersion:
    text = vault.open("consult_notes", "body", f"{consult_id}:{row.version}", row.body_enc) or "{}"
    return NoteVersion(row.version, row.status, json.loads(text), row.updated_at, row.signed_at, row.signed_by,
                       row.amends, row.content_hash.hex() if row.content_hash else None)  # fmt: skip


async def _head(conn: asyncpg.Connection, consult_id: str) -> NoteRow | None:
    """The latest version, locked until the transaction ends (edits, signing and amending are serialised)."""
    return await store.note_head(conn, consult_id, lock=True)


async def latest(
    conn: asyncpg.Connection, vault: Vault, consult: Consult, *, actor: Actor, meta: RequestMeta | None = None
) -> NoteVersion | None:
    require_doctor(actor, consult)
    row = await store.note_head(conn, consult.id)
    if row is None:
        return None
    async with conn.transaction():
        await audit.append(conn, actor=actor, action="consult.note.read", entity_type="consult", entity_id=consult.id,
                           patient_id=consult.patient_id, summary={"version": row.version}, meta=meta)  # fmt: skip
    return _version(vault, consult.id, row)


async def save_draft(
    conn: asyncpg.Connection,
    vault: Vault,
    consult: Consult,
    body: object,
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
) -> NoteVersion:
    """Save the doctor's edits into the current draft (the first save makes version 1)."""
    require_doctor(actor, consult)
    clean = validate(body)
    async with conn.transaction():
        head = await _head(conn, consult.id)
        if head is not None and head.status == "signed":
            raise NoteSigned
        version = head.version if head is not None else 1
        blob = vault.seal("consult_notes", "body", f"{consult.id}:{version}", _canonical(clean).decode())
        row = await store.save_draft(conn, consult.id, version, blob, staff_id(actor))
        await audit.append(conn, actor=actor, action="consult.note.save", entity_type="consult", entity_id=consult.id,
                           patient_id=consult.patient_id, summary={"version": version}, meta=meta)  # fmt: skip
    return _version(vault, consult.id, row)


async def sign(
    conn: asyncpg.Connection,
    vault: Vault,
    consult: Consult,
    *,
    version: int,
    actor: Actor,
    meta: RequestMeta | None = None,
) -> NoteVersion:
    """Sign the draft the doctor was looking at (``version``): from now on it never changes."""
    require_doctor(actor, consult)
    async with conn.transaction():
        head = await _head(conn, consult.id)
        if head is None or head.version != version:
            raise NoteChanged
        if head.status == "signed":
            raise NoteSigned
        body = _version(vault, consult.id, head).body
        digest = hashlib.sha256(_canonical(body)).digest()
        row = await store.sign_note(conn, consult.id, version, staff_id(actor), digest)
        await store.complete(conn, consult.id)
        await audit.append(conn, actor=actor, action="consult.note.sign", entity_type="consult", entity_id=consult.id,
                           patient_id=consult.patient_id, summary={"version": version, "hash": digest.hex()[:16]},
                           meta=meta)  # fmt: skip
    return _version(vault, consult.id, row)


async def amend(
    conn: asyncpg.Connection, vault: Vault, consult: Consult, *, actor: Actor, meta: RequestMeta | None = None
) -> NoteVersion:
    """Start an amendment: a new draft version holding the signed text, to edit and sign."""
    require_doctor(actor, consult)
    async with conn.transaction():
        head = await _head(conn, consult.id)
        if head is None or head.status != "signed":
            raise worded(InvalidInput, "error:only_signed_note_amended", "note")
        body = _version(vault, consult.id, head).body
        version = head.version + 1
        sealed = vault.seal("consult_notes", "body", f"{consult.id}:{version}", _canonical(body).decode())
        row = await store.insert_amendment(conn, consult.id, version, sealed, staff_id(actor), head.version)
        await audit.append(conn, actor=actor, action="consult.note.amend", entity_type="consult",
                           entity_id=consult.id, patient_id=consult.patient_id,
                           summary={"version": version, "amends": head.version}, meta=meta)  # fmt: skip
    return _version(vault, consult.id, row)
