"""One audit row per HTTP request to an endpoint that touches PHI (``core.permissions.PHI_ENDPOINTS``): who
(actor, role), which patient, which endpoint (its route template, never the raw path, which may hold an id
someone typed), the outcome (HTTP status), IP, user agent and request id. Written after the response is sent,
so it adds no latency; the domain's own audit rows say what was read or changed."""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import audit, permissions
from core.identity import Actor, RequestMeta, Role
from core.ids import is_uuid
from core.inputs import valid_ip

log = logging.getLogger("labpulse.portal")


class RequestAuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            name = getattr(route, "name", None)
            if name in permissions.PHI_ENDPOINTS:
                await _record(scope, name, getattr(route, "path", ""), status)


async def _record(scope: Scope, name: str, template: str, status: int) -> None:
    state: dict[str, Any] = scope.get("state", {})
    pool = state.get("pool")
    if pool is None:
        return
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    client = scope.get("client")
    actor: Actor = state.get("actor") or Actor("anonymous", Role.SYSTEM)
    patient_id = state.get("patient_id") or scope.get("path_params", {}).get("patient_id")
    try:
        async with pool.acquire() as conn, conn.transaction():
            await audit.append(
                conn,
                actor=actor,
                action=f"http:{name}",
                entity_type="endpoint",
                entity_id=template,
                patient_id=patient_id if is_uuid(patient_id) else None,
                outcome=f"http:{status}",
                summary={"method": scope.get("method")},
                meta=RequestMeta(
                    request_id=state.get("request_id"),
                    source_ip=valid_ip(client[0] if client else None),
                    user_agent=(headers.get("user-agent") or "")[:200] or None,
                ),
            )
    except Exception:  # the response has gone; a failed audit write is logged loudly, never raised to the client
        log.error("could not write the request audit row", exc_info=True)
