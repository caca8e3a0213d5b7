"""Issue 16, item 3: NUL bytes, other control characters and deep JSON get a calm 400 at every input boundary of a
real server (path, query, JSON, form, WebSocket handshake and frames), never a 500 with a traceback; what a person
types into a chat is cleaned instead; a Telegram update that can never be read is answered 200 once, not 500
forever (item 10)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core.config import Settings
from portal.app import create_app
from tests.bots.test_telegram import SECRET, post
from tests.realtime.conftest import Live, patient_signed_in, recv
from tests.support.inbox import Inbox
from tests.support.server import serving

DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture
async def server(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(settings, notifier=Inbox())) as addr:
        async with httpx.AsyncClient(base_url=f"http://{addr}", timeout=10) as client:
            yield client


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        ("GET", "/verify/%00", {}),
        ("GET", "/my-tests?patient=%00", {}),
        ("GET", "/api/patient/status?patient=%00", {}),
        ("GET", "/api/admin/audit?action=%01x", {}),
        ("POST", "/api/staff/session", {"content": '{"username": "a\\u0000b", "password": "x"}'}),
        ("POST", "/api/staff/scan", {"content": '{"barcode": "T-1\\u0000", "to": "in_transit", "centre_id": "CC-1"}'}),
        ("POST", "/api/staff/break-glass", {"content": '{"patient_id": "x", "reason": "\\u001b[31m"}'}),
        ("POST", "/api/triage", {"content": DEEP}),
        ("POST", "/api/patient/code", {"content": '{"phone": ' + DEEP + "}"}),
        ("POST", "/signin", {"data": {"csrf": "x", "phone": "98\x0000"}}),
    ],
)
async def test_control_characters_and_deep_json_get_a_calm_400(
    server: httpx.AsyncClient, method: str, url: str, kwargs: dict[str, object]
) -> None:
    headers = {"content-type": "application/json"} if "content" in kwargs else {}
    r = await server.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == 400, (url, r.status_code, r.text[:300])
    assert (r.json()["error"] == "invalid_input" and "control character" in r.json()["message"]) or "nested" in r.text
    assert "Traceback" not in r.text


async def test_the_status_socket_refuses_control_characters_in_its_query_and_frames(
    live: Live,
    pool: asyncpg.Pool,
    vault,  # type: ignore[no-untyped-def]
) -> None:
    token, _, _ = await patient_signed_in(live, pool, vault, "+919811100031")
    with pytest.raises(InvalidStatus):
        async with live.socket(token, query="?patient=%00"):
            pass
    async with live.socket(token) as ws:
        await recv(ws)
        await ws.send(json.dumps({"type": "ack", "event_id": "a\x00b"}))
        frame = await recv(ws)
        assert frame["type"] == "error" and frame["code"] == "malformed"
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_an_unreadable_telegram_update_is_answered_once_not_retried_forever(
    tg: httpx.AsyncClient,  # type: ignore[no-untyped-def]
) -> None:
    for message in ("a string", ["a", "list"]):
        update = {"update_id": 880000 + len(str(message)), "message": message}
        r = await post(tg, update)
        assert r.status_code == 200, r.text
    nested = await tg.post("/bots/telegram", content=DEEP.encode(), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert nested.status_code == 400
