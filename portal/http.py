"""Small HTTP helpers every route shares: request ids, bounded JSON bodies, request metadata for audit."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import trace
from core.errors import InvalidInput
from core.identity import RequestMeta
from core.inputs import valid_ip

MAX_JSON_BYTES = 64 * 1024


def secure_cookies(conn: HTTPConnection) -> bool:
    """Cookies carry ``Secure`` always in production; in demo mode only when the page came over https, so a phone
    on the LAN can sign in to a demo served over plain http (a Secure cookie would never come back)."""
    settings = conn.state.settings
    public = settings.public_url or ""
    return settings.mode != "demo" or conn.url.scheme in ("https", "wss") or public.startswith("https://")


def same_origin(request: Request) -> bool:
    """Whether a browser says this request comes from our own pages: its Origin (or, without one, its Referer) is
    this server's own origin, LABPULSE_PUBLIC_URL's, or one in LABPULSE_ALLOWED_ORIGINS."""
    settings = request.state.settings
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent:
        return False
    parts = urlsplit(sent)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    own = {
        f"{request.url.scheme}://{request.headers.get('host', '')}".lower(),
        *map(str.lower, settings.allowed_origins),
    }
    if settings.public_url:
        public = urlsplit(settings.public_url)
        own.add(f"{public.scheme}://{public.netloc}".lower())
    return origin in own


class PayloadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than {limit // 1024} KB.")
        self.limit = limit


class RequestIdMiddleware:
    """Give every request an id (or keep a well-formed one the caller sent) and echo it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = trace.well_formed(sent) or trace.new()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        token = trace.bind(request_id)  # what this request writes (events, jobs) and logs carries it
        try:  # a WebSocket sends no response head: nothing to add, and nothing kept for its life
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            trace.reset(token)


def request_meta(request: Request) -> RequestMeta:
    return RequestMeta(
        request_id=getattr(request.state, "request_id", None),
        source_ip=valid_ip(request.client.host if request.client else None),
        user_agent=(request.headers.get("user-agent") or "")[:200] or None,
    )


async def read_json(request: Request, *, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """Read a JSON object body, refusing other content types, oversized bodies and malformed JSON."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise InvalidInput("body", "Send the request as JSON (Content-Type: application/json).")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(max_bytes)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise PayloadTooLarge(max_bytes)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("body", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise InvalidInput("body", "The request body must be a JSON object.")
    return data


def field_str(data: dict[str, Any], name: str, *, required: bool = True, max_len: int = 200) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidInput(name, f"'{name}' is required.")
        return None
    if not isinstance(value, str):
        raise InvalidInput(name, f"'{name}' must be a string.")
    if len(value) > max_len:
        raise InvalidInput(name, f"'{name}' is longer than {max_len} characters.")
    return value


def field_int(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(name, f"'{name}' must be a whole number.")
    return value
