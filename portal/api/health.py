"""GET /healthz: 200 when PostgreSQL and Redis both answer within a second, 503 (naming which) when not."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def _check(probe: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(probe, timeout=1.0)
    except Exception as exc:  # noqa: BLE001 - a health check reports any failure (by type, no detail) instead of raising
        return f"unreachable ({type(exc).__name__})"
    return "ok"


async def healthz(request: Request) -> JSONResponse:
    pool = request.state.pool
    postgres = await _check(pool.fetchval("SELECT 1"))
    redis = await _check(request.state.redis.ping())
    ok = postgres == "ok" and redis == "ok"
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "postgres": postgres, "redis": redis},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


def routes() -> list[Route]:
    return [Route("/healthz", healthz, methods=["GET"], name="health")]
