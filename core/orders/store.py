"""The only SQL for orders, the tests they carry, and the test codes other systems use for ours (the catalogue and
the centres are ``core.booking.catalogue``'s)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from core.booking import catalogue
from core.db.owned import PatientRows
from core.db.statement import Statement

PATIENT_ROWS = PatientRows("orders")  # a merge of two patients moves their orders


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


async def test_codes(conn: asyncpg.Connection, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Our catalogue code for each (coding system, code) another system sends: LOINC and local codes through
    ``test_codes``; a code that is itself one of our catalogue codes, in any system."""
    if not pairs:
        return {}
    rows = await conn.fetch(
        f"""SELECT k.system, k.code, coalesce(tc.test_code, c.code) AS test_code
           FROM unnest($1::text[], $2::text[]) AS k(system, code)
           LEFT JOIN test_codes tc ON tc.system = k.system AND tc.code = k.code
           LEFT JOIN ({catalogue.tests_sql()}) c ON c.code = upper(k.code)
           WHERE coalesce(tc.test_code, c.code) IS NOT NULL""",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    return {(r["system"], r["code"]): r["test_code"] for r in rows}


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    id: str
    patient_id: str
    centre_id: str
    status: str


async def by_placer(conn: asyncpg.Connection, source: str, placer: str, *, lock: bool = False) -> PlacedOrder | None:
    row = await conn.fetchrow(
        """SELECT id::text, patient_id::text, centre_id, status FROM orders WHERE source = $1 AND placer_number = $2"""
        + (" FOR UPDATE" if lock else ""),
        source,
        placer,
    )
    return PlacedOrder(**dict(row)) if row else None


async def by_line(conn: asyncpg.Connection, source: str, placer_line: str, *, lock: bool = False) -> PlacedOrder | None:
    """The order holding a line (ORC-2) from this source."""
    row = await conn.fetchrow(
        """SELECT o.id::text, o.patient_id::text, o.centre_id, o.status FROM orders o
           JOIN order_tests ot ON ot.order_id = o.id WHERE o.source = $1 AND ot.placer_line = $2 LIMIT 1"""
        + (" FOR UPDATE OF o" if lock else ""),
        source,
        placer_line,
    )
    return PlacedOrder(**dict(row)) if row else None


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order from another system, before it is stored."""

    id: str
    patient_id: str
    centre_id: str
    source: str
    placer_number: str
    doctor_id: str | None
    referring_doctor: str | None
    collect_at: datetime | None
    created_by: str


_INSERT_PLACED = """INSERT INTO orders (id, patient_id, centre_id, source, placer_number, doctor_id, referring_doctor,
                                         collect_at, created_by)"""


_PLACED_TYPES = ("uuid", "uuid", "text", "text", "text", "uuid", "text", "timestamptz", "text")


def _placed_values(new: NewOrder) -> tuple[object, ...]:
    return (new.id, new.patient_id, new.centre_id, new.source, new.placer_number, new.doctor_id, new.referring_doctor,
            new.collect_at, new.created_by)  # fmt: skip


async def insert_placed(conn: asyncpg.Connection, new: NewOrder) -> None:
    await conn.execute(
        f"{_INSERT_PLACED} VALUES ({', '.join(f'${n}::{t}' for n, t in enumerate(_PLACED_TYPES, start=1))})",
        *_placed_values(new),
    )


def stage_place_if_new(stmt: Statement, new: NewOrder, lines: dict[str, str]) -> str:
    """Stage a new order from another system with its lines (our test code -> placer line) as CTE ``placed``
    (``RETURNING id``): nothing is written, and no row returned, when this sender's requisition is here already."""
    b = stmt.bind
    values = ", ".join(f"{b(v)}::{t}" for v, t in zip(_placed_values(new), _PLACED_TYPES, strict=True))
    stmt.cte(
        "placed",
        f"""{_INSERT_PLACED} VALUES ({values})
            ON CONFLICT (source, placer_number) WHERE placer_number IS NOT NULL DO NOTHING RETURNING id""",
    )
    stmt.cte(
        "placed_lines",
        f"""INSERT INTO order_tests (order_id, test_code, placer_line)
            SELECT placed.id, l.test_code, l.placer_line FROM placed,
                   unnest({b(list(lines))}::text[], {b(list(lines.values()))}::text[]) AS l(test_code, placer_line)
            RETURNING order_id""",
    )
    return "placed"


async def run_placed(conn: asyncpg.Connection, stmt: Statement) -> bool:
    """Run a statement staged with ``stage_place_if_new``: True when the order was new and is placed."""
    return bool(await conn.fetchval(stmt.sql("SELECT EXISTS (SELECT 1 FROM placed)"), *stmt.args))


async def upsert_lines(conn: asyncpg.Connection, order_id: str, lines: list[tuple[str, str]]) -> None:
    """(test code, placer line) pairs on an order; a cancelled line ordered again is ordered again."""
    await conn.executemany(
        """INSERT INTO order_tests (order_id, test_code, placer_line) VALUES ($1, $2, $3)
           ON CONFLICT (order_id, test_code) DO UPDATE SET placer_line = EXCLUDED.placer_line, status = 'ordered'""",
        [(order_id, code, line) for code, line in lines],
    )


@dataclass(frozen=True, slots=True)
class Line:
    test_code: str
    placer_line: str | None
    status: str
    sample_type: str
    name: str = ""


async def lines(conn: asyncpg.Connection, order_id: str) -> list[Line]:
    rows = await conn.fetch(
        f"""SELECT ot.test_code, ot.placer_line, ot.status, c.sample_type, c.name FROM order_tests ot
            JOIN ({catalogue.tests_sql()}) c ON c.code = ot.test_code WHERE ot.order_id = $1 ORDER BY ot.test_code""",
        order_id,
    )
    return [Line(**dict(r)) for r in rows]


async def set_line_status(conn: asyncpg.Connection, order_id: str, placer_line: str, status: str) -> int:
    done = await conn.execute(
        "UPDATE order_tests SET status = $3 WHERE order_id = $1 AND placer_line = $2 AND status <> $3",
        order_id,
        placer_line,
        status,
    )
    return int(done.split()[-1])


async def change_line_test(conn: asyncpg.Connection, order_id: str, placer_line: str, test_code: str) -> None:
    await conn.execute(
        "DELETE FROM order_tests WHERE order_id = $1 AND placer_line = $2 AND test_code <> $3",
        order_id,
        placer_line,
        test_code,
    )
    await upsert_lines(conn, order_id, [(test_code, placer_line)])


async def set_status(conn: asyncpg.Connection, order_id: str, status: str) -> None:
    await conn.execute("UPDATE orders SET status = $2 WHERE id = $1", order_id, status)


async def set_doctor(conn: asyncpg.Connection, order_id: str, doctor_id: str | None, name: str | None) -> None:
    await conn.execute(
        "UPDATE orders SET doctor_id = coalesce($2, doctor_id), referring_doctor = coalesce($3, referring_doctor) "
        "WHERE id = $1",
        order_id,
        doctor_id,
        name,
    )


async def get(conn: asyncpg.Connection, order_id: str) -> PlacedOrder | None:
    row = await conn.fetchrow(
        "SELECT id::text, patient_id::text, centre_id, status FROM orders WHERE id = $1", order_id
    )
    return PlacedOrder(**dict(row)) if row else None


# --- read/write paths moved here from other modules ---


def orders_sql() -> str:
    """A subquery of the order columns other stores may read (a patient's export, a report's placer number), to
    JOIN in one statement while only this module names the table. PostgreSQL flattens it into the join."""
    return "SELECT id, patient_id, centre_id, placer_number, status, referring_doctor, created_at FROM orders"


def order_tests_sql() -> str:
    """A subquery of each order's tests (``order_id``, ``test_code``, ``status``), to JOIN like ``orders_sql``."""
    return "SELECT order_id, test_code, status FROM order_tests"


def routing_sql() -> str:
    """A subquery of where each order came from and who ordered it (``id``, ``source``, ``doctor_id``), to JOIN
    like ``orders_sql``."""
    return "SELECT id, source, doctor_id FROM orders"
