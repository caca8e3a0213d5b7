"""The HTTP and WebSocket boundary's first check (core/inputs.py): a request whose path, query string or body holds
a control character (NUL above all), or whose JSON nests deeper than a real request needs, is refused before any
route sees it, with a calm 400 (a WebSocket handshake: closed with 1008). Chat webhooks (``/bots/``) pass: what a
person typed into a chat is cleaned by the handler instead, since refusing it would only make the provider retry.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.inputs import has_control, json_problem

MAX_BUFFER = 1024 * 1024  # bigger bodies go on untouched: every route has its own, smaller, limit
_MESSAGE = {
    "control": "The request holds a character we cannot accept (a control character such as NUL). Please check "
    "what was sent and try again.",
    "depth": "The request's JSON is nested too deeply to be a real request.",
}


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
        if has_control(scope.get("path", "")) or has_control(query):
            await _refuse(scope, send, "control")
            return
        kind = _body_kind(scope)
        if kind is None:
            await self.app(scope, receive, send)
            return
        messages, body = await _buffer(receive)
        problem = _problem(kind, body) if len(body) <= MAX_BUFFER else None
        if problem is not None:
            await _refuse(scope, send, problem)
            return
        await self.app(scope, _replay(messages, receive), send)


def _body_kind(scope: Scope) -> str | None:
    if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    if scope.get("path", "").startswith("/bots/"):
        return None
    content_type = dict(scope.get("headers", [])).get(b"content-type", b"").split(b";")[0].strip().lower()
    return {b"application/json": "json", b"application/x-www-form-urlencoded": "form"}.get(content_type)


def _problem(kind: str, body: bytes) -> str | None:
    if kind == "json":
        return json_problem(body)
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return "control" if any(has_control(k) or has_control(v) for k, v in pairs) else None


async def _buffer(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    body = bytearray()
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body.extend(message.get("body", b""))
        if not message.get("more_body", False) or len(body) > MAX_BUFFER:
            break
    return messages, bytes(body)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _refuse(scope: Scope, send: Send, problem: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    request_id = scope.get("state", {}).get("request_id")
    body = json.dumps({"error": "invalid_input", "message": _MESSAGE[problem], "request_id": request_id}).encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
