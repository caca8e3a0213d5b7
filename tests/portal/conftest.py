from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from core.config import Settings
from core.identity import Actor, Role
from core.staff import service as staff
from portal.app import create_app
from tests.support.asgi import app_client

PASSWORD = "correct horse battery"


def username_for(role: Role) -> str:
    return f"{role.value.replace('_', '.')}.user"


@pytest.fixture
async def client(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings)) as c:
        yield c


@pytest.fixture
async def staff_token(client: httpx.AsyncClient, pool: asyncpg.Pool):  # type: ignore[no-untyped-def]
    """A factory: token_for(role) adds a staff member with that role, signs in over HTTP, returns the token."""

    async def token_for(role: Role) -> str:
        username = username_for(role)
        async with pool.acquire() as conn:
            if await conn.fetchval("SELECT count(*) FROM staff WHERE username = $1", username) == 0:
                await staff.add(
                    conn,
                    username=username,
                    display_name=username,
                    role=role,
                    password=PASSWORD,
                    actor=Actor.system("tests"),
                )
        r = await client.post("/api/staff/session", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    return token_for
