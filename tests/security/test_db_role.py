"""Issue 16, item 9 (first part): the application can run as a database role that owns nothing. Migrations run as
the owner and grant it row access only; as that role, everyday work (a scan with its audit row and event, chained at
commit) goes on, while disabling a trigger, altering a table, writing the audit chain's tables or rewriting the
audit log is refused by PostgreSQL itself."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from core import audit
from core.config import Settings
from core.db.migrate import migrate
from core.db.pool import connect
from core.samples import service as samples
from core.samples.model import SampleState
from core.vault import Vault
from tests.support.factories import PHLEB, make_sample
from tests.support.services import ServiceUrls


def _as(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{role}@{host}", parts.path, parts.query, parts.fragment))


@pytest.fixture
async def app_conn(urls: ServiceUrls, settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection as a fresh login role that owns nothing, on a schema migrated by the owner."""
    role = f"lpa_{uuid.uuid4().hex[:12]}"
    owner = await asyncpg.connect(urls.database_url)
    await owner.execute(f'CREATE ROLE "{role}" LOGIN')
    await migrate(owner, settings.db_schema, app_role=role)
    conn = await connect(_as(urls.database_url, role), settings.db_schema)
    try:
        yield conn
    finally:
        await conn.close()
        await owner.execute(f'DROP SCHEMA "{settings.db_schema}" CASCADE')
        await owner.execute(f'DROP OWNED BY "{role}"')
        await owner.execute(f'DROP ROLE "{role}"')
        await owner.close()


async def test_everyday_work_goes_on_as_a_role_that_owns_nothing(app_conn: asyncpg.Connection, vault: Vault) -> None:
    assert await app_conn.fetchval("SELECT count(*) FROM pg_tables WHERE tableowner = current_user") == 0
    sample = await make_sample(app_conn, vault)
    await samples.transition(app_conn, barcode=sample.barcode, to_state=SampleState.IN_TRANSIT, actor=PHLEB,
                             centre_id="CC-1")  # fmt: skip
    report = await audit.verify(app_conn)
    assert report.ok and report.rows >= 3  # chained at commit by the owner's trigger function


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE consult_notes DISABLE TRIGGER ALL",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
        "ALTER TABLE audit_log ADD COLUMN forged text",
        "UPDATE audit_head SET last_seq = last_seq WHERE chain = 0",
        "INSERT INTO audit_chain (chain, seq, audit_id, prev_hash, hash) VALUES (0, 999, 999, '\\x00', '\\x00')",
        "UPDATE audit_log SET action = 'nothing happened'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "DROP TRIGGER consult_notes_signed_immutable ON consult_notes",
    ],
)
async def test_what_would_undo_the_guarantees_is_refused_to_it(
    app_conn: asyncpg.Connection, vault: Vault, statement: str
) -> None:
    await make_sample(app_conn, vault)  # some audit rows to rewrite
    with pytest.raises(asyncpg.PostgresError) as refused:
        await app_conn.execute(statement)
    assert isinstance(refused.value, asyncpg.InsufficientPrivilegeError | asyncpg.RaiseError), refused.value
