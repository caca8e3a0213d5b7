"""One statement from staged CTEs: numbering, atomicity, and a name staged twice."""

from __future__ import annotations

import asyncpg
import pytest

from core.db.statement import Statement


def test_placeholders_are_numbered_across_parts() -> None:
    stmt = Statement()
    stmt.cte("a", f"SELECT {stmt.bind(1)}::int AS x")
    stmt.cte("b", f"SELECT {stmt.bind(2)}::int AS y, {stmt.bind('z')}::text AS z")
    assert stmt.args == [1, 2, "z"]
    assert (
        stmt.sql("SELECT 1") == "WITH a AS (SELECT $1::int AS x),\nb AS (SELECT $2::int AS y, $3::text AS z)\nSELECT 1"
    )


def test_a_name_staged_twice_is_refused() -> None:
    stmt = Statement()
    stmt.cte("audit", "SELECT 1")
    with pytest.raises(ValueError, match="'audit' is staged twice"):
        stmt.cte("audit", "SELECT 2")


async def test_every_staged_write_runs_even_when_the_final_select_ignores_it(conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE TEMP TABLE staged (v int)")
    stmt = Statement()
    stmt.cte("one", f"INSERT INTO staged VALUES ({stmt.bind(1)}::int)")
    stmt.cte("two", f"INSERT INTO staged VALUES ({stmt.bind(2)}::int) RETURNING v")
    assert await conn.fetchval(stmt.sql("SELECT v FROM two"), *stmt.args) == 2
    assert await conn.fetchval("SELECT array_agg(v ORDER BY v) FROM staged") == [1, 2]


async def test_a_failing_part_undoes_the_others(conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE TEMP TABLE staged (v int CHECK (v > 0))")
    stmt = Statement()
    stmt.cte("ok", f"INSERT INTO staged VALUES ({stmt.bind(1)}::int)")
    stmt.cte("bad", f"INSERT INTO staged VALUES ({stmt.bind(-1)}::int)")
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(stmt.sql("SELECT 1"), *stmt.args)
    assert await conn.fetchval("SELECT count(*) FROM staged") == 0
