"""Merging two records of one person (HL7 ADT^A40, or an operator) and undoing it exactly.

A merge moves every row that belongs to the merged patient (``OWNED``: orders, tubes, report deliveries,
teleconsults, break-glass grants; results and reports follow their tubes) to the surviving one, marks the merged
record ``merged_into`` the survivor, and keeps which rows it moved, so that an operator's undo moves those rows,
and only those, back. Both are audited. Left where they are (``STAYS``): the live-status stream and its
acknowledgements, which are the merged record's own history, and the audit log, which is never rewritten (a
search for the survivor includes the records merged into it)."""

from __future__ import annotations

import uuid

import asyncpg

from core import access, audit
from core.errors import InvalidInput, NotFound, PatientNotFound
from core.i18n import worded
from core.identity import Actor
from core.ids import is_uuid
from core.orders import store as orders_store
from core.patients import store
from core.reports import render
from core.samples import store as samples_store
from core.teleconsult import service as teleconsults

OWNED = (
    orders_store.PATIENT_ROWS,
    samples_store.PATIENT_ROWS,
    render.PATIENT_ROWS,
    teleconsults.PATIENT_ROWS,
    access.PATIENT_ROWS,
)
STAYS = ("outbox", "patient_acks")


async def merge(conn: asyncpg.Connection, *, surviving_id: str, merged_id: str, actor: Actor, source: str) -> str:
    """Move everything of ``merged_id`` to ``surviving_id``; returns the merge's id (for its undo)."""
    if surviving_id == merged_id:
        raise worded(InvalidInput, "error:patient_cannot_merged_into", "merged_id")
    async with conn.transaction():
        for pid in sorted((surviving_id, merged_id)):  # both rows locked, in one order: no deadlock
            if await store.get(conn, pid, lock=True) is None:
                raise PatientNotFound(pid)
        moved = {rows.table: await rows.move(conn, merged_id, surviving_id) for rows in OWNED}
        await store.set_merged_into(conn, merged_id, surviving_id)
        merge_id = str(uuid.uuid4())
        await store.insert_merge(
            conn, merge_id=merge_id, surviving_id=surviving_id, merged_id=merged_id, moved=moved, source=source
        )
        await audit.append(
            conn, actor=actor, action="patient.merge", entity_type="patient_merge", entity_id=merge_id,
            patient_id=surviving_id,
            summary={"merged_id": merged_id, "source": source, "moved": {t: len(ids) for t, ids in moved.items()}},
        )  # fmt: skip
    return merge_id


async def undo(conn: asyncpg.Connection, merge_id: str, *, actor: Actor) -> store.MergeRow:
    """Move back what the merge moved (rows that still belong to the survivor) and unmark the merged record."""
    async with conn.transaction():
        row = await store.get_merge(conn, merge_id, lock=True) if is_uuid(merge_id) else None
        if row is None:
            raise worded(NotFound, "error:there_such_merge")
        if row.undone:
            raise worded(InvalidInput, "error:merge_undone_already", "merge_id")
        back = {}
        for rows in OWNED:
            back[rows.table] = await rows.move_back(
                conn, row.moved.get(rows.table, []), row.surviving_id, row.merged_id
            )
        await store.set_merged_into(conn, row.merged_id, None)
        await store.mark_merge_undone(conn, merge_id, actor.id)
        await audit.append(
            conn, actor=actor, action="patient.unmerge", entity_type="patient_merge", entity_id=merge_id,
            patient_id=row.merged_id, summary={"surviving_id": row.surviving_id, "moved_back": back},
        )  # fmt: skip
    return row
