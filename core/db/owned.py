"""Rows that belong to a patient, moved to another patient when two records are merged (HL7 ADT^A40) and moved
back, exactly, when an operator undoes the merge. The store module that owns each table names it
(``PATIENT_ROWS``); ``core.patients.merge`` lists them, and a test checks that every table referring to a
patient is either listed there or deliberately left where it is."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class PatientRows:
    table: str
    key: str = "id"
    column: str = "patient_id"

    async def move(self, conn: asyncpg.Connection, from_id: str, to_id: str) -> list[str]:
        """Every row of ``from_id`` now belongs to ``to_id``; returns their keys (for the undo)."""
        rows = await conn.fetch(
            f"UPDATE {self.table} SET {self.column} = $2 WHERE {self.column} = $1 RETURNING {self.key}::text",
            from_id,
            to_id,
        )
        return [r[0] for r in rows]

    async def move_back(self, conn: asyncpg.Connection, keys: list[str], from_id: str, to_id: str) -> int:
        """The rows a merge moved, if they still belong to ``from_id``, go back to ``to_id``."""
        if not keys:
            return 0
        done = await conn.execute(
            f"UPDATE {self.table} SET {self.column} = $3"
            f" WHERE {self.key}::text = ANY($1::text[]) AND {self.column} = $2",
            keys,
            from_id,
            to_id,
        )
        return int(done.split()[-1])
