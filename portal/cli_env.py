"""The environment every ``labpulse`` command runs in: settings from the environment (a bad one stops with exit code
2 and the list of problems), demo secrets and the embedded services when no URLs are set, the audit seal's key, a
database connection, migrations as the owner, and the demo seed."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from core import audit
from core.config import ConfigError, Secret, Settings, load_settings
from core.db.migrate import migrate
from core.db.pool import connect, pool_from_settings, role_of
from core.embedded import EmbeddedServices, start_embedded, with_demo_secrets
from core.vault import Vault


def load_env() -> Settings:
    try:
        return load_settings(os.environ)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from exc


def resolve(settings: Settings) -> tuple[Settings, EmbeddedServices | None]:
    """Fill demo secrets and start embedded services when no URLs are configured; export them for workers."""
    settings = with_demo_secrets(settings)
    if settings.secret_key is not None:  # every audit row this command writes is sealed (core/audit.py)
        audit.use_key(audit.seal_key(settings.secret_key.reveal()))
    embedded = None
    if settings.uses_embedded_services:
        embedded = start_embedded(settings.data_dir)
        settings = settings.with_overrides(
            database_url=settings.database_url or Secret(embedded.database_url),
            redis_url=settings.redis_url or Secret(embedded.redis_url),
        )
    # uvicorn workers and child processes re-read the environment: hand them exactly what we resolved.
    env = {
        "DATABASE_URL": settings.database_url.reveal() if settings.database_url else "",
        "REDIS_URL": settings.redis_url.reveal() if settings.redis_url else "",
        "LABPULSE_FIELD_KEYS": ",".join(f"{k}:{v.reveal()}" for k, v in settings.field_keys.items()),
        "LABPULSE_FIELD_KEY_ACTIVE": settings.field_key_active or "",
        "LABPULSE_LOOKUP_KEY": settings.lookup_key.reveal() if settings.lookup_key else "",
        "LABPULSE_SECRET_KEY": settings.secret_key.reveal() if settings.secret_key else "",
    }
    os.environ.update({k: v for k, v in env.items() if v})
    return settings, embedded


@contextmanager
def services() -> Iterator[Settings]:
    """Resolved settings for one command; embedded services (if started for it) stop when it ends."""
    settings, embedded = resolve(load_env())
    try:
        yield settings
    finally:
        if embedded:
            embedded.stop()


async def connect_db(settings: Settings) -> asyncpg.Connection:
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not resolved")
    return await connect(settings.database_url.reveal(), settings.db_schema,
                         pooled=settings.db_pooler == "transaction")  # fmt: skip


async def migrate_db(settings: Settings) -> list[str]:
    """Migrate as the owner: LABPULSE_MIGRATION_DATABASE_URL when set (the application's own role, which then
    owns nothing, is granted row access), else DATABASE_URL's role."""
    if settings.migration_database_url is None:
        conn = await connect_db(settings)
        try:
            return await migrate(conn, settings.db_schema)
        finally:
            await conn.close()
    app = await connect_db(settings)
    try:
        app_role = await role_of(app)
    finally:
        await app.close()
    owner = await connect(settings.migration_database_url.reveal(), settings.db_schema)
    try:
        return await migrate(owner, settings.db_schema, app_role=app_role)
    finally:
        await owner.close()


async def seed_demo(settings: Settings) -> None:
    from core.demo import ReportSigning, seed
    from core.reports import content as report_content

    secret = settings.secret_key.reveal() if settings.secret_key else ""
    signing = ReportSigning(report_content.signing_key(secret), settings.link_base())
    pool = await pool_from_settings(settings)
    try:
        async with pool.acquire() as conn:
            creds = await seed(conn, Vault.from_settings(settings), signing)
    finally:
        await pool.close()
    if creds:
        print("Demo data seeded. Staff sign-ins for this demo install (shown once):")
        for c in creds:
            print(f"  {c.role.value:15} {c.username:12} {c.password}")
