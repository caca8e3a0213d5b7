"""One place that turns domain errors into HTTP responses. No stack trace ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from core.errors import (
    Conflict,
    DomainError,
    Gone,
    Invalid,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
    Unauthenticated,
)
from core.notify import NotifierUnavailable
from core.reports.download import ReportFileDamaged
from portal.http import PayloadTooLarge
from portal.patient_auth import CsrfFailed
from portal.security import HEADERS as SECURITY_HEADERS

log = logging.getLogger("labpulse.portal")

_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (Gone, 410),
    (Invalid, 422),
    (PermissionDenied, 403),
    (Unauthenticated, 401),
    (TooManyAttempts, 429),
    (NotifierUnavailable, 503),
    (ReportFileDamaged, 503),
)

INTERNAL_MESSAGE = (
    "Something went wrong on our side. Nothing you sent was lost; please try again in a moment. "
    "If it keeps happening, quote the request id to our support team."
)


def status_for(exc: DomainError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


_PAGES = ("/staff", "/admin/")
_FORBIDDEN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>labpulse: not for your role</title>
<link rel="stylesheet" href="/static/portal.css"></head><body><main id="main"><h1>This page is not for your role</h1>
<p>Your account does not use this page. If you need it for your work, ask an administrator.</p>
<p><a href="/staff">Back to your pages</a></p></main></body></html>"""


def _staff_page(request: Request) -> bool:
    return request.url.path.startswith(_PAGES) and "text/html" in request.headers.get("accept", "")


async def domain_error(request: Request, exc: DomainError) -> Response:
    if _staff_page(request) and isinstance(exc, Unauthenticated):
        return RedirectResponse("/staff", status_code=303)  # a staff page asks for the sign-in, not JSON
    if _staff_page(request) and isinstance(exc, PermissionDenied):
        return HTMLResponse(_FORBIDDEN_PAGE, status_code=403)
    body = {"error": exc.code, "message": exc.message, **exc.details(), "request_id": _request_id(request)}
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(body, status_code=status_for(exc), headers=headers)


async def too_large(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {"error": "payload_too_large", "message": str(exc), "request_id": _request_id(request)}, status_code=413
    )


async def http_error(request: Request, exc: HTTPException) -> Response:
    message = {404: "There is nothing at this address.", 405: "This address does not accept that method."}.get(
        exc.status_code, exc.detail
    )
    return JSONResponse(
        {"error": "http_error", "message": message, "request_id": _request_id(request)}, status_code=exc.status_code
    )


async def csrf_failed(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {
            "error": "csrf",
            "message": "This form has expired or did not come from our page. Please reload the page and try again.",
            "request_id": _request_id(request),
        },
        status_code=403,
    )


_INTERNAL_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>labpulse</title>
<link rel="stylesheet" href="/static/portal.css"></head><body><main>
<h1>Sorry, something went wrong on our side</h1><p>{message}</p><p>Request id: {request_id}</p>
<p><a href="/">Back to the start</a></p></main></body></html>"""


UNAVAILABLE_MESSAGE = (
    "We cannot reach our records for a moment. Nothing you sent was lost; please try again in a minute."
)
# A dependency away (PostgreSQL restarting, Redis gone): the caller should try again, and is told so calmly.
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
)


async def unavailable(request: Request, exc: Exception) -> Response:
    log.warning("request refused while a dependency is away (%s)", type(exc).__name__)
    request_id = _request_id(request)
    headers = {"Retry-After": "10", "Cache-Control": "no-store"}
    if "text/html" in request.headers.get("accept", ""):
        page = _INTERNAL_PAGE.format(message=UNAVAILABLE_MESSAGE, request_id=request_id or "-")
        return HTMLResponse(page, status_code=503, headers=headers)
    return JSONResponse({"error": "unavailable", "message": UNAVAILABLE_MESSAGE, "request_id": request_id},
                        status_code=503, headers=headers)  # fmt: skip


async def internal_error(request: Request, exc: Exception) -> Response:
    # Starlette's ServerErrorMiddleware calls this and then re-raises, so the server still logs the traceback
    # (masked). The client never sees it, whatever the debug setting. This answer is sent from outside the other
    # middleware, so it carries the request id and security headers itself.
    request_id = _request_id(request)
    headers = {**SECURITY_HEADERS, **({"X-Request-ID": request_id} if request_id else {})}
    if "text/html" in request.headers.get("accept", ""):
        page = _INTERNAL_PAGE.format(message=INTERNAL_MESSAGE, request_id=request_id or "-")
        return HTMLResponse(page, status_code=500, headers=headers)
    return JSONResponse(
        {"error": "internal", "message": INTERNAL_MESSAGE, "request_id": request_id}, status_code=500, headers=headers
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    **dict.fromkeys(DEPENDENCY_ERRORS, unavailable),
    DomainError: domain_error,
    PayloadTooLarge: too_large,
    CsrfFailed: csrf_failed,
    HTTPException: http_error,
    500: internal_error,
}
