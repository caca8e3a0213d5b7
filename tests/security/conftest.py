"""Regression tests for what an attack on a running instance got through (issue 16), each against a real server
(uvicorn on loopback, real PostgreSQL and Redis). The suites they extend lend their settings and helpers; the
clients here talk to a served app instead of an in-process one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from core.config import Settings
from core.vault import Vault
from portal.app import create_app
from tests.bots.test_telegram import stand_in, tg_settings  # noqa: F401 - re-exported as fixtures
from tests.bots.test_twilio_conversations import bot_settings, lab  # noqa: F401 - re-exported as fixtures
from tests.portal.test_patient_signin import PHONE, inbox  # noqa: F401 - re-exported as a fixture
from tests.realtime.conftest import live  # noqa: F401 - re-exported as a fixture
from tests.support.factories import make_patient, make_sample
from tests.support.inbox import Inbox
from tests.support.server import served


@pytest.fixture
async def wa(bot_settings: Settings, pool: asyncpg.Pool, lab: None) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with served(create_app(bot_settings)) as client:
        yield client


@pytest.fixture
async def tg(tg_settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with served(create_app(tg_settings)) as client:
        yield client


@pytest.fixture
async def pc(settings: Settings, pool: asyncpg.Pool, vault: Vault, inbox: Inbox) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with pool.acquire() as conn:
        await make_sample(conn, vault, patient=await make_patient(conn, vault, phone=PHONE))
    async with served(create_app(settings, notifier=inbox)) as client:
        yield client
