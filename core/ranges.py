"""Analytes and their reference ranges (issue 19's administration): what each test measures, the interval for an
analyte by sex and age band with its critical limits, each analyte's delta-check limit, the flag a value earns
against an interval, and whether it is critical. The only SQL for ``analytes`` and ``reference_ranges``; others
read them through ``analytes_sql()`` and ``bands_sql()``. Checks on what an administrator types live in
``core/lab_setup.py``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import asyncpg


def analytes_sql() -> str:
    """A subquery of the analytes (``code, test_code, name, unit``) for another store's statement."""
    return "SELECT code, test_code, name, unit FROM analytes"


def bands_sql() -> str:
    """A subquery of the reference intervals (``analyte_code, sex, age_min_years, age_max_years, low, high``)."""
    return "SELECT analyte_code, sex, age_min_years, age_max_years, low, high FROM reference_ranges"


@dataclass(frozen=True, slots=True)
class Range:
    low: Decimal | None
    high: Decimal | None
    critical_low: Decimal | None
    critical_high: Decimal | None

    def text(self) -> str | None:
        if self.low is not None and self.high is not None:
            return f"{self.low}-{self.high}"
        if self.high is not None:
            return f"<{self.high}"
        if self.low is not None:
            return f">{self.low}"
        return None


def age_years(born: date | None, on: date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


_RANGE_SQL = """SELECT analyte_code, sex, age_min_years, age_max_years, low, high, critical_low, critical_high
                FROM reference_ranges"""


def _pick(rows: list[asyncpg.Record], codes: list[str], sex: str, age: int | None) -> dict[str, Range]:
    """The most specific interval per analyte: the person's sex before 'any'; their age band (adult when unknown)."""
    years = age if age is not None else 30
    best: dict[str, tuple[bool, Range]] = {}
    wanted = set(codes)
    for r in rows:
        code = r["analyte_code"]
        if code not in wanted or r["sex"] not in (sex, "any") or not r["age_min_years"] <= years < r["age_max_years"]:
            continue
        specific = r["sex"] != "any"
        if code not in best or (specific and not best[code][0]):
            best[code] = (specific, Range(r["low"], r["high"], r["critical_low"], r["critical_high"]))
    return {code: rng for code, (_, rng) in best.items()}


async def ranges_for(conn: asyncpg.Connection, codes: list[str], sex: str, age: int | None) -> dict[str, Range]:
    rows = await conn.fetch(_RANGE_SQL + " WHERE analyte_code = ANY($1::text[])", codes)
    return _pick(list(rows), codes, sex, age)


class RangeCache:
    """The whole (small) range table, read at most once a minute by a long-running process such as the MLLP
    listener: an edited range applies within a minute, and no message pays a query for it."""

    def __init__(self, ttl_seconds: float = 60.0) -> None:
        self._ttl = ttl_seconds
        self._rows: dict[str, list[asyncpg.Record]] = {}  # by analyte, in table order
        self._loaded = -1e9

    async def ranges_for(
        self, conn: asyncpg.Connection, codes: list[str], sex: str, age: int | None
    ) -> dict[str, Range]:
        now = time.monotonic()
        if now - self._loaded > self._ttl:
            by_code: dict[str, list[asyncpg.Record]] = {}
            for r in await conn.fetch(_RANGE_SQL):
                by_code.setdefault(r["analyte_code"], []).append(r)
            self._rows, self._loaded = by_code, now
        rows = [r for code in dict.fromkeys(codes) for r in self._rows.get(code, ())]
        return _pick(rows, codes, sex, age)


def flag_for(value: Decimal, comparator: str | None, rng: Range) -> str:
    """L/H, or LL/HH beyond the critical limits, or N. A censored value ('<0.1') is judged by its bound."""
    if rng.critical_low is not None and value < rng.critical_low and comparator in (None, "<", "<="):
        return "LL"
    if rng.critical_high is not None and value > rng.critical_high and comparator in (None, ">", ">="):
        return "HH"
    if rng.low is not None and value < rng.low and comparator in (None, "<", "<="):
        return "L"
    if rng.high is not None and value > rng.high and comparator in (None, ">", ">="):
        return "H"
    return "N"


def is_critical(value: Decimal | None, rng: Range | None) -> bool:
    if value is None or rng is None:
        return False
    return (rng.critical_low is not None and value < rng.critical_low) or (
        rng.critical_high is not None and value > rng.critical_high
    )


async def delta_limits(conn: asyncpg.Connection, codes: list[str]) -> dict[str, Decimal]:
    """Each analyte's delta-check limit (per cent), for those that have one."""
    rows = await conn.fetch(
        "SELECT code, delta_percent FROM analytes WHERE code = ANY($1::text[]) AND delta_percent IS NOT NULL", codes
    )
    return {r["code"]: r["delta_percent"] for r in rows}


@dataclass(frozen=True, slots=True)
class RangeRow:
    """One reference interval as the administration page lists it."""

    id: int
    analyte_code: str
    name: str
    unit: str
    sex: str
    age_min_years: int
    age_max_years: int
    low: Decimal | None
    high: Decimal | None
    critical_low: Decimal | None
    critical_high: Decimal | None
    delta_percent: Decimal | None


_ROW_SQL = """SELECT r.id, r.analyte_code, a.name, a.unit, r.sex, r.age_min_years, r.age_max_years, r.low, r.high,
                     r.critical_low, r.critical_high, a.delta_percent
              FROM reference_ranges r JOIN analytes a ON a.code = r.analyte_code"""


async def range_rows(conn: asyncpg.Connection) -> list[RangeRow]:
    rows = await conn.fetch(f"{_ROW_SQL} ORDER BY a.test_code, a.name, r.sex, r.age_min_years")
    return [RangeRow(**dict(r)) for r in rows]


async def set_range(
    conn: asyncpg.Connection,
    range_id: int,
    *,
    low: Decimal | None,
    high: Decimal | None,
    critical_low: Decimal | None,
    critical_high: Decimal | None,
) -> str | None:
    """Change one interval; its analyte's code, or None when there is no such interval."""
    code: str | None = await conn.fetchval(
        """UPDATE reference_ranges SET low = $2, high = $3, critical_low = $4, critical_high = $5 WHERE id = $1
           RETURNING analyte_code""",
        range_id,
        low,
        high,
        critical_low,
        critical_high,
    )
    return code


async def set_delta(conn: asyncpg.Connection, analyte_code: str, delta_percent: Decimal | None) -> None:
    await conn.execute("UPDATE analytes SET delta_percent = $2 WHERE code = $1", analyte_code, delta_percent)


@dataclass(frozen=True, slots=True)
class Analyte:
    """One thing a test measures (its LOINC code), as the administration page lists it."""

    code: str
    test_code: str
    name: str
    unit: str
    delta_percent: Decimal | None
    bands: int


async def analytes(conn: asyncpg.Connection) -> list[Analyte]:
    rows = await conn.fetch(
        """SELECT a.code, a.test_code, a.name, a.unit, a.delta_percent,
                  (SELECT count(*) FROM reference_ranges r WHERE r.analyte_code = a.code)::int AS bands
           FROM analytes a ORDER BY a.test_code, a.name"""
    )
    return [Analyte(**dict(r)) for r in rows]


async def put_analyte(conn: asyncpg.Connection, code: str, test_code: str, name: str, unit: str) -> bool:
    """Add an analyte, or rename it and change its unit (its test stays); True when it was new."""
    added: bool = await conn.fetchval(
        """INSERT INTO analytes (code, test_code, name, unit) VALUES ($1, $2, $3, $4)
           ON CONFLICT (code) DO UPDATE SET name = excluded.name, unit = excluded.unit
           RETURNING xmax = 0""",
        code,
        test_code,
        name,
        unit,
    )
    return added


async def analyte_names(conn: asyncpg.Connection, codes: list[str]) -> dict[str, dict[str, str]]:
    """Each analyte's name in the languages it has one in but English (``analytes.names``), by code."""
    rows = await conn.fetch("SELECT code, names FROM analytes WHERE code = ANY($1::text[])", codes)
    return {r["code"]: dict(r["names"]) for r in rows}


async def analyte_test(conn: asyncpg.Connection, code: str) -> str | None:
    """The test an analyte belongs to, or None when there is no such analyte."""
    test: str | None = await conn.fetchval("SELECT test_code FROM analytes WHERE code = $1", code)
    return test


@dataclass(frozen=True, slots=True)
class Band:
    """Who an interval is for: an analyte, a sex ('any', 'female', 'male') and an age band [min, max) in years."""

    analyte_code: str
    sex: str
    age_min_years: int
    age_max_years: int


async def lock_bands(conn: asyncpg.Connection, analyte_code: str) -> None:
    """Until the transaction ends, nobody else adds an interval for this analyte (the overlap check holds)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('reference_ranges:' || $1))", analyte_code)


async def overlapping(conn: asyncpg.Connection, band: Band) -> RangeRow | None:
    """An interval of the same analyte and sex whose age band overlaps this one's (two would make a pick arbitrary)."""
    row = await conn.fetchrow(
        f"""{_ROW_SQL} WHERE r.analyte_code = $1 AND r.sex = $2 AND r.age_min_years < $4 AND r.age_max_years > $3
            ORDER BY r.age_min_years LIMIT 1""",
        band.analyte_code,
        band.sex,
        band.age_min_years,
        band.age_max_years,
    )
    return RangeRow(**dict(row)) if row else None


async def add_band(conn: asyncpg.Connection, band: Band) -> int:
    """A new interval with no limits yet (they are set as for any other); its id."""
    range_id: int = await conn.fetchval(
        """INSERT INTO reference_ranges (analyte_code, sex, age_min_years, age_max_years) VALUES ($1, $2, $3, $4)
           RETURNING id""",
        band.analyte_code,
        band.sex,
        band.age_min_years,
        band.age_max_years,
    )
    return range_id


async def remove_band(conn: asyncpg.Connection, range_id: int) -> str | None:
    """Remove an interval; its analyte's code, or None when there is no such interval."""
    code: str | None = await conn.fetchval(
        "DELETE FROM reference_ranges WHERE id = $1 RETURNING analyte_code", range_id
    )
    return code
