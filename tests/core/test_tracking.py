"""The patient read model under load: many snapshots beside other audited work never fail to serialize."""

from __future__ import annotations

import asyncio

import asyncpg

from core import audit, tracking
from core.vault import Vault
from tests.support.factories import SYSTEM, make_patient, make_sample

PHONE = "+919877700001"


async def test_concurrent_snapshots_and_audit_writes_all_succeed(pool: asyncpg.Pool, vault: Vault) -> None:
    async with pool.acquire() as conn:
        p = await make_patient(conn, vault, phone=PHONE)
        await make_sample(conn, vault, patient=p)
    lookup = vault.lookup.digest("phone", PHONE).hex()

    async def snap() -> int:
        async with pool.acquire() as conn:
            return len((await tracking.snapshot(conn, lookup, p.id)).samples)

    async def write() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await audit.append(conn, actor=SYSTEM, action="load", entity_type="test")

    for _ in range(5):
        results = await asyncio.gather(*(snap() if i % 2 else write() for i in range(20)), return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
    async with pool.acquire() as conn:
        assert (await audit.verify(conn)).ok
