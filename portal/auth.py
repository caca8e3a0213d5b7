"""Staff authentication for HTTP: a bearer token or the staff session cookie, resolved through core. A state
change signed in by the cookie alone must come from our own origin and carry the CSRF header (double submit, as
on the patient side)."""

from __future__ import annotations

from starlette.requests import Request

from core import audit
from core.errors import Unauthenticated
from core.identity import Actor, Role
from core.staff.service import STAFF_COOKIE, StaffMember
from portal.http import request_meta, same_origin
from portal.patient_auth import CsrfFailed, check_csrf

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(STAFF_COOKIE)


async def require_staff(request: Request) -> StaffMember:
    """The signed-in staff member, or ``Unauthenticated`` (the refusal is audited)."""
    token = bearer_token(request)
    member: StaffMember | None = await request.state.staff_sessions.resolve(token) if token else None
    if member is None:
        async with request.state.pool.acquire() as conn, conn.transaction():
            await audit.append(
                conn,
                actor=Actor("anonymous", Role.SYSTEM),
                action=f"http:{request.method} {request.url.path}",
                entity_type="endpoint",
                outcome="refused:unauthenticated",
                meta=request_meta(request),
            )
        raise Unauthenticated("Sign in first: send a staff bearer token or the staff session cookie.")
    if request.method not in SAFE_METHODS and not request.headers.get("authorization"):
        # Signed in by the cookie alone: a browser sends it from any site's form, so a change must show it comes
        # from our own page (Origin) and carry the CSRF token that came with the sign-in.
        if not same_origin(request):
            raise CsrfFailed
        check_csrf(request, request.headers.get("x-csrf-token") or await _form_csrf(request))
    return member


async def _form_csrf(request: Request) -> str | None:
    """A staff page's form carries the token as a field (a form cannot set a header); the form is read once and
    kept by Starlette for the handler."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        value = (await request.form(max_files=0, max_fields=10, max_part_size=4096)).get("csrf")
        return value if isinstance(value, str) else None
    return None
