"""Proving, in a chat, that the person asking is allowed to hear about a patient: the date of birth of one of the
patients on the phone the message came from. Each check is audited, matched or not."""

from __future__ import annotations

from datetime import date

import asyncpg

from core import audit, tracking
from core.identity import RequestMeta
from core.patients import store as patient_store
from core.tracking import FamilyMember
from core.vault import Vault


async def by_date_of_birth(
    conn: asyncpg.Connection, vault: Vault, phone_lookup: str, born: date, *, via: str,
    meta: RequestMeta | None = None,
) -> list[FamilyMember]:  # fmt: skip
    """The patients on this phone born on ``born`` (usually one; twins share a date), with first names."""
    found: list[FamilyMember] = []
    for pid in await tracking.patient_ids(conn, phone_lookup):
        row = await patient_store.get(conn, pid)
        if row is None or row.dob_enc is None:
            continue
        if vault.open("patients", "dob", pid, row.dob_enc) == born.isoformat():
            name = vault.open("patients", "name", pid, row.name_enc) or ""
            found.append(FamilyMember(pid, name.split()[0] if name.split() else ""))
    async with conn.transaction():
        await audit.append(
            conn,
            actor=tracking.patient_actor(phone_lookup),
            action="patient.verify_dob",
            entity_type="patient",
            entity_id=found[0].id if len(found) == 1 else None,
            patient_id=found[0].id if len(found) == 1 else None,
            outcome="matched" if found else "no_match",
            summary={"via": via, "matches": len(found)},
            meta=meta,
        )
    return found
