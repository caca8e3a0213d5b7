"""Consent and the transcript. Nothing is transcribed until both sides have consented on screen; either side can
withdraw, which stops it. Each consent change is audited. Lines are PHI: stored encrypted, one row per utterance
with its speaker and time, and every read of the transcript is audited."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from core import audit
from core.errors import InvalidInput
from core.i18n import worded
from core.identity import Actor, RequestMeta
from core.teleconsult import store
from core.teleconsult.service import SIDES, Consult, require_doctor
from core.vault import Vault

MAX_LINE = 4000


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    seq: int
    speaker: str
    started_ms: int
    ended_ms: int
    text: str

    def to_json(self) -> dict[str, object]:
        return {"seq": self.seq, "speaker": self.speaker, "started_ms": self.started_ms, "ended_ms": self.ended_ms,
                "text": self.text}  # fmt: skip


async def set_consent(
    conn: asyncpg.Connection, consult: Consult, side: str, given: bool, *, actor: Actor, meta: RequestMeta | None = None
) -> dict[str, bool]:
    if side not in SIDES:
        raise worded(InvalidInput, "error:side_doctor_patient", "side")
    async with conn.transaction():
        await store.set_consent(conn, consult.id, side, given)
        await audit.append(conn, actor=actor, action="consult.consent", entity_type="consult", entity_id=consult.id,
                           patient_id=consult.patient_id, outcome="given" if given else "withdrawn",
                           summary={"side": side}, meta=meta)  # fmt: skip
    return await consents(conn, consult.id)


async def consents(conn: asyncpg.Connection, consult_id: str) -> dict[str, bool]:
    given = await store.consents(conn, consult_id)
    return {side: bool(given.get(side)) for side in SIDES}


async def both_consented(conn: asyncpg.Connection, consult_id: str) -> bool:
    return all((await consents(conn, consult_id)).values())


async def add_line(
    conn: asyncpg.Connection, vault: Vault, consult_id: str, speaker: str, started_ms: int, ended_ms: int, text: str
) -> TranscriptLine | None:
    """Store one spoken line, numbered in order; refused (None) unless both sides consent at this moment."""
    if speaker not in SIDES:
        raise worded(InvalidInput, "error:speaker_doctor_patient", "speaker")
    text = text.strip()[:MAX_LINE]
    if not text:
        return None
    async with conn.transaction():
        if not await both_consented(conn, consult_id):
            return None
        seq = await store.add_line(
            conn, consult_id, speaker, max(0, started_ms), max(started_ms, ended_ms, 0),
            lambda n: vault.seal("consult_lines", "text", f"{consult_id}:{n}", text),
        )  # fmt: skip
    return TranscriptLine(int(seq), speaker, max(0, started_ms), max(started_ms, ended_ms, 0), text)


async def read(
    conn: asyncpg.Connection,
    vault: Vault,
    consult: Consult,
    *,
    actor: Actor,
    meta: RequestMeta | None = None,
) -> list[TranscriptLine]:
    """The whole transcript, for the consult's doctor only; the read is audited."""
    require_doctor(actor, consult)
    rows = await store.lines(conn, consult.id)
    async with conn.transaction():
        await audit.append(conn, actor=actor, action="consult.transcript.read", entity_type="consult",
                           entity_id=consult.id, patient_id=consult.patient_id, summary={"lines": len(rows)},
                           meta=meta)  # fmt: skip
    return [
        TranscriptLine(r.seq, r.speaker, r.started_ms, r.ended_ms,
                       vault.open("consult_lines", "text", f"{consult.id}:{r.seq}", r.text_enc) or "")
        for r in rows
    ]  # fmt: skip
