"""Results: storing them (the analyzer's and corrections by hand), the flag and criticality each earns against its
reference range (``core/ranges.py``) when the analyzer sent none, whether a sample's results are complete, and
reading them back (a sample's latest, a patient's previous values). The only SQL for ``results``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from core import ranges
from core.booking import catalogue
from core.db.statement import Statement
from core.orders import store as orders_store
from core.samples import store as samples_store

# The analytes each tube's order needs for its sample type: the tube, its order's tests and the catalogue are read
# through their owners' subqueries (PostgreSQL flattens them, so the plan is that of the plain join).
_NEEDED = f"""({samples_store.view_sql()}) s
              JOIN ({orders_store.order_tests_sql()}) ot ON ot.order_id = s.order_id
              JOIN ({catalogue.tests_sql()}) tc ON tc.code = ot.test_code AND tc.sample_type = s.sample_type
              JOIN ({ranges.analytes_sql()}) a ON a.test_code = tc.code"""


def judged(
    number: Decimal | None, comparator: str | None, rng: ranges.Range | None, sent_flag: str | None = None
) -> tuple[str | None, bool]:
    """A value's flag (the analyzer's when it sent one, else computed against ``rng``) and whether it is critical:
    the one rule for results from an analyzer and for corrections by hand."""
    flag = sent_flag
    if flag is None and number is not None and rng is not None:
        flag = ranges.flag_for(number, comparator, rng)
    return flag, flag in ("LL", "HH") or ranges.is_critical(number, rng)


def complete_samples_sql(stmt: Statement, sample_ids: list[str], new_results_cte: str) -> str:
    """A query for the statement that stores results: which of ``sample_ids`` have, counting the rows of
    ``new_results_cte`` (not yet visible to the statement's own snapshot), every result their order needs. Only a
    tube that has rows in ``new_results_cte`` is checked: a repeated message, stored before, completes nothing.

    One index probe per needed analyte (LATERAL … LIMIT 1): as a correlated ``NOT EXISTS`` the planner may choose
    to hash the whole results table once per statement instead, which grows with the table."""
    return f"""SELECT need.sample_id::text
               FROM (SELECT s.id AS sample_id, a.code FROM {_NEEDED}
                     WHERE s.id = ANY({stmt.bind(sample_ids)}::uuid[])
                       AND s.id IN (SELECT n.sample_id FROM {new_results_cte} n)) AS need
               LEFT JOIN LATERAL (SELECT true AS found FROM results r
                                  WHERE r.sample_id = need.sample_id AND r.code = need.code
                                    AND r.status IN ('final', 'corrected') LIMIT 1) AS stored ON true
               LEFT JOIN LATERAL (SELECT true AS found FROM {new_results_cte} n
                                  WHERE n.sample_id = need.sample_id AND n.code = need.code
                                    AND n.status IN ('final', 'corrected') LIMIT 1) AS fresh ON true
               GROUP BY need.sample_id
               HAVING count(*) FILTER (WHERE stored.found IS NULL AND fresh.found IS NULL) = 0"""


async def complete(conn: asyncpg.Connection, sample_id: str) -> bool:
    """Every analyte of every test ordered on this tube's order (for its sample type) has a final or corrected
    result: the sample may move to 'completed'. One query."""
    row = await conn.fetchrow(
        f"""SELECT count(*) AS analytes,
                  count(*) FILTER (WHERE NOT EXISTS (
                      SELECT 1 FROM results r WHERE r.sample_id = s.id AND r.code = a.code
                        AND r.status IN ('final', 'corrected'))) AS missing
           FROM {_NEEDED}
           WHERE s.id = $1""",
        sample_id,
    )
    return bool(row and row["analytes"] > 0 and row["missing"] == 0)


@dataclass(frozen=True, slots=True)
class Released:
    """A final or corrected result of a reported sample, with the time its sample was reported."""

    name: str
    value_num: Decimal | None
    comparator: str | None
    value_text: str | None
    value_code: str | None
    unit: str | None
    flag: str | None
    reference_range: str | None
    reported_at: datetime


async def released_since(conn: asyncpg.Connection, patient_id: str, since: datetime) -> list[Released]:
    """The latest final or corrected result of each test of the patient's samples reported after ``since``."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (r.sample_id, r.code) r.name, r.value_num, r.comparator, r.value_text, r.value_code,
                   r.unit, r.flag, r.reference_range, s.updated_at
            FROM results r JOIN ({samples_store.reported_sql("$1", "$2")}) s ON s.id = r.sample_id
            WHERE r.status IN ('final', 'corrected')
            ORDER BY r.sample_id, r.code, r.id DESC""",
        patient_id,
        since,
    )
    return [Released(r["name"], r["value_num"], r["comparator"], r["value_text"], r["value_code"], r["unit"],
                     r["flag"], r["reference_range"], r["updated_at"]) for r in rows]  # fmt: skip


async def corrected_after(conn: asyncpg.Connection, sample_id: str, at: datetime) -> bool:
    """A result of the tube was corrected after ``at`` (its report's last version)."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM results WHERE sample_id = $1 AND status = 'corrected' AND created_at > $2)",
        sample_id,
        at,
    )
    return found


@dataclass(frozen=True, slots=True)
class Latest:
    """The latest result of one code on a tube, named as the analyte table names it (else as the analyzer did)."""

    code: str
    name: str
    value_num: Decimal | None
    comparator: str | None
    value_text: str | None
    value_code: str | None
    unit: str | None
    reference_range: str | None
    flag: str | None


async def latest_of_sample(conn: asyncpg.Connection, sample_id: str) -> list[Latest]:
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (r.code) r.code, coalesce(a.name, r.name) AS name, r.value_num, r.comparator,
                  r.value_text, r.value_code, r.unit, r.reference_range, r.flag
           FROM results r LEFT JOIN ({ranges.analytes_sql()}) a ON a.code = r.code
           WHERE r.sample_id = $1 ORDER BY r.code, r.id DESC""",
        sample_id,
    )
    return [Latest(**dict(r)) for r in rows]


_RESULT_COLUMNS = (
    ("flag_source", "text"), ("critical", "boolean"), ("set_id", "text"), ("code", "text"), ("name", "text"),
    ("code_system", "text"), ("value_kind", "text"), ("value_num", "numeric"), ("comparator", "text"),
    ("value_text", "text"), ("value_code", "text"), ("unit", "text"), ("reference_range", "text"), ("flag", "text"),
    ("status", "text"), ("observed_at", "text"), ("notes", "text[]"),
)  # fmt: skip
_RESULT_NAMES = ", ".join(name for name, _ in _RESULT_COLUMNS)
_RESULT_RECORD = ", ".join(f"{name} {kind}" for name, kind in _RESULT_COLUMNS)


def stage_insert(stmt: Statement, message_cte: str, rows: list[dict[str, object]]) -> None:
    """Stage as CTE ``stored_results`` the result rows (``hl7.judging.result_rows``) whose message ``message_cte``
    returns (a repeated message stores none), in the order given: a later message's result gets the later id, as
    if the messages had come one by one. Returns ``id, sample_id, code, status, critical``."""
    for n, row in enumerate(rows):
        row["n"] = n
    picked = ", ".join(f"r.{name}" for name, _ in _RESULT_COLUMNS)
    stmt.cte(
        "stored_results",
        f"""INSERT INTO results (sample_id, message_id, {_RESULT_NAMES})
            SELECT r.sample_id, m.id, {picked}
            FROM jsonb_to_recordset({stmt.bind(json.dumps(rows))}::jsonb)
                 AS r(n integer, message_id uuid, sample_id uuid, {_RESULT_RECORD})
            JOIN {message_cte} AS m ON m.id = r.message_id
            ORDER BY r.n
            RETURNING id, sample_id, code, status, critical""",
    )


async def ready_to_complete(conn: asyncpg.Connection, *, limit: int) -> list[tuple[str, str]]:
    """Tubes in the lab (id, state) that already have every result their order needs: the case of two messages
    for one tube stored at the same moment, each judged incomplete from its own snapshot."""
    needed = f"""SELECT 1 FROM ({orders_store.order_tests_sql()}) ot
                 JOIN ({catalogue.tests_sql()}) tc ON tc.code = ot.test_code AND tc.sample_type = s.sample_type
                 JOIN ({ranges.analytes_sql()}) a ON a.test_code = tc.code WHERE ot.order_id = s.order_id"""
    rows = await conn.fetch(
        f"""SELECT s.id::text, s.state FROM ({samples_store.view_sql()}) s
            WHERE s.state IN ('received_at_lab', 'processing')
              AND EXISTS (SELECT 1 FROM results r WHERE r.sample_id = s.id)
              AND EXISTS ({needed})
              AND NOT EXISTS ({needed} AND NOT EXISTS (
                  SELECT 1 FROM results r WHERE r.sample_id = s.id AND r.code = a.code
                    AND r.status IN ('final', 'corrected')))
            LIMIT $1""",
        limit,
    )
    return [(r["id"], r["state"]) for r in rows]


def view_sql() -> str:
    """A subquery of the result columns other modules may read (a critical value's message), to JOIN in their
    statement while only this module names the table."""
    return "SELECT id, sample_id, code, name, value_num, comparator, value_text, unit, flag, status FROM results"


async def analytes_with_ranges(conn: asyncpg.Connection, barcode: str) -> list[tuple[str, str, str, float, float]]:
    """(code, name, unit, low, high) of each analyte the tube's order needs, with an adult interval to invent
    values in (the demo analyzer): the range's bounds, or made up around the one bound there is."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (a.code) a.code, a.name, a.unit,
                   coalesce(r.low, r.high * 0.5, 1) AS low, coalesce(r.high, r.low * 1.6, 10) AS high
            FROM {_NEEDED}
            LEFT JOIN ({ranges.bands_sql()}) r ON r.analyte_code = a.code
            WHERE s.barcode = $1 ORDER BY a.code, r.age_min_years NULLS LAST""",
        barcode,
    )
    return [(r["code"], r["name"], r["unit"], float(r["low"]), float(r["high"])) for r in rows]


@dataclass(frozen=True, slots=True)
class Previous:
    """The patient's last earlier value of an analyte, from another tube."""

    value_num: Decimal
    unit: str | None
    collected_at: datetime
    barcode: str


async def previous_values(
    conn: asyncpg.Connection, patient_id: str, sample_id: str, before: datetime, codes: list[str]
) -> dict[str, Previous]:
    """For each code, the patient's latest final or corrected number from a tube collected before ``before``."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (r.code) r.code, r.value_num, r.unit, s.collected_at, s.barcode
            FROM results r JOIN ({samples_store.view_sql()}) s ON s.id = r.sample_id
            WHERE s.patient_id = $1 AND s.id <> $2 AND s.collected_at < $3 AND r.code = ANY($4::text[])
              AND r.status IN ('final', 'corrected') AND r.value_num IS NOT NULL
            ORDER BY r.code, s.collected_at DESC, r.id DESC""",
        patient_id,
        sample_id,
        before,
        codes,
    )
    return {r["code"]: Previous(r["value_num"], r["unit"], r["collected_at"], r["barcode"]) for r in rows}


@dataclass(frozen=True, slots=True)
class Correction:
    """A result a pathologist corrects by hand: the new number, judged like an analyzer's, and why."""

    sample_id: str
    code: str
    name: str
    value: Decimal
    unit: str | None
    reference_range: str | None
    flag: str | None
    critical: bool
    reason: str
    corrected_by: str


def stage_correction(stmt: Statement, c: Correction) -> None:
    """Stage the corrected result as CTE ``stored_results`` (``id, sample_id, code, status, critical``), so the same
    statement can raise its alert and write its audit row; the reason is kept in the result's notes."""
    b = stmt.bind
    stmt.cte(
        "stored_results",
        f"""INSERT INTO results (sample_id, code, name, value_kind, value_num, unit, reference_range, flag, status,
                                 notes, flag_source, critical, corrected_by)
            VALUES ({b(c.sample_id)}::uuid, {b(c.code)}, {b(c.name)}, 'numeric', {b(c.value)}::numeric, {b(c.unit)},
                    {b(c.reference_range)}, {b(c.flag)}, 'corrected', ARRAY[{b("Corrected: " + c.reason)}],
                    'computed', {b(c.critical)}, {b(c.corrected_by)})
            RETURNING id, sample_id, code, status, critical""",
    )
