"""create_app(settings): the only place that wires routes, middleware and error handlers."""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.middleware import Middleware

from core.config import Settings, load_settings
from core.notify import Notifier
from portal.api import health, patient, staff
from portal.errors import EXCEPTION_HANDLERS
from portal.http import RequestIdMiddleware
from portal.lifespan import make_lifespan
from portal.security import SecurityHeadersMiddleware
from realtime import status_socket


def create_app(settings: Settings, *, notifier: Notifier | None = None) -> Starlette:
    return Starlette(
        routes=[*health.routes(), *staff.routes(), *patient.routes(), *status_socket.routes()],
        middleware=[Middleware(RequestIdMiddleware), Middleware(SecurityHeadersMiddleware)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=make_lifespan(settings, notifier),
    )


def create_app_from_env() -> Starlette:
    """uvicorn factory for ``labpulse serve``: the CLI has already resolved URLs and secrets into the env."""
    return create_app(load_settings(os.environ))
