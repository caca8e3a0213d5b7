"""How the system reaches a person's phone: a ``Notifier`` per channel (Twilio SMS and WhatsApp, Telegram; demo
mode prints).

A ``Notifier`` gets the E.164 number and a ``Message``: its kind (one per notice a person can get: a report ready, a
reminder, a sign-in code …), the person's language and its fields. ``Message.text`` is the catalogue's wording
(``notice:<kind>``); a provider that needs a pre-approved template per kind (WhatsApp outside the 24-hour window,
Indian SMS under DLT) sends the fields as the template's variables instead. A notifier must never log the text or
the fields (they may hold a code).
"""

from __future__ import annotations

import string
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from core import i18n, metrics
from core.errors import DomainError
from core.ratelimit import RateLimiter

# Every kind of notice, each a catalogue message ``notice:<kind>`` and, in production, a WhatsApp template and a DLT
# template per language (core/config.py refuses to start without them).
KINDS = (
    "otp",
    "report.ready",
    "report.updated",
    "reminder.evening",
    "reminder.hour",
    "consult.remind",
    "consult.links",
    "consult.tests",
    "consult.doctor_link",
    "critical",
)
STAFF_KINDS = ("consult.doctor_link", "critical")  # to lab staff and doctors, in English


@dataclass(frozen=True, slots=True)
class Message:
    """One notice to one person: its kind, the person's language, and the values its wording needs."""

    kind: str
    lang: str
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return i18n.text(self.lang, f"notice:{self.kind}", **self.fields)

    def variables(self) -> list[str]:
        """The fields in the order the English wording names them: a template's {{1}}, {{2}} … in every language."""
        return [self.fields[name] for name in fields_of(self.kind)]


def fields_of(kind: str) -> tuple[str, ...]:
    """The fields of a kind of notice, in the order its English wording names them (each once)."""
    english = i18n.text("en", f"notice:{kind}")
    names = [name for _, name, _, _ in string.Formatter().parse(english) if name]
    return tuple(dict.fromkeys(names))


class Notifier(Protocol):
    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None: ...


def mask_phone(phone: str) -> str:
    """+919800000001 → +91******0001: enough for a person to recognise their own number, no more."""
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:]


class ConsoleNotifier:
    """Demo mode only: prints the message to the server's terminal so a newcomer can sign in."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out

    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None:
        out = self._out or sys.stderr
        print(f"[demo notifier] to {mask_phone(phone)} ({message.kind}): {message.text}", file=out, flush=True)


class NotifierUnavailable(DomainError):
    code = "messaging_unavailable"

    key = "error:messaging_unavailable"

    def __init__(self) -> None:
        super().__init__(i18n.text("en", self.key))


class NoNotifier:
    """Production before a messaging provider is configured: codes cannot be sent, and the user is told so."""

    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None:
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

    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None:
        wait = await self._limiter.hit(f"send:{self._channel}", self._lookup(phone), limit=self._per_hour,
                                       window_seconds=3600)  # fmt: skip
        if wait is not None:
            raise SendLater(f"per-person limit reached; the window reopens in {wait} s", retry_after=wait)
        await self._inner.send(phone, message, media_url=media_url)


class CountedNotifier:
    """Counts each message a channel is asked to send by purpose and outcome (``labpulse_notices_total``): sent,
    refused for good, later (a limit's window), uncertain (no answer came), or failed."""

    def __init__(self, inner: Notifier, channel: str) -> None:
        self._inner, self._channel = inner, channel

    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None:
        outcome = "failed"
        try:
            await self._inner.send(phone, message, media_url=media_url)
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
            metrics.NOTICES.labels(self._channel, message.kind, outcome).inc()
