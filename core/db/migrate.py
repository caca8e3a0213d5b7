"""Numbered SQL migrations, applied once each, in order, under a PostgreSQL advisory lock.

Several processes may start at once (web, worker, mllp): the advisory lock makes one of them apply the
migrations while the others wait, then find nothing left to do. An applied migration whose file changed
afterwards is refused: history is never rewritten silently.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from core.jobs import queue as jobs_queue

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(Exception):
    pass


def load_migrations() -> list[Migration]:
    folder = resources.files("core.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a number: {versions}")
    return found


_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# What the application's role may do when it is not the owner: read and write rows, never the audit chain's own
# tables (the SECURITY DEFINER trigger appends to them), never rewrite or empty the audit log, never DDL.
_GRANTS = """GRANT USAGE ON SCHEMA "{schema}" TO "{role}";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}";
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}";
REVOKE INSERT, UPDATE, DELETE ON "{schema}".audit_chain, "{schema}".audit_head, "{schema}".schema_migrations,
    "{schema}".audit_seal_start FROM "{role}";
REVOKE UPDATE, DELETE ON "{schema}".audit_log FROM "{role}";"""


async def migrate(conn: asyncpg.Connection, schema: str, *, app_role: str | None = None) -> list[str]:
    """Apply pending migrations to ``schema``; return the names applied by this call. ``app_role``: the role the
    application runs as when it is not the owner; it is granted row access and nothing more."""
    lock_key = int.from_bytes(hashlib.sha256(f"labpulse-migrate:{schema}".encode()).digest()[:8], "big", signed=True)
    await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = {r["version"]: r for r in await conn.fetch("SELECT version, name, checksum FROM schema_migrations")}
        done: list[str] = []
        for mig in load_migrations():
            row = applied.get(mig.version)
            if row is not None:
                if row["checksum"] != mig.checksum:
                    raise MigrationError(f"migration {mig.name} was changed after it was applied")
                continue
            async with conn.transaction():
                await conn.execute(mig.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    mig.version,
                    mig.name,
                    mig.checksum,
                )
            done.append(mig.name)
        await jobs_queue.install(conn)  # the job queue's own tables, versioned by PgQueuer itself
        if app_role is not None and app_role != await conn.fetchval("SELECT current_user"):
            if not _ROLE.match(app_role):
                raise MigrationError(f"the application's role name {app_role[:64]!r} is not a plain identifier")
            await conn.execute(_GRANTS.format(schema=schema, role=app_role))
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
