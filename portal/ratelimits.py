"""Apply ``core.ratelimit.ENDPOINT_LIMITS`` to the routes that have one, counted in Redis (shared by every
process): per client IP, or per person (the patient's phone or the staff account behind the session, however the
token was sent; the IP without one). Over
the limit: 429 with ``Retry-After`` and a calm message, before the handler runs (a socket is refused)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from core.inputs import valid_ip
from core.ratelimit import ENDPOINT_LIMITS

_SESSION_COOKIES = ("lp_session", "lp_staff")


def client_ip(scope: Scope) -> str:
    """The client's address as the server resolved it (behind a trusted proxy: the forwarded one), or "unknown"
    when it is not an IP address at all."""
    client = scope.get("client")
    return valid_ip(client[0] if client else None) or "unknown"


def _credential(scope: Scope) -> str | None:
    """The session token however it was sent: ``Authorization`` in any case and spacing, or a session cookie."""
    headers: dict[bytes, bytes] = dict(scope.get("headers", []))
    scheme, _, value = headers.get(b"authorization", b"").decode("latin-1").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name in _SESSION_COOKIES and value.strip():
            return value.strip()
    return None


async def _key(scope: Scope, per: str) -> str:
    """Whose bucket: per IP, or per the person behind the session (every session of one phone, or one staff
    account, shares a bucket); a credential that resolves to no one counts against its IP."""
    if per == "session" and (token := _credential(scope)) is not None:
        state = scope.get("state", {})
        patients, staff = state.get("patient_sessions"), state.get("staff_sessions")
        if patients is not None and (session := await patients.resolve_once(scope, token)) is not None:
            return f"p:{session.phone_lookup[:32]}"
        if staff is not None and (member := await staff.resolve(token)) is not None:
            return f"st:{member.id}"
    return f"ip:{client_ip(scope)}"


def limited(app: ASGIApp, name: str) -> ASGIApp:
    """``app`` behind the rate limit of endpoint ``name`` (core/ratelimit.py's ENDPOINT_LIMITS)."""
    limit, window, per = ENDPOINT_LIMITS[name]

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state", {})
        limiter = state.get("rate_limiter")
        if limiter is not None:
            wait = await limiter.hit(f"ep:{name}", await _key(scope, per), limit=limit, window_seconds=window)
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
            route.app = limited(route.app, route.name)
