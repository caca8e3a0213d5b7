"""Issue 16, item 9: the application can run as a database role that owns nothing. Migrations run as
the owner and grant it row access only; as that role, everyday work (a scan with its audit row and event, chained at
commit) goes on, while disabling a trigger, altering a table, writing the audit chain's tables or rewriting the
audit log is refused by PostgreSQL itself; and an audit row forged with the database's credentials alone fails
`audit verify`, since only the application's key (outside the database) makes a valid seal."""

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
from tests.support.factories import PHLEB, TECH, make_sample
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


@pytest.mark.parametrize(("seal", "problem"), [(None, "no seal"), (b"\x00" * 32, "does not match")])
async def test_an_audit_row_forged_with_the_databases_credentials_fails_verify(
    app_conn: asyncpg.Connection, vault: Vault, settings: Settings, seal: bytes | None, problem: str
) -> None:
    """Item 9, second part: a row inserted with the application's database credentials alone is chained like any
    other, but it carries no valid seal (the key lives outside the database), so `audit verify` names it; and a
    sealed row cannot be copied (its nonce is unique)."""
    assert settings.secret_key is not None
    key = audit.seal_key(settings.secret_key.reveal())
    await make_sample(app_conn, vault)
    assert (await audit.verify(app_conn, key=key)).ok
    real = await app_conn.fetchrow("SELECT * FROM audit_log ORDER BY id LIMIT 1")
    with pytest.raises(asyncpg.UniqueViolationError):
        await app_conn.execute(
            """INSERT INTO audit_log (actor_id, actor_role, action, entity_type, outcome, seal_nonce, seal)
               VALUES ('staff:someone-else', 'admin', 'nothing.happened', 'sample', 'ok', $1, $2)""",
            real["seal_nonce"],
            real["seal"],
        )
    forged_id = await app_conn.fetchval(
        """INSERT INTO audit_log (actor_id, actor_role, action, entity_type, outcome, seal_nonce, seal)
           VALUES ('staff:dr-x', 'doctor', 'patient.read', 'patient', 'ok', gen_random_uuid(), $1) RETURNING id""",
        seal,
    )
    assert (await audit.verify(app_conn)).ok  # the chain alone cannot tell: that was the hole
    report = await audit.verify(app_conn, key=key)
    assert not report.ok and problem in str(report.problem) and f"audit id {forged_id}" in str(report.problem)


async def test_rows_written_many_to_a_statement_are_each_sealed(conn: asyncpg.Connection, vault: Vault,
                                                                settings: Settings) -> None:  # fmt: skip
    """HL7 intake writes one audit row per message and one per critical alert inside a single statement: each gets
    its own nonce and seal."""
    from core.hl7 import intake
    from tests.core.hl7.test_critical import _setup

    await _setup(conn, vault)  # an ORU with a critical value: hl7.receive and critical.raised rows by CTE
    sample = await make_sample(conn, vault)
    await samples.transition(conn, barcode=sample.barcode, to_state=SampleState.RECEIVED_AT_LAB,
                             actor=TECH, centre_id="LAB-1")  # fmt: skip
    blocks = [f"MSH|^~\\\\&|A|L|LP|L|2026||ORU^R01|MANY-{i}|P|2.5.1\\rPID|1||M\\rOBR|1|{sample.barcode}||CBC\\r"
              f"OBX|1|NM|718-7^Haemoglobin^LN||1{i}.1|g/dL|||||F\\r" for i in range(3)]  # fmt: skip
    await intake.receive_many(conn, vault, [b.encode() for b in blocks])
    assert settings.secret_key is not None
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE seal IS NULL") == 0
    assert await conn.fetchval("SELECT count(DISTINCT seal_nonce) = count(*) FROM audit_log")
    assert (await audit.verify(conn, key=audit.seal_key(settings.secret_key.reveal()))).ok
