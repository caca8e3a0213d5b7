"""``atomic``: its own transaction when the caller holds none (rolled back on error), the caller's when it holds
one (no savepoint: an error rolls back the caller's whole unit)."""

from __future__ import annotations

import asyncpg
import pytest

from core.db.tx import atomic


async def test_atomic_alone_and_inside(conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE TEMP TABLE t (n int)")
    with pytest.raises(RuntimeError):
        async with atomic(conn):
            assert conn.is_in_transaction()
            await conn.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("undo")
    assert await conn.fetchval("SELECT count(*) FROM t") == 0
    with pytest.raises(RuntimeError):
        async with conn.transaction():
            await conn.execute("INSERT INTO t VALUES (2)")
            async with atomic(conn):  # the caller's transaction: nothing nested to release or roll back alone
                await conn.execute("INSERT INTO t VALUES (3)")
            assert await conn.fetchval("SELECT count(*) FROM t") == 2
            raise RuntimeError("undo both")
    assert await conn.fetchval("SELECT count(*) FROM t") == 0
