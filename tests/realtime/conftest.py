from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from core.config import Settings
from core.patients.model import Patient
from core.samples.model import Sample
from core.vault import Vault
from portal.app import create_app
from tests.support.factories import make_patient, make_sample
from tests.support.inbox import Inbox
from tests.support.server import serving


@dataclass
class Live:
    """A running server and a way to sign a phone in over HTTP, as the patient's browser would."""

    addr: str
    inbox: Inbox
    http: httpx.AsyncClient

    async def sign_in(self, phone: str) -> str:
        r = await self.http.post("/api/patient/code", json={"phone": phone})
        assert r.status_code == 202, r.text
        r = await self.http.post("/api/patient/session", json={"phone": phone, "code": self.inbox.last_code(phone)})
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    def socket(self, token: str, *, query: str = "", origin: str | None = None) -> Any:
        headers = {"Cookie": f"lp_session={token}"}
        return connect(
            f"ws://{self.addr}/ws/status{query}",
            additional_headers=headers,
            origin=origin or f"http://{self.addr}",  # type: ignore[arg-type]
            max_size=2**20,
            open_timeout=10,
        )


@pytest.fixture
async def live(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Live]:
    inbox = Inbox()
    app = create_app(settings.with_overrides(serve_relay=True, ws_idle_seconds=30), notifier=inbox)
    async with serving(app) as addr, httpx.AsyncClient(base_url=f"http://{addr}") as http:
        yield Live(addr, inbox, http)


async def patient_signed_in(live: Live, pool: asyncpg.Pool, vault: Vault, phone: str) -> tuple[str, Patient, Sample]:
    """A patient on ``phone`` with one collected tube, signed in over HTTP: (session token, patient, tube)."""
    async with pool.acquire() as conn:
        patient = await make_patient(conn, vault, phone=phone)
        sample = await make_sample(conn, vault, patient=patient)
    return await live.sign_in(phone), patient, sample


async def recv(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
