"""create_app(settings): the only place that wires routes, middleware and error handlers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from bots import telegram_channel, twilio_channel
from core import permissions, supervise
from core.config import Settings, load_settings
from core.notify import Notifier
from portal import (
    admin_pages,
    approval_pages,
    booking_page,
    consult_booking_page,
    consult_pages,
    critical_pages,
    oidc,
    openapi,
    pages,
    ratelimits,
    reception_pages,
    staff_pages,
    triage_page,
)
from portal.access_log import AccessLogMiddleware
from portal.api import admin, collection, health, patient, staff, triage
from portal.errors import EXCEPTION_HANDLERS
from portal.http import RequestIdMiddleware
from portal.input_guard import InputGuardMiddleware
from portal.lifespan import make_lifespan
from portal.request_audit import RequestAuditMiddleware
from portal.security import SecurityHeadersMiddleware
from realtime import staff_socket, status_socket

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def _routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        # The chat webhooks first: they carry most of the traffic, and Starlette tries routes in order.
        *twilio_channel.routes(),
        *telegram_channel.routes(),
        *health.routes(),
        *openapi.routes(),
        *staff.routes(),
        *collection.routes(),
        *admin.routes(),
        *oidc.routes(),
        *patient.routes(),
        *triage.routes(),
        *pages.routes(),
        *staff_pages.routes(),
        *critical_pages.routes(),
        *reception_pages.routes(),
        *approval_pages.routes(),
        *admin_pages.routes(),
        *triage_page.routes(),
        *booking_page.routes(),
        *consult_booking_page.routes(),  # before the room's /consult/{id}
        *consult_pages.routes(),
        *status_socket.routes(),
        *staff_socket.routes(),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    # Every endpoint must have a rule in the one permission table: refuse to start otherwise.
    unruled = sorted({getattr(r, "name", "?") for r in routes} - set(permissions.ENDPOINTS))
    if unruled:
        raise RuntimeError(f"endpoints without a rule in core.permissions.ENDPOINTS: {', '.join(unruled)}")
    ratelimits.apply(routes)
    return routes


class Portal(Starlette):
    """The application. The patient's status socket takes a shorter way in than every other request: it stays open
    for hours, thousands at once, and each layer it passes through keeps a coroutine and its closures alive for
    as long (measured, docs/benchmarks.md). It passes the request id, the access log, the input guard and its rate
    limit, as through the full stack; it skips what does nothing for it: security headers and the request audit
    (HTTP only), the OIDC sign-in session (never read by it), the router and the exception layers (the socket
    closes itself with a calm code on every failure it expects)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._status_route = next(r for r in self.routes if getattr(r, "name", None) == "ws.status")
        self._status_socket: ASGIApp = RequestIdMiddleware(AccessLogMiddleware(InputGuardMiddleware(
            ratelimits.limited(_status_socket, "ws.status"))))  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == status_socket.PATH:
            scope["app"], scope["route"] = self, self._status_route  # as the router sets them: the log names it
            await self._status_socket(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def _status_socket(scope: Scope, receive: Receive, send: Send) -> None:
    await status_socket.status_socket(WebSocket(scope, receive, send))


def create_app(settings: Settings, *, notifier: Notifier | None = None) -> Starlette:
    return Portal(
        routes=_routes(),
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(AccessLogMiddleware),  # inside the id: its line names the request
            Middleware(SecurityHeadersMiddleware),
            Middleware(InputGuardMiddleware),  # control characters and deep JSON: refused before any route
            Middleware(RequestAuditMiddleware),
            # Only the OIDC sign-in writes to it (state, nonce, PKCE verifier), for ten minutes.
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key.reveal() if settings.secret_key else "",
                session_cookie=oidc.SESSION_COOKIE,
                max_age=600,
                same_site="lax",
                https_only=settings.mode != "demo",  # a demo over plain http on the LAN still signs staff in
            ),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=make_lifespan(settings, notifier),
    )


def create_app_from_env() -> Starlette:
    """uvicorn factory for ``labpulse serve``: the CLI has already resolved URLs and secrets into the env."""
    app = create_app(load_settings(os.environ))
    supervise.settle_heap()
    return app
