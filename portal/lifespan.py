"""Opens every pool and client the app needs from Settings, and closes them in reverse on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from starlette.applications import Starlette

from core.config import Settings
from core.db.pool import pool_from_settings
from core.staff.service import StaffSessions
from core.vault import Vault
from portal.state import AppState


def redis_client(settings: Settings) -> aioredis.Redis:
    if settings.redis_url is None:
        raise RuntimeError("REDIS_URL is not resolved")
    return aioredis.from_url(settings.redis_url.reveal(), decode_responses=False, health_check_interval=30)


def make_lifespan(settings: Settings):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[AppState]:
        pool = await pool_from_settings(settings)
        redis = redis_client(settings)
        try:
            yield AppState(
                settings=settings,
                pool=pool,
                redis=redis,
                vault=Vault.from_settings(settings),
                staff_sessions=StaffSessions(
                    redis,
                    settings.redis_prefix,
                    idle_seconds=settings.staff_session_idle_minutes * 60,
                    absolute_seconds=settings.staff_session_absolute_hours * 3600,
                ),
            )
        finally:
            await redis.aclose()
            await pool.close()

    return lifespan
