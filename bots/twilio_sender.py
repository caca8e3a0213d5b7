"""Sending through Twilio's REST API with the twilio library: a ``Notifier`` per channel (SMS, WhatsApp).

The library's requests go through ``HttpxTwilioClient``, which can point them at another base URL (the tests'
local stand-in of the Twilio API; a regional edge). A 429 or 5xx is transient (the job queue retries with
backoff); any other refusal is permanent (``SendRefused``: recorded, never retried). WhatsApp allows free-form
messages only within 24 hours of the person's last message to us; outside that window the message goes as the
approved template ``LABPULSE_WHATSAPP_TEMPLATE_SID``, whose one variable carries the text. The library's own
request logging is kept at WARNING: it would print numbers.
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

from core.notify import SendRefused, SendUncertain

logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
TRANSIENT = {429, 500, 502, 503, 504}


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


class TwilioNotifier:
    """A Notifier for one Twilio channel. ``window_open(phone)`` says whether WhatsApp's 24-hour window is open."""

    def __init__(
        self,
        twilio: Client,
        channel: str,
        sender: str,
        *,
        status_callback: str | None = None,
        template_sid: str | None = None,
        window_open: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self._twilio = twilio
        self._channel = channel
        self._sender = sender
        self._callback = status_callback
        self._template = template_sid
        self._window_open = window_open

    async def send(self, phone: str, text: str, *, purpose: str, media_url: str | None = None) -> None:
        whatsapp = self._channel == "whatsapp"
        args: dict[str, Any] = {
            "to": f"whatsapp:{phone}" if whatsapp else phone,
            "from_": f"whatsapp:{self._sender}" if whatsapp else self._sender,
        }
        if self._callback:
            args["status_callback"] = self._callback
        if whatsapp and self._template and self._window_open and not await self._window_open(phone):
            args["content_sid"] = self._template  # outside the 24-hour window: the approved template
            args["content_variables"] = json.dumps({"1": text})
        else:
            args["body"] = text
            if media_url and whatsapp:
                args["media_url"] = [media_url]
        try:
            await self._twilio.messages.create_async(**args)
        except httpx.ReadTimeout:  # the request went out and no answer came: it may have been sent
            raise SendUncertain("twilio did not answer in time") from None
        except TwilioRestException as exc:
            if exc.status in TRANSIENT:
                raise ProviderBusy(f"twilio answered {exc.status}") from None
            raise SendRefused(str(exc.code or exc.status)) from None
