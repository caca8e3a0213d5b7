"""Drive the real app in-process: run its lifespan, hand its state to each request as a server would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send


@asynccontextmanager
async def app_client(
    app: Starlette,
    *,
    client_ip: str = "203.0.113.7",
    raise_app_exceptions: bool = True,
    base_url: str = "https://testserver",
) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(
            app=with_state, client=(client_ip, 50000), raise_app_exceptions=raise_app_exceptions
        )
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            client.app_state = state  # type: ignore[attr-defined]
            yield client


def state_of(client: httpx.AsyncClient) -> Any:
    return client.app_state  # type: ignore[attr-defined]
