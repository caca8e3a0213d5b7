"""Staff authentication for HTTP: a bearer token or the staff session cookie, resolved through core."""

from __future__ import annotations

from starlette.requests import Request

from core import audit
from core.errors import Unauthenticated
from core.identity import Actor, Role
from core.staff.service import StaffMember
from portal.http import request_meta

STAFF_COOKIE = "lp_staff"


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
    return member
