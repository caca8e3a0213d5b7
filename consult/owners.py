"""Which web process owns each live teleconsult (issue 20). A room's peer connections, audio taps and draft live
in one process, so both sides must reach the same one. The first side to connect claims the room in Redis
(``<prefix>:consult-owner:<id>`` = this process's node name, for ``TTL_SECONDS``, renewed while the room is live and
let go when it empties); a side that reaches another process is told which node owns it (``{"type":"moved"}``,
close 4421), and its page sets the ``lp_node`` cookie and connects again: the load balancer sends a request with
that cookie to that node (docs/operations.md, "Teleconsults on several web processes"). An owner that dies stops
renewing; its claim lapses and the next side to connect claims the room afresh.

While Redis is away, a process serves the rooms that come to it rather than turn people away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("labpulse.consult")

TTL_SECONDS = 60
RENEW_SECONDS = 20
CLOSE_MOVED = 4421
NODE_COOKIE = "lp_node"

# Let go only of our own claim: another node may hold the key by now.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end return 0"


class RoomOwners:
    def __init__(self, redis: Redis, prefix: str, node: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self.node = node

    def _key(self, consult_id: str) -> str:
        return f"{self._prefix}:consult-owner:{consult_id}"

    async def claim(self, consult_id: str) -> str:
        """The node that owns the room now: this one when it was free (or already ours), else the owner."""
        key = self._key(consult_id)
        try:
            for _ in range(2):  # a claim that lapses between the two calls is tried once more
                if await self._redis.set(key, self.node, nx=True, ex=TTL_SECONDS):
                    return self.node
                owner = await self._redis.get(key)
                if owner is not None:
                    name = owner.decode() if isinstance(owner, bytes) else str(owner)
                    if name == self.node:
                        await self._redis.expire(key, TTL_SECONDS)
                    return name
        except (OSError, RedisError) as exc:
            log.warning("could not reach Redis to claim a teleconsult room (%s); serving it here", type(exc).__name__)
        return self.node

    async def release(self, consult_id: str) -> None:
        try:
            await self._redis.eval(_RELEASE, 1, self._key(consult_id), self.node)
        except (OSError, RedisError):
            pass  # the claim lapses on its own

    async def renew(self, consult_ids: Iterable[str]) -> None:
        for consult_id in consult_ids:
            await self._redis.eval(_RENEW, 1, self._key(consult_id), self.node, TTL_SECONDS)

    async def keep(self, live: Callable[[], Iterable[str]], beat: Callable[[], None]) -> None:
        """Renew this node's claims every ``RENEW_SECONDS`` (a supervised loop; it raises while Redis is away)."""
        while True:
            await self.renew(list(live()))
            beat()
            await asyncio.sleep(RENEW_SECONDS)
