"""Serve the real app with uvicorn on a loopback port inside the test's event loop (WebSockets need a server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from portal.drill.servers import serving


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The app behind a real uvicorn server on loopback, and an HTTP client for it (``client.app_state`` is the
    lifespan's state, as with ``tests.support.asgi.app_client``)."""
    state: dict[str, object] = {}
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def capture(a: Starlette) -> AsyncIterator[object]:
        async with inner(a) as opened:
            state.update(opened or {})
            yield opened

    app.router.lifespan_context = capture
    async with serving(app) as addr, httpx.AsyncClient(base_url=f"http://{addr}", timeout=20) as client:
        client.app_state = state  # type: ignore[attr-defined]
        yield client
