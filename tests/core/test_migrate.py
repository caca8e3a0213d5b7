from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from core.db import migrate as migrate_mod
from core.db.migrate import Migration, MigrationError, load_migrations, migrate
from tests.support.services import ServiceUrls


async def test_migrations_apply_once_even_when_processes_race(urls: ServiceUrls) -> None:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    conns = [await asyncpg.connect(urls.database_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c, schema) for c in conns))
        names = [m.name for m in load_migrations()]
        assert sorted(results, key=len) == [[], [], names]  # exactly one process applied them
        assert await migrate(conns[0], schema) == []
        count = await conns[0].fetchval(f'SELECT count(*) FROM "{schema}".schema_migrations')
        assert count == len(names)
    finally:
        await conns[0].execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        for c in conns:
            await c.close()


async def test_a_migration_edited_after_it_was_applied_is_refused(
    urls: ServiceUrls, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(urls.database_url)
    try:
        await migrate(conn, schema)
        edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in load_migrations()]
        monkeypatch.setattr(migrate_mod, "load_migrations", lambda: edited)
        with pytest.raises(MigrationError, match="was changed after it was applied"):
            await migrate(conn, schema)
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


def test_migration_files_are_numbered_without_gaps() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))
