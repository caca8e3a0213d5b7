"""Route guards: the one place an HTTP endpoint's required action (``core.permissions.ENDPOINTS``) is enforced
for staff, before the handler reads anything. Refusals are audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import audit, permissions
from core.errors import PermissionDenied
from core.staff.service import StaffMember
from portal.auth import require_staff
from portal.http import request_meta

StaffHandler = Callable[[Request, StaffMember], Awaitable[Response]]


def staff_route(path: str, handler: StaffHandler, *, name: str, methods: list[str]) -> Route:
    """A route for signed-in staff whose role the permission table allows for ``name``."""

    async def endpoint(request: Request) -> Response:
        member = await require_staff(request)
        request.state.actor = member.actor  # for the request audit row
        if not permissions.endpoint_allows(name, member.role):
            async with request.state.pool.acquire() as conn, conn.transaction():
                await audit.append(
                    conn,
                    actor=member.actor,
                    action=f"endpoint:{name}",
                    entity_type="endpoint",
                    outcome="refused:forbidden",
                    meta=request_meta(request),
                )
            raise PermissionDenied(permissions.ENDPOINTS.get(name, name), member.role.value)
        return await handler(request, member)

    return Route(path, endpoint, methods=methods, name=name)
