"""The access log (issue 20): one JSON line for every HTTP request and every WebSocket, whatever its answer (a 401,
a 422, a health check, a refused socket), with the request id, the method, the route's template (never the path
itself, which can hold a barcode or an id), the status (a socket's close code) and the time taken; and the same as
the ``labpulse_http_request_seconds`` histogram, labelled by template and status class so it stays small."""

from __future__ import annotations

import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics

log = structlog.get_logger("labpulse.access")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, accepted = 0, False

        async def watch(message: Message) -> None:
            nonlocal status, accepted
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start"):
                status = int(message["status"])
            elif kind == "websocket.accept":
                status, accepted = 101, True
                metrics.SOCKETS_OPEN.labels(_template(scope)).inc()
            elif kind == "websocket.close":
                status = int(message.get("code", 1000))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            status = status or 500
            raise
        finally:
            seconds = time.perf_counter() - started
            route = _template(scope)
            if accepted:
                metrics.SOCKETS_OPEN.labels(route).dec()
            name = getattr(scope.get("route"), "name", None)
            if isinstance(name, str) and name.startswith("bots."):  # bots.twilio, bots.telegram, bots.twilio.status
                metrics.WEBHOOK_SECONDS.labels(name.split(".")[1]).observe(seconds)
            if scope["type"] == "http":
                method = scope.get("method", "?")
                method = method if method in _METHODS else "other"  # a label never grows with what callers send
                metrics.HTTP_SECONDS.labels(route, method, f"{status // 100}xx" if status else "none").observe(seconds)
            else:
                method = "WS"
            log.info("request", method=method, route=route, status=status or None, ms=round(seconds * 1000, 1))
