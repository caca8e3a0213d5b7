"""Doctors who order tests: known by the id their system gives them. One first seen in an order is added
unverified (the order is not held up for it) and shown in the review queue until a person confirms it."""

from __future__ import annotations

import uuid

import asyncpg

from core import audit
from core.doctors import store
from core.identity import Actor


async def find_or_add(
    conn: asyncpg.Connection, *, authority: str, code: str, name: str, actor: Actor
) -> tuple[store.DoctorRow, bool]:
    """The ordering doctor; ``True`` with it when first seen here (then unverified, and audited)."""
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
