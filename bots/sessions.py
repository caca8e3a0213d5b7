"""Conversation state in Redis with a time-to-live: it survives a restart and is shared by every server process.

The key is the channel and a hash of the person's address on it (never the number itself). A conversation idle
for ``TTL_SECONDS`` is gone; the next message starts at the menu and says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from redis.asyncio import Redis

TTL_SECONDS = 30 * 60


@dataclass
class Session:
    state: str = "menu"
    lang: str = "en"
    data: dict[str, Any] = field(default_factory=dict)
    verified: list[str] = field(default_factory=list)  # patients whose date of birth this chat has given


class SessionStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, channel: str, address: str) -> str:
        digest = hashlib.sha256(f"{channel}:{address}".encode()).hexdigest()[:32]
        return f"{self._prefix}:bot:session:{digest}"

    async def load(self, channel: str, address: str) -> Session | None:
        raw = await self._redis.get(self._key(channel, address))
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            known = {f.name for f in fields(Session)}
            return Session(**{k: v for k, v in data.items() if k in known})
        except (ValueError, TypeError, AttributeError):
            return None  # unreadable (an older shape): start again at the menu

    @asynccontextmanager
    async def turn(self, channel: str, address: str) -> AsyncIterator[None]:
        """One message at a time per conversation, across every server process: a second message arriving while
        the first is handled waits for it (two quick "yes" must not book twice). A lock left by a crashed process
        expires after 15 s."""
        key, token = self._key(channel, address) + ":lock", secrets.token_hex(8).encode()
        for _ in range(300):
            if await self._redis.set(key, token, nx=True, px=15_000):
                break
            await asyncio.sleep(0.05)
        try:
            yield
        finally:
            if await self._redis.get(key) == token:
                await self._redis.delete(key)

    async def count_dob_try(self, lookup: str) -> int:
        """Count one date-of-birth check for this phone, across channels and conversations (24 h); counted
        before checking, so twenty guesses sent at once cannot all be checked."""
        key = f"{self._prefix}:bot:dob-tries:{lookup[:32]}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 24 * 3600)
            count, _ = await pipe.execute()
        return int(count)

    async def dob_tries(self, lookup: str) -> int:
        return int(await self._redis.get(f"{self._prefix}:bot:dob-tries:{lookup[:32]}") or 0)

    async def clear_dob_tries(self, lookup: str) -> None:
        await self._redis.delete(f"{self._prefix}:bot:dob-tries:{lookup[:32]}")

    async def save(self, channel: str, address: str, session: Session) -> None:
        await self._redis.set(self._key(channel, address), json.dumps(asdict(session)), ex=TTL_SECONDS)
