"""Fixed-window counters in Redis: "at most N of these per key per window", shared by every process."""

from __future__ import annotations

from redis.asyncio import Redis

# Per-endpoint limits: (requests, window seconds, counted per "ip" or per "session"). Sign-in by code has its
# own finer limits (core/patients/signin.py); staff accounts also lock after five failures.
ENDPOINT_LIMITS: dict[str, tuple[int, int, str]] = {
    "staff.session.create": (30, 600, "ip"),
    "staff.oidc.login": (30, 600, "ip"),
    "patient.code": (30, 600, "ip"),
    "patient.session.create": (30, 600, "ip"),
    "patient.link": (30, 600, "ip"),
    "page.signin.send": (30, 600, "ip"),
    "page.signin.verify": (30, 600, "ip"),
    "page.link.redeem": (30, 600, "ip"),
    "patient.status": (120, 60, "session"),
    "patient.access_log": (60, 60, "session"),
    "patient.export": (10, 3600, "session"),
    "patient.export.fhir": (10, 3600, "session"),
    "page.my_tests.cards": (120, 60, "session"),
    "ws.status": (60, 60, "session"),
    "patient.report.link": (60, 600, "session"),
    "page.report": (60, 600, "session"),
    # A link guessed or shared widely is slowed down (every try audited); generous, because Twilio fetches every
    # WhatsApp report PDF from a few addresses of its own.
    "report.download": (300, 600, "ip"),
    "triage.assess": (60, 600, "ip"),
    "page.triage.assess": (60, 600, "ip"),
    "page.book.create": (60, 600, "session"),
    "page.consult.book.create": (30, 600, "session"),
    "page.consult.join": (30, 600, "ip"),  # a guessed link is 192 bits; this only keeps the log quiet
}


# One hit, atomically and in one command: count it, start the window with the first, and answer -1 while within
# the limit, else the seconds until the window reopens (a counter found without a window gets one).
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if count <= tonumber(ARGV[2]) then return -1 end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end
return ttl
"""


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._hit = redis.register_script(_HIT)  # EVALSHA; loaded again by itself after Redis lost its scripts

    async def hit(self, bucket: str, key: str, *, limit: int, window_seconds: int) -> int | None:
        """Count one hit. Returns None while within ``limit``, else the seconds until the window reopens."""
        wait = int(await self._hit(keys=[f"{self._prefix}:rl:{bucket}:{key}"], args=[window_seconds, limit]))
        return None if wait < 0 else max(wait, 1)

    async def clear(self, bucket: str, key: str) -> None:
        await self._redis.delete(f"{self._prefix}:rl:{bucket}:{key}")
