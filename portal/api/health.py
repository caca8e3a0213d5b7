"""GET /healthz: 200 when PostgreSQL and Redis both answer within a second, 503 (naming which) when not.
GET /readyz: the same, and every background loop of this process running with a fresh heartbeat (the hub's
subscription; with the relay in-process, the relay, job queue, sweep and escalation timer). GET /metrics:
Prometheus text (loop health, no PHI)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core import metrics as core_metrics
from core.db.pool import ping


async def _check(probe: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(probe, timeout=1.0)
    except Exception as exc:  # noqa: BLE001 - a health check reports any failure (by type, no detail) instead of raising
        return f"unreachable ({type(exc).__name__})"
    return "ok"


async def healthz(request: Request) -> JSONResponse:
    pool = request.state.pool
    postgres = await _check(ping(pool))
    redis = await _check(request.state.redis.ping())
    ok = postgres == "ok" and redis == "ok"
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "postgres": postgres, "redis": redis},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


async def readyz(request: Request) -> JSONResponse:
    postgres = await _check(ping(request.state.pool))
    redis = await _check(request.state.redis.ping())
    loops_ready, detail = request.state.supervisor.health()
    ok = loops_ready and postgres == "ok" and redis == "ok"
    return JSONResponse(
        {"status": "ready" if ok else "unready", "postgres": postgres, "redis": redis, **detail},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


async def metrics(request: Request) -> Response:
    body, media_type = core_metrics.exposition()
    return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    return [
        Route("/healthz", healthz, methods=["GET"], name="health"),
        Route("/readyz", readyz, methods=["GET"], name="ready"),
        Route("/metrics", metrics, methods=["GET"], name="metrics"),
    ]
