"""Sending through Twilio's REST API with the twilio library: a ``Notifier`` per channel (SMS, WhatsApp).

The library's requests go through ``HttpxTwilioClient``, which can point them at another base URL (the tests'
local stand-in of the Twilio API; a regional edge). A 429 or 5xx is transient (the job queue retries with
backoff); any other refusal is permanent (``SendRefused``: recorded, never retried).

Templates (core/message_templates.py): WhatsApp allows free-form messages only within 24 hours of the person's last
message to us; outside that window a notice goes as its kind's approved content template in the person's language,
its fields as the template's variables (each cleaned of line breaks and cut to ``VARIABLE_LIMIT`` characters, as
Twilio and Meta require). An SMS to an Indian number carries the DLT principal entity id and the kind's DLT template
id (``DltEntityId``, ``DltTemplateId``); the library's ``messages.create`` has no such parameters, so that request
goes through the library's own generic ``request`` to the same Messages resource.

The library's own request logging is kept at WARNING: it would print numbers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from core.message_templates import Templates
from core.notify import Message, SendRefused, SendUncertain

logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
TRANSIENT = {429, 500, 502, 503, 504}
VARIABLE_LIMIT = 255  # characters in one content variable, as Twilio caps it


def window_key(prefix: str, lookup: str) -> str:
    """The Redis key that marks a person's open 24-hour WhatsApp window (set by the webhook on each message)."""
    return f"{prefix}:bot:wa-window:{lookup[:32]}"


def window_checker(redis: Any, prefix: str, lookup: Callable[[str], str]) -> Callable[[str], Awaitable[bool]]:
    """Whether a person wrote to us on WhatsApp in the last 24 hours (free-form messages allowed)."""

    async def is_open(phone: str) -> bool:
        return bool(await redis.exists(window_key(prefix, lookup(phone))))

    return is_open


class ProviderBusy(Exception):
    """Twilio said 429 or 5xx: try again later."""


class HttpxTwilioClient(AsyncHttpClient):  # type: ignore[misc]  # twilio is untyped here
    def __init__(self, api_base: str | None = None, timeout: float = 10.0) -> None:
        super().__init__(logger=logging.getLogger("twilio.http_client"), is_async=True, timeout=timeout)
        self._base = api_base.rstrip("/") if api_base else None
        self._http = httpx.AsyncClient(timeout=timeout)

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the library's own signature
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        if self._base:
            parts = urlsplit(uri)
            uri = f"{self._base}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        query: Any = params
        r = await self._http.request(
            method,
            uri,
            params=query,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout or self.timeout,
            follow_redirects=allow_redirects,
        )
        return TwilioResponse(r.status_code, r.text, r.headers)

    async def aclose(self) -> None:
        await self._http.aclose()


def client(account_sid: str, auth_token: str, api_base: str | None = None) -> Client:
    return Client(account_sid, auth_token, http_client=HttpxTwilioClient(api_base))


def variables(message: Message) -> str:
    """A template's ContentVariables: {"1": …, "2": …}, each one line, at most ``VARIABLE_LIMIT`` characters."""
    values = [" ".join(v.split()) for v in message.variables()]
    clipped = [v if len(v) <= VARIABLE_LIMIT else v[: VARIABLE_LIMIT - 1] + "…" for v in values]
    return json.dumps({str(n): v for n, v in enumerate(clipped, 1)}, ensure_ascii=False)


class TwilioNotifier:
    """A Notifier for one Twilio channel. ``window_open(phone)`` says whether WhatsApp's 24-hour window is open."""

    def __init__(
        self,
        twilio: Client,
        channel: str,
        sender: str,
        *,
        status_callback: str | None = None,
        templates: Templates | None = None,
        window_open: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self._twilio = twilio
        self._channel = channel
        self._sender = sender
        self._callback = status_callback
        self._templates = templates or Templates()
        self._window_open = window_open

    async def send(self, phone: str, message: Message, *, media_url: str | None = None) -> None:
        whatsapp = self._channel == "whatsapp"
        args: dict[str, Any] = {
            "to": f"whatsapp:{phone}" if whatsapp else phone,
            "from_": f"whatsapp:{self._sender}" if whatsapp else self._sender,
        }
        if self._callback:
            args["status_callback"] = self._callback
        template = self._templates.whatsapp_for(message.kind, message.lang) if whatsapp else None
        if template and self._window_open and not await self._window_open(phone):
            args["content_sid"] = template  # outside the 24-hour window: the kind's approved template
            args["content_variables"] = variables(message)
        else:
            args["body"] = message.text
            if media_url and whatsapp:
                args["media_url"] = [media_url]
        try:
            if not whatsapp and phone.startswith("+91") and self._templates.dlt_entity_id:
                await self._send_dlt(args, message)
            else:
                await self._twilio.messages.create_async(**args)
        except httpx.ReadTimeout:  # the request went out and no answer came: it may have been sent
            raise SendUncertain("twilio did not answer in time") from None
        except TwilioRestException as exc:
            if exc.status in TRANSIENT:
                raise ProviderBusy(f"twilio answered {exc.status}") from None
            raise SendRefused(str(exc.code or exc.status)) from None

    async def _send_dlt(self, args: dict[str, Any], message: Message) -> None:
        """The Messages request with India's DLT ids, through the library's generic request."""
        template = self._templates.dlt_for(message.kind, message.lang)
        if template is None:  # production refuses to start without it; elsewhere the carrier would drop it
            raise SendRefused("no-dlt-template")
        data = {"To": args["to"], "From": args["from_"], "Body": args["body"],
                "DltEntityId": self._templates.dlt_entity_id, "DltTemplateId": template}  # fmt: skip
        if "status_callback" in args:
            data["StatusCallback"] = args["status_callback"]
        uri = f"{self._twilio.api.base_url}/2010-04-01/Accounts/{self._twilio.account_sid}/Messages.json"
        response = await self._twilio.request_async("POST", uri, data=data)
        if response.status_code >= 400:
            try:
                body = json.loads(response.text)
            except ValueError:
                body = {}
            raise TwilioRestException(response.status_code, uri, body.get("message", ""), body.get("code"), "POST")
