"""Fixtures: each test gets its own PostgreSQL schema (migrated) and Redis key prefix, so tests run in any
order and in parallel. Real PostgreSQL and Redis: the CI machine's, or embedded ones on a fresh clone."""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from core import audit
from core.config import Secret, Settings
from core.crypto import generate_key
from core.db.migrate import migrate
from core.db.pool import create_pool
from core.hl7 import lis
from core.storage import LocalFileStore
from core.vault import Vault
from tests.support import orphans
from tests.support.services import ServiceUrls, service_urls


@pytest.fixture(scope="session")
def urls() -> ServiceUrls:
    return service_urls()


@pytest.fixture
def schema() -> str:
    return f"t_{uuid.uuid4().hex[:16]}"


@pytest.fixture
def settings(urls: ServiceUrls, schema: str, tmp_path: Path) -> Settings:
    return Settings(
        mode="production",
        database_url=Secret(urls.database_url),
        redis_url=Secret(urls.redis_url),
        db_schema=schema,
        db_pool_min=1,
        db_pool_max=10,
        redis_prefix=f"lpt:{schema}",
        field_keys={"k1": Secret(base64.b64encode(generate_key()).decode())},
        field_key_active="k1",
        lookup_key=Secret(base64.b64encode(os.urandom(32)).decode()),
        secret_key=Secret(base64.b64encode(os.urandom(48)).decode()),
        relay_poll_ms=5,
        files_dir=tmp_path / "files",
    )


@pytest.fixture(autouse=True)
def audit_seal(settings: Settings) -> None:
    """Seal audit rows with this test's key, as every process does with its LABPULSE_SECRET_KEY."""
    assert settings.secret_key is not None
    audit.use_key(audit.seal_key(settings.secret_key.reveal()))


@pytest.fixture(autouse=True)
def fresh_lis_memory() -> None:
    """Each test has its own schema; what the HL7 path keeps a minute (centres, code mappings) is per database."""
    lis.forget_recent()


@pytest.fixture
async def migrated(settings: Settings, urls: ServiceUrls) -> AsyncIterator[str]:
    conn = await asyncpg.connect(urls.database_url)
    try:
        await migrate(conn, settings.db_schema)
    finally:
        await conn.close()
    yield settings.db_schema
    conn = await asyncpg.connect(urls.database_url)
    try:
        await conn.execute(f'DROP SCHEMA "{settings.db_schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
async def pool(migrated: str, urls: ServiceUrls) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(urls.database_url, migrated, min_size=1, max_size=10)
    yield p
    await p.close()


@pytest.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with pool.acquire() as c:
        yield c


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    assert settings.redis_url is not None
    client = aioredis.from_url(settings.redis_url.reveal())
    yield client
    keys = [k async for k in client.scan_iter(match=f"{settings.redis_prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def vault(settings: Settings) -> Vault:
    return Vault.from_settings(settings)


@pytest.fixture
def files(settings: Settings) -> LocalFileStore:
    return LocalFileStore(settings.report_files_dir)


_SESSION_STARTED = orphans.now()
# This session's own temporary directory, inherited by every process it starts: how its leftovers are told apart.
_SESSION_TMP = tempfile.mkdtemp(prefix="lps", dir="/tmp")
os.environ["TMPDIR"] = _SESSION_TMP
tempfile.tempdir = None  # recomputed from TMPDIR
atexit.register(shutil.rmtree, _SESSION_TMP, True)  # after the last cleanup that may still write there


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Leave the machine as it was found: servers a test started and lost track of are stopped (and named)."""
    left = orphans.reap(_SESSION_STARTED, _SESSION_TMP + "/")
    shutil.rmtree(_SESSION_TMP, ignore_errors=True)
    if left:
        print(f"\nstopped {len(left)} server(s) the tests had left behind:", *left, sep="\n  ")  # noqa: T201
