"""How the system reaches a patient's phone. The bots issue plugs Twilio in; until then demo mode prints.

A ``Notifier`` gets the E.164 number and the finished text. It must never log the text (it may hold a code).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Protocol, TextIO

from core import metrics
from core.errors import DomainError
from core.ratelimit import RateLimiter


class Notifier(Protocol):
    async def send(self, phone: str, text: str, *, purpose: str, media_url: str | None = None) -> None: ...


def mask_phone(phone: str) -> str:
    """+919800000001 → +91******0001: enough for a person to recognise their own number, no more."""
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:]


class ConsoleNotifier:
    """Demo mode only: prints the message to the server's terminal so a newcomer can sign in."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out

    async def send(self, phone: str, text: str, *, purpose: str, media_url: str | None = None) -> None:
        out = self._out or sys.stderr
        print(f"[demo notifier] to {mask_phone(phone)} ({purpose}): {text}", file=out, flush=True)


class NotifierUnavailable(DomainError):
    code = "messaging_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "We cannot send sign-in codes right now. Your results are safe; please try again later "
            "or call your collection centre."
        )


class NoNotifier:
    """Production before a messaging provider is configured: codes cannot be sent, and the user is told so."""

    async def send(self, phone: str, text: str, *, purpose: str, media_url: str | None = None) -> None:
        raise NotifierUnavailable


class SendRefused(DomainError):
    """The provider refused this message for good (an invalid number, a blocked recipient): do not retry."""

    code = "send_refused"

    def __init__(self, provider_code: str) -> None:
        super().__init__(f"The messaging provider refused the message (code {provider_code}).")
        self.provider_code = provider_code


class SendLater(Exception):
    """Not now (this person had enough messages this hour): the job queue tries again once the window reopens."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SendUncertain(Exception):
    """The request reached the provider but no answer came back: it may have been sent. Never retried blindly."""


class RateLimitedNotifier:
    """At most ``per_hour`` messages to one person (by the lookup hash of their number, never the number itself)
    across every purpose on this channel; the one over the limit waits for the queue's next try."""

    def __init__(self, inner: Notifier, limiter: RateLimiter, lookup: Callable[[str], str], channel: str,
                 per_hour: int = 10) -> None:  # fmt: skip
        self._inner = inner
        self._limiter = limiter
        self._lookup = lookup
        self._channel = channel
        self._per_hour = per_hour

    async def send(self, phone: str, text: str, *, purpose: str, media_url: str | None = None) -> None:
        wait = await self._limiter.hit(f"send:{self._channel}", self._lookup(phone), limit=self._per_hour,
                                       window_seconds=3600)  # fmt: skip
        if wait is not None:
            raise SendLater(f"per-person limit reached; the window reopens in {wait} s", retry_after=wait)
        await self._inner.send(phone, text, purpose=purpose, media_url=media_url)


class CountedNotifier:
    """Counts each message a channel is asked to send by purpose and outcome (``labpulse_notices_total``): sent,
    refused for good, later (a limit's window), uncertain (no answer came), or failed."""

    def __init__(self, inner: Notifier, channel: str) -> None:
        self._inner, self._channel = inner, channel

    async def send(self, phone: str, text: str, *, purpose: str, media_url: str | None = None) -> None:
        outcome = "failed"
        try:
            await self._inner.send(phone, text, purpose=purpose, media_url=media_url)
            outcome = "sent"
        except SendRefused:
            outcome = "refused"
            raise
        except SendLater:
            outcome = "later"
            raise
        except SendUncertain:
            outcome = "uncertain"
            raise
        finally:
            metrics.NOTICES.labels(self._channel, purpose[:24], outcome).inc()
