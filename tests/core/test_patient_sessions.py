"""Patient sessions in real Redis: each use restarts the idle timer, never past the absolute expiry; a session past
it is gone; a request resolves its session once, however many layers ask."""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as aioredis

from core.config import Settings
from core.patients.sessions import PatientSessions


def _sessions(redis: aioredis.Redis, settings: Settings, *, idle: int, absolute: int) -> PatientSessions:
    return PatientSessions(redis, settings.redis_prefix, idle_seconds=idle, absolute_seconds=absolute)


async def _created(redis: aioredis.Redis, key: str, ago: float) -> None:
    data = json.loads(await redis.get(key))
    data["created"] = time.time() - ago
    await redis.set(key, json.dumps(data), keepttl=True)


async def test_a_use_restarts_the_idle_timer_but_never_past_the_absolute_expiry(
    redis: aioredis.Redis, settings: Settings
) -> None:
    sessions = _sessions(redis, settings, idle=600, absolute=3600)
    token = await sessions.create(phone_lookup="ab" * 32, phone_hint="+91******0001", active_patient_id=None)
    session = await sessions.resolve(token)
    assert session is not None
    key = f"{settings.redis_prefix}:psession:{session.key}"
    await redis.expire(key, 5)
    assert await sessions.resolve(token) is not None
    assert 590 <= await redis.ttl(key) <= 600  # the idle timer restarted
    await _created(redis, key, ago=3600 - 100)  # 100 s of its life left: less than the idle time
    assert await sessions.resolve(token) is not None
    assert 90 <= await redis.ttl(key) <= 100
    await _created(redis, key, ago=3601)
    assert await sessions.resolve(token) is None
    assert await redis.exists(key) == 0


async def test_a_request_resolves_its_session_once(redis: aioredis.Redis, settings: Settings) -> None:
    sessions = _sessions(redis, settings, idle=600, absolute=3600)
    token = await sessions.create(phone_lookup="cd" * 32, phone_hint="+91******0002", active_patient_id=None)
    other = await sessions.create(phone_lookup="ef" * 32, phone_hint="+91******0003", active_patient_id=None)
    scope: dict[str, Any] = {}
    first = await sessions.resolve_once(scope, token)
    assert first is not None
    await redis.delete(f"{settings.redis_prefix}:psession:{first.key}")
    assert await sessions.resolve_once(scope, token) == first  # the same request: not asked again
    assert await sessions.resolve_once({}, token) is None  # another request: asked, and it is gone
    second = await sessions.resolve_once(scope, other)  # another token in the same scope is resolved
    assert second is not None and second.phone_lookup == "ef" * 32
