"""One consent record per person: only the changed fields are written, so changes at the same moment all stand;
every change is audited with the channel it came from."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from core import consent


async def test_concurrent_changes_all_stand(pool: asyncpg.Pool) -> None:
    async def change(**fields: bool | str) -> None:
        async with pool.acquire() as conn:
            await consent.update(conn, "ab" * 32, via="sms", **fields)

    await asyncio.gather(change(reminders=False), change(language="hi"), change(reports=False))
    async with pool.acquire() as conn:
        assert await consent.get(conn, "ab" * 32) == consent.Consent(reminders=False, reports=False, language="hi")
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'consent.update'") == 3
        with pytest.raises(ValueError, match="consent fields"):
            await consent.update(conn, "ab" * 32, via="sms", everything=False)
