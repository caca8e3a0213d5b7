"""The typed application state the lifespan opens and closes; handlers reach it through ``request.state``."""

from __future__ import annotations

from typing import Any, TypedDict

import asyncpg
from redis.asyncio import Redis

from core.config import Settings
from core.patients.sessions import PatientSessions
from core.patients.signin import PatientSignIn
from core.ratelimit import RateLimiter
from core.reports.links import ReportLinks
from core.staff.service import StaffSessions
from core.storage import FileStore
from core.supervise import Supervisor
from core.vault import Vault
from realtime.hub import Hub
from realtime.staff_socket import BoardWatch


class AppState(TypedDict):
    settings: Settings
    pool: asyncpg.Pool
    redis: Redis
    vault: Vault
    supervisor: Supervisor  # this process's background loops and their health (/readyz)
    staff_sessions: StaffSessions
    patient_sessions: PatientSessions
    rate_limiter: RateLimiter  # the per-endpoint limits (portal/ratelimits.py), built once for the process
    signin: PatientSignIn
    hub: Hub
    board: BoardWatch  # tells every open critical values board when it has changed
    report_key: Any  # the Ed25519 key reports are signed with
    files: FileStore  # encrypted report PDFs
    report_links: ReportLinks  # signed, expiring download links
    bot_engine: Any  # bots.engine.Engine: the conversation engine behind every chat channel
    telegram: Any  # bots.telegram_channel.TelegramChannel, or None when Telegram is not set up
    consults: Any  # consult.live.LiveConsults: the teleconsults live on this process
    oidc: Any  # authlib's client for the identity provider, or None when single sign-on is not set up
