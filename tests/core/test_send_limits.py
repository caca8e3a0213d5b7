"""Per-person sending limits, counted in Redis (shared by every worker), keyed by the number's hash."""

from __future__ import annotations

import pytest

from core.config import Settings
from core.notify import Message, RateLimitedNotifier, SendLater
from core.ratelimit import RateLimiter


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None:
        self.sent.append(phone)


async def test_a_person_gets_at_most_the_limit_and_others_are_not_held_up(redis, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    inner = Recorder()
    limited = RateLimitedNotifier(inner, RateLimiter(redis, settings.redis_prefix), lambda p: f"h-{p[-4:]}", "sms",
                                  per_hour=2)  # fmt: skip
    await limited.send("+919800000001", Message("reminder.hour", "en", {"ref": "a", "time": "09:00"}))
    await limited.send("+919800000001", Message("report.ready", "en", {"barcode": "b", "url": "u"}))
    with pytest.raises(SendLater, match="window reopens"):
        await limited.send("+919800000001", Message("report.ready", "en", {"barcode": "c", "url": "u"}))
    await limited.send("+919800000002", Message("report.ready", "en", {"barcode": "d", "url": "u"}))
    assert inner.sent == ["+919800000001", "+919800000001", "+919800000002"]
    keys = [k async for k in redis.scan_iter(match=f"{settings.redis_prefix}:rl:send:sms:*")]
    assert keys and all(b"98000" not in k for k in keys)  # the number itself is never a key
