"""Serve the real app with uvicorn on a loopback port inside the test's event loop (WebSockets need a server)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from starlette.applications import Starlette

from tests.support.procs import free_port


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # leave pytest's signal handling alone
        yield


@asynccontextmanager
async def serving(app: Starlette, *, port: int | None = None) -> AsyncIterator[str]:
    """Yields ``host:port``. The app's lifespan (pool, Redis, hub, relay) runs as under ``labpulse serve``."""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        ws_max_size=64 * 1024,
        ws_per_message_deflate=False,
        log_config=None,
        lifespan="on",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        await task
        raise RuntimeError("the server did not start")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


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
