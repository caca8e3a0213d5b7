"""The asyncpg pool: one per process, search_path pinned to the configured schema, jsonb as Python objects.

Behind a transaction-pooling PgBouncer (``LABPULSE_DB_POOLER=transaction``) a connection is the pooler's, not a
server's: no startup parameter but ``application_name`` (the pooler sets the schema, with ``connect_query``, or the
role's default ``search_path`` does), and no named prepared statements (asyncpg's cache is off). A startup check
refuses to run when the schema the connections land in is not the configured one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import asyncpg

from core.config import Settings


def _encode(value: object) -> str:
    # A str is taken as JSON text already (PgQueuer hands its headers over that way); anything else is encoded.
    return value if isinstance(value, str) else json.dumps(value)


async def init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=_encode, decoder=json.loads, schema="pg_catalog")


def _session(schema: str, pooled: bool) -> dict[str, object]:
    """What a connection asks for as it starts: the schema, unless a transaction pooler sits between."""
    if pooled:
        return {"server_settings": {"application_name": "labpulse"}, "statement_cache_size": 0}
    return {"server_settings": {"search_path": schema, "application_name": "labpulse"}}


async def _leave_the_session_alone(conn: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool besides what asyncpg always does (roll back an open
    transaction, forget listeners): nothing, because our code changes no session state (no SET but SET LOCAL, no
    LISTEN, no session advisory lock: tests/core/test_session_state.py). asyncpg's own reset (``RESET ALL``,
    ``UNLISTEN *``, ``CLOSE ALL``, unlocking) would cost a round trip per checkout, and behind a transaction pooler
    it would undo the schema the pooler set for everyone."""


class WrongSchema(RuntimeError):
    def __init__(self, found: str, schema: str) -> None:
        super().__init__(
            f"connections land in schema {found!r}, not {schema!r}: behind a transaction pooler, set it there "
            f"(PgBouncer: connect_query = 'SET search_path TO {schema}') or for the role "
            f"(ALTER ROLE … SET search_path TO {schema}); docs/operations.md"
        )


async def create_pool(
    database_url: str, schema: str, *, min_size: int = 2, max_size: int = 20, pooled: bool = False
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        # Transactions pinned to one row lock should not be retried forever by a stuck client.
        command_timeout=30,
        reset=_leave_the_session_alone,
        **_session(schema, pooled),
    )
    if pool is None:  # create_pool only returns None when awaited as a context manager
        raise RuntimeError("asyncpg returned no pool")
    if pooled and (found := await pool.fetchval("SELECT current_schema()")) != schema:
        await pool.close()
        raise WrongSchema(str(found), schema)
    return pool


async def pool_from_settings(settings: Settings) -> asyncpg.Pool:
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not set; start the embedded services first")
    return await create_pool(
        settings.database_url.reveal(),
        settings.db_schema,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        pooled=settings.db_pooler == "transaction",
    )


async def probe(pool: asyncpg.Pool, beat: Callable[[], None], every: float = 2.0) -> None:
    """A loop that beats while PostgreSQL answers (the readiness of a process whose work waits on requests);
    it raises when PostgreSQL does not, for its supervisor to log and call again."""
    while True:
        async with pool.acquire(timeout=every * 2) as conn:
            await conn.fetchval("SELECT 1", timeout=every * 2)
        beat()
        await asyncio.sleep(every)


async def ping(pool: asyncpg.Pool) -> None:
    """One round trip: raises when PostgreSQL does not answer."""
    await pool.fetchval("SELECT 1")


async def owns_tables(pool: asyncpg.Pool, schema: str) -> bool:
    """Whether the role the pool signs in as owns any table of the schema (and so could disable their triggers)."""
    owned: int = await pool.fetchval(
        "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tableowner = current_user", schema
    )
    return owned > 0


async def role_of(conn: asyncpg.Connection) -> str:
    return str(await conn.fetchval("SELECT current_user"))


async def connect(database_url: str, schema: str, *, pooled: bool = False) -> asyncpg.Connection:
    """A single connection configured exactly like the pool's (for CLI commands and one-off jobs)."""
    conn = await asyncpg.connect(database_url, **_session(schema, pooled))
    await init_connection(conn)
    return conn
