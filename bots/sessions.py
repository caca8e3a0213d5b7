"""Conversation state in Redis with a time-to-live: it survives a restart and is shared by every server process.

The key is the channel and a hash of the person's address on it (never the number itself). A conversation idle
for ``TTL_SECONDS`` is gone; the next message starts at the menu and says so.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

TTL_SECONDS = 30 * 60


@dataclass
class Session:
    state: str = "menu"
    lang: str = "en"
    data: dict[str, Any] = field(default_factory=dict)
    verified: list[str] = field(default_factory=list)  # patients whose date of birth this chat has given
    dob_tries: int = 0


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
        data = json.loads(raw)
        return Session(**data)

    async def save(self, channel: str, address: str, session: Session) -> None:
        await self._redis.set(self._key(channel, address), json.dumps(asdict(session)), ex=TTL_SECONDS)
