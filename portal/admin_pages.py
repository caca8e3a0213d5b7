"""Administration in the staff workspace (issue 19): staff accounts (add one with a first password; change a role,
a centre, or switch an account off, which ends its open sessions at once). The audit search is ``/admin/audit``."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.booking import catalogue
from core.errors import DomainError, InvalidInput
from core.identity import Role
from core.permissions import STAFF
from core.staff import service as staff
from core.staff.service import StaffMember
from portal.guard import staff_route
from portal.http import request_meta
from portal.pages import _form
from portal.staff_pages import page

ROLES = tuple(sorted(role.value for role in STAFF))


def _role(raw: str | None) -> Role:
    if raw not in ROLES:
        raise InvalidInput("role", "Choose a staff role.")
    return Role(raw)


async def accounts(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        people = await staff.accounts(conn, member.actor)
        centres = await catalogue.centres_all(conn)
    q = request.query_params
    return page(request, "staff_accounts.html", member, people=people, centres=centres, roles=ROLES,
                done=q.get("done", "")[:10], error=q.get("error", "")[:300])  # fmt: skip


async def add(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    try:
        async with request.state.pool.acquire() as conn:
            added = await staff.add(conn, username=data.get("username", "")[:64],
                                    display_name=data.get("display_name", "")[:120], role=_role(data.get("role")),
                                    password=data.get("password", "")[:256], actor=member.actor,
                                    meta=request_meta(request))  # fmt: skip
            if data.get("centre_id"):
                await staff.set_centre(conn, added.id, data["centre_id"][:40], actor=member.actor)
    except DomainError as exc:
        return RedirectResponse(f"/staff/admin/accounts?error={quote(exc.message[:300])}", status_code=303)
    return RedirectResponse("/staff/admin/accounts?done=added", status_code=303)


async def change(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    try:
        async with request.state.pool.acquire() as conn:
            await staff.change(conn, request.state.staff_sessions, request.path_params["staff_id"][:64],
                               role=_role(data.get("role")), centre_id=(data.get("centre_id") or "")[:40] or None,
                               active=data.get("active") == "on", actor=member.actor,
                               meta=request_meta(request))  # fmt: skip
    except DomainError as exc:
        return RedirectResponse(f"/staff/admin/accounts?error={quote(exc.message[:300])}", status_code=303)
    return RedirectResponse("/staff/admin/accounts?done=changed", status_code=303)


def routes() -> list[Route]:
    return [
        staff_route("/staff/admin/accounts", accounts, methods=["GET"], name="staff.page.accounts"),
        staff_route("/staff/admin/accounts", add, methods=["POST"], name="staff.page.accounts.add"),
        staff_route("/staff/admin/accounts/{staff_id}", change, methods=["POST"], name="staff.page.accounts.change"),
    ]
