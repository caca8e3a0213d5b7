"""A local stand-in for the parts of the Twilio REST API and the Telegram Bot API that labpulse uses. It records
every request it receives, checks credentials as the real services do, and can be told to fail the next calls
(429, 500, 503, a permanent 400, or no answer in time) so retries are exercised. The real `twilio` client and
python-telegram-bot talk to it: the tests' provider, and the fault drill's."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.message_templates import languages_of
from core.notify import KINDS
from portal.drill.servers import serving

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "stand-in-auth-token-00000000000000"
BOT_TOKEN = "123456:stand-in-bot-token"


def template_env() -> dict[str, str]:
    """Made-up WhatsApp and DLT template ids for every kind of message in every language, as production requires
    them (core/message_templates.py): for the drill and the tests that run production mode against the stand-in."""
    whatsapp = {k: {lang: f"HX{n:030d}{i:02d}" for i, lang in enumerate(languages_of(k))} for n, k in enumerate(KINDS)}
    dlt = {k: {lang: f"1207{n:013d}{i:02d}" for i, lang in enumerate(languages_of(k))} for n, k in enumerate(KINDS)}
    return {"LABPULSE_WHATSAPP_TEMPLATES": json.dumps(whatsapp), "LABPULSE_DLT_ENTITY_ID": "1201159543060917386",
            "LABPULSE_DLT_TEMPLATES": json.dumps(dlt)}  # fmt: skip


@dataclass
class Recorded:
    twilio: list[dict[str, str]] = field(default_factory=list)
    telegram: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # status codes to answer before succeeding again (0: hang)
    hang_seconds: float = 12.0  # how long a hang lasts: longer than the senders' 10 s timeout


def _refused(data: dict[str, str]) -> tuple[int, str] | None:
    """What Twilio refuses of a message's form, as (code, message): a body with a template, a template's variables
    that are not a JSON object of one-line strings of at most 255 characters, a DLT id of the wrong shape."""
    if "ContentSid" in data:
        if "Body" in data:
            return 21619, "a message has a body or a content template, not both"
        try:
            variables = json.loads(data.get("ContentVariables", "{}"))
        except ValueError:
            return 21656, "ContentVariables is not JSON"
        if not isinstance(variables, dict) or not all(
            isinstance(v, str) and len(v) <= 255 and "\n" not in v for v in variables.values()
        ):
            return 21656, "a content variable is not one line of at most 255 characters"
    elif not data.get("Body") and not data.get("MediaUrl"):
        return 21602, "message body is required"
    for name in ("DltEntityId", "DltTemplateId"):
        if name in data and not data[name].isdigit():
            return 21901, f"{name} is invalid"
    return None


class Providers:
    def __init__(self) -> None:
        self.seen = Recorded()
        self.base_url = ""
        self._sids = itertools.count(1)
        self._messages = itertools.count(1)

    async def _failure(self) -> Response | None:
        if not self.seen.fail_next:
            return None
        status = self.seen.fail_next.pop(0)
        if status == 0:  # no answer in time, and nothing sent: the caller cannot tell whether it was
            await asyncio.sleep(self.seen.hang_seconds)
            status = 503
        return JSONResponse({"code": 21211 if status == 400 else 20429 if status == 429 else 20500,
                             "message": "stand-in failure", "status": status}, status_code=status)  # fmt: skip

    async def twilio_messages(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if auth != expected or request.path_params["sid"] != ACCOUNT_SID:
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        form = await request.form()
        data = {k: str(v) for k, v in form.multi_items()}
        if failed := await self._failure():
            return failed
        if refused := _refused(data):
            return JSONResponse({"code": refused[0], "message": refused[1], "status": 400}, status_code=400)
        self.seen.twilio.append(data)
        sid = f"SM{next(self._sids):032d}"
        message = {"sid": sid, "account_sid": ACCOUNT_SID, "to": data.get("To"), "from": data.get("From"),
                   "body": data.get("Body"), "status": "queued", "num_media": "0"}  # fmt: skip
        return JSONResponse(message, status_code=201)

    async def telegram(self, request: Request) -> Response:
        if request.path_params["token"] != BOT_TOKEN:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        method = request.path_params["method"]
        if request.headers.get("content-type", "").startswith("application/json"):
            data: dict[str, Any] = await request.json()
        else:
            data = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if failed := await self._failure():
            return JSONResponse({"ok": False, "error_code": failed.status_code, "description": "stand-in failure"},
                                status_code=failed.status_code)  # fmt: skip
        self.seen.telegram.append((method, data))
        if method == "getMe":
            result: Any = {"id": 123456, "is_bot": True, "first_name": "labpulse", "username": "labpulse_bot"}
        elif method in ("sendMessage", "sendDocument"):
            chat = int(data.get("chat_id", 0))
            result = {"message_id": next(self._messages), "date": 1763700000,
                      "chat": {"id": chat, "type": "private"}, "text": data.get("text", "")}  # fmt: skip
        else:  # setWebhook, deleteWebhook, …
            result = True
        return JSONResponse({"ok": True, "result": result})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{sid}/Messages.json", self.twilio_messages, methods=["POST"]),
                Route("/bot{token}/{method}", self.telegram, methods=["POST", "GET"]),
            ]
        )


@asynccontextmanager
async def providers() -> AsyncIterator[Providers]:
    stand_in = Providers()
    async with serving(stand_in.app()) as addr:
        stand_in.base_url = f"http://{addr}"
        yield stand_in


def telegram_update(update_id: int, chat_id: int, text: str | None = None, contact: str | None = None,
                    contact_user: int | None = None) -> dict[str, Any]:  # fmt: skip
    message: dict[str, Any] = {"message_id": update_id, "date": 1763700000,
                               "chat": {"id": chat_id, "type": "private"},
                               "from": {"id": chat_id, "is_bot": False, "first_name": "Test"}}  # fmt: skip
    if text is not None:
        message["text"] = text
    if contact is not None:
        message["contact"] = {"phone_number": contact, "first_name": "Test",
                              "user_id": contact_user if contact_user is not None else chat_id}  # fmt: skip
    return {"update_id": update_id, "message": message}


def as_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()
