"""create_app(settings): the only place that wires routes, middleware and error handlers."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from bots import telegram_channel, twilio_channel
from core import permissions
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


def create_app(settings: Settings, *, notifier: Notifier | None = None) -> Starlette:
    return Starlette(
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
    return create_app(load_settings(os.environ))
