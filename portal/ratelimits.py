"""Apply ``core.ratelimit.ENDPOINT_LIMITS`` to the routes that have one, counted in Redis (shared by every
process): per client IP, or per session (the bearer token or session cookie, hashed; the IP without one). Over
the limit: 429 with ``Retry-After`` and a calm message, before the handler runs (a socket is refused)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from core.ratelimit import ENDPOINT_LIMITS, RateLimiter

_SESSION_COOKIES = (b"lp_session=", b"lp_staff=")


def _key(scope: Scope, per: str) -> str:
    client = scope.get("client")
    ip = client[0] if client else "unknown"
    if per == "session":
        headers = dict(scope.get("headers", []))
        credential = headers.get(b"authorization", b"")
        if not credential:
            cookies = headers.get(b"cookie", b"")
            credential = b";".join(c.strip() for c in cookies.split(b";") if c.strip().startswith(_SESSION_COOKIES))
        if credential:
            return "s:" + hashlib.sha256(credential).hexdigest()[:32]
    return f"ip:{ip}"


def _limited(app: ASGIApp, name: str) -> ASGIApp:
    limit, window, per = ENDPOINT_LIMITS[name]

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state", {})
        redis = state.get("redis")
        if redis is not None:
            limiter = RateLimiter(redis, state["settings"].redis_prefix)
            wait = await limiter.hit(f"ep:{name}", _key(scope, per), limit=limit, window_seconds=window)
            if wait is not None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                response = JSONResponse(
                    {
                        "error": "too_many_attempts",
                        "message": f"Too many requests in a short time. Please wait {wait} seconds and try again.",
                        "retry_after": wait,
                    },
                    status_code=429,
                    headers={"Retry-After": str(wait)},
                )
                await response(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded


def apply(routes: Sequence[BaseRoute]) -> None:
    for route in routes:
        if isinstance(route, Route | WebSocketRoute) and route.name in ENDPOINT_LIMITS:
            route.app = _limited(route.app, route.name)
