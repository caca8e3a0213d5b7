"""Doctors who order tests: known by the id their system gives them. One first seen in an order is added
unverified (the order is not held up for it) and shown in the review queue until a person confirms it."""

from __future__ import annotations

import uuid

import asyncpg

from core import audit
from core.doctors import store
from core.errors import InvalidInput, NotFound
from core.i18n import worded
from core.identity import Actor
from core.ids import is_uuid


async def known(conn: asyncpg.Connection, authority: str, code: str) -> store.DoctorRow | None:
    """The doctor another system names, if seen here before (a read; nothing is added)."""
    return await store.find(conn, authority, code)


async def find_or_add(
    conn: asyncpg.Connection, *, authority: str, code: str, name: str, actor: Actor
) -> tuple[store.DoctorRow, bool]:
    """The ordering doctor; ``True`` with it when first seen here (then unverified, and audited)."""
    if known := await store.find(conn, authority, code):
        return known, False  # the usual case: one read, no savepoint
    async with conn.transaction():
        row, new = await store.find_or_insert(
            conn, doctor_id=str(uuid.uuid4()), authority=authority, code=code, name=name
        )
        if new:
            await audit.append(
                conn, actor=actor, action="doctor.add", entity_type="doctor", entity_id=row.id,
                summary={"authority": authority, "code": code, "verified": False},
            )  # fmt: skip
    return row, new


async def confirm(
    conn: asyncpg.Connection, doctor_id: str, *, actor: Actor, verified: bool | None, destination_id: str | None,
    clear_destination: bool = False,
) -> None:  # fmt: skip
    """An administrator confirms a doctor first seen in an order and/or says where their results go."""
    if not is_uuid(doctor_id):
        raise worded(NotFound, "error:there_such_doctor")
    async with conn.transaction():
        try:
            found = await store.update(conn, doctor_id, verified=verified, destination_id=destination_id,
                                       clear_destination=clear_destination)  # fmt: skip
        except asyncpg.ForeignKeyViolationError as exc:
            raise worded(InvalidInput, "error:there_destination_id", "destination_id") from exc
        if not found:
            raise worded(NotFound, "error:there_such_doctor")
        await audit.append(
            conn, actor=actor, action="doctor.update", entity_type="doctor", entity_id=doctor_id,
            summary={"verified": verified, "destination_id": None if clear_destination else destination_id},
        )  # fmt: skip
