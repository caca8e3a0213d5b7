"""Patient authentication for HTTP: session cookie (pages) or bearer token (mobile), and CSRF for cookies.

CSRF is a signed double-submit token: a random ``lp_csrf`` cookie, and in each form (or the X-CSRF-Token
header) an HMAC of it under the server's secret. A page on another site can neither read the cookie nor
forge the HMAC. Every state-changing request that rides on the session cookie must carry it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from core.errors import Unauthenticated
from core.patients.sessions import PATIENT_COOKIE, PatientSession
from core.tracking import patient_actor
from portal.http import secure_cookies

CSRF_COOKIE = "lp_csrf"


class CsrfFailed(Exception):
    """The form was not sent from one of our pages (or the page is too old)."""


def _secret(request: Request) -> bytes:
    key = request.state.settings.secret_key
    return hashlib.sha256(b"labpulse.csrf:" + (key.reveal() if key else "").encode()).digest()


def csrf_token(request: Request) -> tuple[str, str | None]:
    """(token for the form, new cookie value to set or None). Reuses the browser's cookie when it has one."""
    cookie = request.cookies.get(CSRF_COOKIE)
    new = None
    if not cookie or len(cookie) > 64:
        cookie = new = secrets.token_urlsafe(24)
    return hmac.new(_secret(request), cookie.encode(), hashlib.sha256).hexdigest(), new


def check_csrf(request: Request, sent: str | None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not sent:
        raise CsrfFailed
    expected = hmac.new(_secret(request), cookie.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sent):
        raise CsrfFailed


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, secure=secure_cookies(request), samesite="lax",
                        path="/")  # fmt: skip


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def current_patient_session(request: Request) -> PatientSession | None:
    token = bearer(request) or request.cookies.get(PATIENT_COOKIE)
    session: PatientSession | None = await request.state.patient_sessions.resolve(token)
    if session is not None:
        request.state.actor = patient_actor(session.phone_lookup)  # for the request audit row
        request.state.patient_id = session.active_patient_id
    return session


async def require_patient_session(request: Request, *, changes_state: bool = False) -> PatientSession:
    """The signed-in patient session; for a cookie-borne state change, also the CSRF header."""
    session = await current_patient_session(request)
    if session is None:
        raise Unauthenticated("Your session has ended. Please sign in again to see your tests.")
    if changes_state and bearer(request) is None:
        check_csrf(request, request.headers.get("x-csrf-token"))
    return session
