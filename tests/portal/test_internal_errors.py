"""When something breaks inside (here: the database pool is gone), the client gets a calm message and a request
id, as JSON or as a page, never a stack trace or an internal name; a dependency that is away is a 503 ("try again"),
anything else a 500."""

from __future__ import annotations

import pytest

from core.config import Settings
from core.identity import Role
from portal.app import create_app
from tests.support.asgi import app_client, state_of


@pytest.mark.parametrize("accept", ["application/json", "text/html,application/xhtml+xml"])
async def test_a_crash_shows_a_calm_message_and_no_trace(
    settings: Settings,
    staff_token,  # type: ignore[no-untyped-def]
    accept: str,
) -> None:
    token = await staff_token(Role.LAB_TECHNICIAN)
    async with app_client(create_app(settings), raise_app_exceptions=False) as client:  # as a real server would
        await state_of(client)["pool"].close()
        r = await client.get(
            "/api/staff/samples/ANY-TUBE-1", headers={"Authorization": f"Bearer {token}", "Accept": accept}
        )
    assert r.status_code == 503 and r.headers["retry-after"]
    for leak in ("Traceback", "asyncpg", "File ", "InterfaceError", "pool is closed", ".py"):
        assert leak not in r.text, leak
    assert "Nothing you sent was lost" in r.text and r.headers["x-request-id"] in r.text
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert r.headers["content-type"].startswith("text/html" if accept.startswith("text/html") else "application/json")
