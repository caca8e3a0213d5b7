"""The OpenAPI document stays in step with the router, and schemathesis, generating requests from it against a
real server, gets no 500 for any input."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest
from starlette.routing import Route

from core.config import Settings
from core.identity import Role
from portal.app import create_app
from portal.openapi import DOCUMENT
from tests.support.server import serving


def test_every_json_route_is_documented_and_nothing_else(settings: Settings) -> None:
    routed = {
        (r.path, m.lower())
        for r in create_app(settings).routes
        if isinstance(r, Route) and (r.path.startswith("/api/") or r.path in ("/healthz", "/readyz"))
        for m in (r.methods or ()) - {"HEAD"}
    }
    documented = {(path, method) for path, ops in DOCUMENT["paths"].items() for method in ops}
    assert documented == routed


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error(
    settings: Settings,
    pool: asyncpg.Pool,
    staff_token,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    async with serving(create_app(settings)) as addr:
        async with httpx.AsyncClient(base_url=f"http://{addr}") as http:
            assert (await http.get("/openapi.json")).json()["openapi"] == "3.1.0"
        token = await staff_token(Role.ADMIN)  # an admin reaches the most handlers
        # The server runs on this event loop: wait for schemathesis without blocking it.
        proc = await asyncio.create_subprocess_exec(
            *[
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"http://{addr}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "30",
                "--seed",
                "20261121",
                "--workers",
                "1",
                "--no-shrink",
                "--exclude-method",
                "DELETE",  # signing out would end the session the rest of the run uses
                "--header",
                f"Authorization: Bearer {token}",
                "--report-dir",
                str(tmp_path),
            ],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 600)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-5000:]
    assert "Loaded specification" in text and " passed" in text and "Server error" not in text
