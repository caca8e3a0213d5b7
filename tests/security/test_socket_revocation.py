"""Issue 16, item 1: a signed-out session stops streaming. Sign-out (here or on another server process) closes the
patient's open status sockets within a couple of seconds; so does a session that vanished from Redis (noticed when
the hub reconnects, or at the next periodic look). Against real servers (uvicorn), real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
import redis.asyncio as aioredis
from websockets.exceptions import ConnectionClosed

from core.config import Settings
from core.vault import Vault
from portal.app import create_app
from tests.realtime.conftest import Live, patient_signed_in, recv
from tests.support.inbox import Inbox
from tests.support.server import serving

PHONE = "+919811100016"


async def _closed_within(ws, seconds: float) -> int:  # type: ignore[no-untyped-def]
    """The close code, if the server closes the socket within ``seconds`` (frames before it are skipped)."""
    deadline = time.monotonic() + seconds
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_sign_out_everywhere_closes_sockets_on_every_server_at_once(
    live: Live, settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    token, _, _ = await patient_signed_in(live, pool, vault, PHONE)
    other = create_app(settings.with_overrides(ws_idle_seconds=30), notifier=Inbox())
    async with serving(other) as addr_b:
        b = Live(addr_b, live.inbox, live.http)
        async with live.socket(token) as ws_a, b.socket(token) as ws_b:
            assert (await recv(ws_a))["type"] == "snapshot" and (await recv(ws_b))["type"] == "snapshot"
            r = await live.http.delete(
                "/api/patient/session?everywhere=1", headers={"Authorization": f"Bearer {token}"}
            )
            assert r.status_code in (200, 204), r.text
            assert await _closed_within(ws_a, 2.0) == 4401
            assert await _closed_within(ws_b, 2.0) == 4401  # the other process heard it on the bus


async def test_a_session_lost_with_redis_closes_its_socket_when_the_hub_reconnects(
    live: Live, settings: Settings, pool: asyncpg.Pool, vault: Vault, redis: aioredis.Redis
) -> None:
    token, _, _ = await patient_signed_in(live, pool, vault, PHONE)
    async with live.socket(token) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        keys = [k async for k in redis.scan_iter(f"{settings.redis_prefix}:psession*")]
        await redis.delete(*keys)  # as if Redis restarted empty…
        await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")  # …dropping the hub's subscription
        assert await _closed_within(ws, 3.0) == 4401


async def test_signing_out_one_device_leaves_the_others_streaming(live: Live, pool: asyncpg.Pool, vault: Vault) -> None:
    first, _, _ = await patient_signed_in(live, pool, vault, PHONE)
    second = await live.sign_in(PHONE)
    async with live.socket(first) as ws_first, live.socket(second) as ws_second:
        await recv(ws_first)
        await recv(ws_second)
        r = await live.http.delete("/api/patient/session", headers={"Authorization": f"Bearer {first}"})
        assert r.status_code in (200, 204), r.text
        assert await _closed_within(ws_first, 2.0) == 4401
        await ws_second.send('{"type": "ping"}')
        assert (await recv(ws_second, 3.0))["type"] == "pong"  # the other device is untouched
