"""The only SQL for orders, the tests they carry, centres and the test catalogue."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class CatalogueTest:
    code: str
    name: str
    sample_type: str
    turnaround_hours: int
    price_paise: int


@dataclass(frozen=True, slots=True)
class Centre:
    id: str
    name: str
    kind: str
    city: str


async def catalogue(conn: asyncpg.Connection, codes: list[str] | None = None) -> list[CatalogueTest]:
    if codes is None:
        rows = await conn.fetch(
            "SELECT code, name, sample_type, turnaround_hours, price_paise FROM test_catalogue ORDER BY code"
        )
    else:
        rows = await conn.fetch(
            """SELECT code, name, sample_type, turnaround_hours, price_paise FROM test_catalogue
               WHERE code = ANY($1) ORDER BY code""",
            codes,
        )
    return [CatalogueTest(**dict(r)) for r in rows]


async def upsert_centre(conn: asyncpg.Connection, centre: Centre) -> None:
    await conn.execute(
        """INSERT INTO centres (id, name, kind, city) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, city = EXCLUDED.city""",
        centre.id,
        centre.name,
        centre.kind,
        centre.city,
    )


async def centre_exists(conn: asyncpg.Connection, centre_id: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM centres WHERE id = $1)", centre_id))


async def insert_order(
    conn: asyncpg.Connection,
    *,
    order_id: str,
    patient_id: str,
    centre_id: str,
    referring_doctor: str | None,
    created_by: str,
    test_codes: list[str],
) -> None:
    await conn.execute(
        """INSERT INTO orders (id, patient_id, centre_id, referring_doctor, created_by)
           VALUES ($1, $2, $3, $4, $5)""",
        order_id,
        patient_id,
        centre_id,
        referring_doctor,
        created_by,
    )
    await conn.executemany(
        "INSERT INTO order_tests (order_id, test_code) VALUES ($1, $2)", [(order_id, c) for c in test_codes]
    )
