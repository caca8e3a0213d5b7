"""The labpulse command as an operator runs it: migrate, staff add, audit verify, and config errors."""

from __future__ import annotations

import asyncpg

from core.config import Settings
from tests.support.procs import env_for, run


async def test_migrate_staff_add_and_audit_verify(settings: Settings, pool: asyncpg.Pool) -> None:
    env = env_for(settings)
    assert run(["migrate"], env).stdout.strip() == "database is up to date"
    added = run(
        ["staff", "add", "--username", "Priya.Tech", "--role", "lab_technician", "--password-stdin"],
        env,
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT username, role, password_hash FROM staff")
    assert (row["username"], row["role"]) == ("priya.tech", "lab_technician")
    assert row["password_hash"].startswith("$argon2id$")

    ok = run(["audit", "verify"], env)
    assert (ok.returncode, ok.stdout.split(":")[0]) == (0, "audit chain intact")

    async with pool.acquire() as conn:
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        await conn.execute("UPDATE audit_log SET actor_role = 'admin' WHERE id = 1")
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
    broken = run(["audit", "verify"], env)
    assert broken.returncode == 1
    assert "AUDIT CHAIN BROKEN: chain" in broken.stdout
    assert "row 1 (audit id 1) was altered after it was written" in broken.stdout


def test_a_bad_configuration_stops_with_every_problem_listed() -> None:
    result = run(["migrate"], {"PATH": "/usr/bin:/bin", "LABPULSE_MODE": "production", "LABPULSE_PORT": "http"})
    assert result.returncode == 2
    for name in ("DATABASE_URL", "REDIS_URL", "LABPULSE_FIELD_KEYS", "LABPULSE_PORT"):
        assert f"  - {name}:" in result.stderr
    assert "Traceback" not in result.stderr


async def test_staff_add_refuses_a_short_password(settings: Settings, pool: asyncpg.Pool) -> None:
    result = run(
        ["staff", "add", "--username", "x.y.z", "--role", "admin", "--password-stdin"],
        env_for(settings),
        stdin="short\n",
    )
    assert result.returncode == 2
    assert "at least 12 characters" in result.stderr and "Traceback" not in result.stderr
