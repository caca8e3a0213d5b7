"""The composition root: every process (``serve``, ``worker``, ``mllp``) builds its pool, Redis client, vault,
messaging channels and supervisor here, from Settings, so a channel configured once is used everywhere.

Messaging channels come in two registries:
- ``patients``: each channel behind a per-person hourly limit (a patient is never flooded, whatever the purpose);
- ``staff``: the same channels without it (the 20th critical value of a night must still reach the doctor).
In demo mode, and only there, a channel that is not configured prints to the console instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import asyncpg
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel

from bots import telegram_sender, twilio_sender
from core import audit
from core.config import Settings
from core.db.pool import owns_tables, pool_from_settings
from core.notify import (
    ConsoleNotifier,
    CountedNotifier,
    Message,
    NoNotifier,
    Notifier,
    RateLimitedNotifier,
    SendRefused,
)
from core.ratelimit import RateLimiter
from core.supervise import Supervisor, keep_heap, time_gc_pauses, watch_event_loop
from core.vault import Vault

log = logging.getLogger("labpulse.services")

SIGNIN_ORDER = ("sms", "whatsapp", "telegram")  # where a sign-in code goes: the first channel that can take it


class FirstThatTakes:
    """A Notifier that tries channels in order and moves on when one refuses this person for good (no linked
    Telegram chat, a number WhatsApp does not know); the last refusal is raised."""

    def __init__(self, channels: Sequence[Notifier]) -> None:
        self._channels = list(channels)

    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None:
        refused: SendRefused | None = None
        for channel in self._channels:
            try:
                await channel.send(phone, message, media_url=media_url)
                return
            except SendRefused as exc:
                refused = exc
        raise refused if refused is not None else SendRefused("no-channel")


def redis_client(settings: Settings) -> aioredis.Redis:
    """One client for the process: straight to REDIS_URL, or, with LABPULSE_REDIS_SENTINELS, to whichever server the
    Sentinels say is the master now (REDIS_URL then gives only the database, the credentials and TLS). After a
    failover, a connection that breaks is made again to the new master; the hub and the relay already retry."""
    if settings.redis_url is None:
        raise RuntimeError("REDIS_URL is not resolved")
    url = settings.redis_url.reveal()
    if not settings.redis_sentinels:
        return aioredis.from_url(url, decode_responses=False, health_check_interval=30)
    parts = urlsplit(url)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    db = int(parts.path.strip("/")) if parts.path.strip("/").isdigit() else 0
    sentinel = Sentinel(list(settings.redis_sentinels), sentinel_kwargs={"socket_timeout": 2.0},
                        socket_connect_timeout=2.0)  # fmt: skip
    client: aioredis.Redis = sentinel.master_for(
        settings.redis_sentinel_master, db=db, decode_responses=False, health_check_interval=30,
        ssl=parts.scheme == "rediss", username=username, password=password,
    )  # fmt: skip
    return client


def channels(
    settings: Settings, vault: Vault, redis: aioredis.Redis | None, pool: asyncpg.Pool | None
) -> dict[str, Notifier]:
    """Every messaging channel this deployment has, by name: Twilio's SMS and WhatsApp and Telegram once
    configured; in demo mode the console stands in for SMS and WhatsApp when Twilio is not."""
    out: dict[str, Notifier] = {}
    if settings.mode == "demo":
        console = ConsoleNotifier()
        out.update(sms=console, whatsapp=console)
    if settings.twilio_account_sid and settings.twilio_auth_token:
        out.update(_twilio(settings, vault, redis))
    if pool is not None and (client := telegram_sender.bot(settings)) is not None:
        out["telegram"] = telegram_sender.TelegramNotifier(client, pool, vault)
    return out


def _twilio(settings: Settings, vault: Vault, redis: aioredis.Redis | None) -> dict[str, Notifier]:
    assert settings.twilio_account_sid and settings.twilio_auth_token  # noqa: S101 - checked by the caller
    api = twilio_sender.client(
        settings.twilio_account_sid, settings.twilio_auth_token.reveal(), settings.twilio_api_base
    )
    callback = f"{settings.link_base()}/bots/twilio/status"
    out: dict[str, Notifier] = {}
    if settings.twilio_sms_from:
        out["sms"] = twilio_sender.TwilioNotifier(
            api, "sms", settings.twilio_sms_from, status_callback=callback, templates=settings.templates
        )
    if settings.twilio_whatsapp_from:
        window = (
            twilio_sender.window_checker(redis, settings.redis_prefix, lambda p: vault.lookup.digest("phone", p).hex())
            if redis is not None
            else None
        )
        out["whatsapp"] = twilio_sender.TwilioNotifier(
            api, "whatsapp", settings.twilio_whatsapp_from, status_callback=callback,
            templates=settings.templates, window_open=window,
        )  # fmt: skip
    return out


def rate_limited(
    settings: Settings, redis: aioredis.Redis, vault: Vault, raw: Mapping[str, Notifier]
) -> dict[str, Notifier]:
    limiter = RateLimiter(redis, settings.redis_prefix)

    def lookup(phone: str) -> str:
        return vault.lookup.digest("phone", phone).hex()

    return {name: RateLimitedNotifier(n, limiter, lookup, name) for name, n in raw.items()}


def counted(notifiers: Mapping[str, Notifier]) -> dict[str, Notifier]:
    """Each channel counted by purpose and outcome (``labpulse_notices_total``), outermost: a message held back by
    the hourly limit counts as 'later'."""
    return {name: CountedNotifier(n, name) for name, n in notifiers.items()}


def signin_notifier(patients: Mapping[str, Notifier]) -> Notifier:
    """Sign-in codes: SMS first, then WhatsApp, then a linked Telegram chat; with none, the person is told calmly
    that codes cannot be sent (``NoNotifier``)."""
    ordered = [patients[name] for name in SIGNIN_ORDER if name in patients]
    return FirstThatTakes(ordered) if ordered else NoNotifier()


@dataclass
class Services:
    """What a process runs on. ``close()`` lets go of all of it."""

    settings: Settings
    pool: asyncpg.Pool
    redis: aioredis.Redis
    vault: Vault
    staff_notifiers: dict[str, Notifier]  # no per-person limit: critical values, doctors' join links
    patient_notifiers: dict[str, Notifier]  # each behind the per-person hourly limit
    supervisor: Supervisor = field(default_factory=Supervisor)

    @property
    def signin(self) -> Notifier:
        return signin_notifier(self.patient_notifiers)

    watch: asyncio.Task[None] | None = None  # the event loop's lag, for /metrics (core/supervise.py)
    heap: asyncio.Task[None] | None = None  # freezes what lives long, in a process that settled its heap

    async def close(self) -> None:
        for task in (self.watch, self.heap):
            if task is not None:
                task.cancel()
        await self.redis.aclose()
        await self.pool.close()


async def open_services(
    settings: Settings, *, notifiers: Mapping[str, Notifier] | None = None, messaging: bool = True
) -> Services:
    """The pool, Redis client, vault and channels for one process. ``notifiers`` replaces the configured channels
    (tests hand in recorders); ``messaging=False`` for a process that sends nothing (the MLLP listener)."""
    if settings.secret_key is not None:  # every audit row this process writes is sealed (core/audit.py)
        audit.use_key(audit.seal_key(settings.secret_key.reveal()))
    pool = await pool_from_settings(settings)
    redis = redis_client(settings)  # connects on first use only
    vault = Vault.from_settings(settings)
    raw = dict(notifiers) if notifiers is not None else channels(settings, vault, redis, pool) if messaging else {}
    if not raw and messaging:
        log.warning("no messaging channel is configured: sign-in codes, report notices and critical-value alerts "
                    "cannot be sent (set TWILIO_* or TELEGRAM_BOT_TOKEN)")  # fmt: skip
    limited = rate_limited(settings, redis, vault, raw)
    services = Services(settings, pool, redis, vault, staff_notifiers=counted(raw),
                        patient_notifiers=counted(limited))  # fmt: skip
    services.watch = asyncio.create_task(watch_event_loop(), name="event-loop-lag")
    services.heap = asyncio.create_task(keep_heap(), name="heap-keeper")
    time_gc_pauses()
    if settings.mode == "production" and await owns_its_tables(pool, settings.db_schema):
        message = ("the application's database role owns its tables: it could disable the triggers that keep the "
                   "audit log and signed notes unchanged (set LABPULSE_MIGRATION_DATABASE_URL to the owner and run "
                   "the application as a role that owns nothing; docs/security.md)")  # fmt: skip
        log.warning(message)
        services.supervisor.add_warning("database_role", lambda: message)
    return services


async def owns_its_tables(pool: asyncpg.Pool, schema: str) -> bool:
    return await owns_tables(pool, schema)
