from __future__ import annotations

import asyncpg
import httpx

from core.config import Secret, Settings
from portal.app import create_app
from tests.support.asgi import app_client


async def test_healthy_when_both_answer(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok", "postgres": "ok", "redis": "ok"})


async def test_503_naming_redis_when_redis_is_unreachable(settings: Settings, pool: asyncpg.Pool) -> None:
    broken = settings.with_overrides(redis_url=Secret("redis://127.0.0.1:1/0"))
    async with app_client(create_app(broken)) as client:
        r = await client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["postgres"] == "ok" and r.json()["redis"].startswith("unreachable")


async def test_503_naming_postgres_when_it_goes_away(client: httpx.AsyncClient) -> None:
    pool = client.app_state["pool"]  # type: ignore[attr-defined]
    await pool.close()
    r = await client.get("/healthz")
    assert r.status_code == 503 and r.json()["postgres"] != "ok" and r.json()["redis"] == "ok"
