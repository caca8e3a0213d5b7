"""The staff scan API over HTTP: each domain error maps to its status with a body that says what is wrong."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from core.identity import Role
from core.vault import Vault
from tests.portal.conftest import PASSWORD, username_for
from tests.support.factories import make_sample


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_scan_moves_a_sample_and_returns_it(
    client: httpx.AsyncClient,
    staff_token,
    pool: asyncpg.Pool,  # type: ignore[no-untyped-def]
    vault: Vault,
) -> None:
    async with pool.acquire() as conn:
        sample = await make_sample(conn, vault)
    token = await staff_token(Role.PHLEBOTOMIST)
    r = await client.post(
        "/api/staff/scan",
        headers={**auth(token), "X-Request-ID": "scan-req-0001"},
        json={"barcode": sample.barcode, "to": "in_transit", "centre_id": "CC-1", "expected_version": 1},
    )
    assert r.status_code == 200, r.text
    assert r.json()["sample"]["state"] == "in_transit" and r.json()["sample"]["version"] == 2
    assert r.headers["x-request-id"] == "scan-req-0001"
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT actor_role, request_id, source_ip FROM audit_log "
            "WHERE action = 'sample.transition' ORDER BY id DESC LIMIT 1"
        )
    assert tuple(row) == ("phlebotomist", "scan-req-0001", "203.0.113.7")

    detail = await client.get(f"/api/staff/samples/{sample.barcode}", headers=auth(token))
    assert [h["to"] for h in detail.json()["history"]] == ["collected", "in_transit"]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"barcode": "{barcode}", "to": "processing", "centre_id": "LAB-1"}, 409, "invalid_transition"),
        (
            {"barcode": "{barcode}", "to": "in_transit", "centre_id": "CC-1", "expected_version": 7},
            409,
            "stale_version",
        ),
        ({"barcode": "UNKNOWN-0001", "to": "in_transit", "centre_id": "CC-1"}, 404, "unknown_barcode"),
        ({"barcode": "{barcode}", "to": "teleported", "centre_id": "CC-1"}, 422, "invalid_input"),
        ({"barcode": "{barcode}", "to": "rejected", "centre_id": "CC-1"}, 422, "invalid_input"),
        ({"barcode": "{barcode}", "to": "in_transit"}, 422, "invalid_input"),
        ({"barcode": 12345, "to": "in_transit", "centre_id": "CC-1"}, 422, "invalid_input"),
        (
            {"barcode": "{barcode}", "to": "in_transit", "centre_id": "CC-1", "expected_version": "1"},
            422,
            "invalid_input",
        ),
        ({"barcode": "{barcode}", "to": "in_transit", "centre_id": "NOWHERE"}, 422, "invalid_input"),
    ],
)
async def test_bad_scans_get_a_clear_error(
    client: httpx.AsyncClient,
    staff_token,
    pool: asyncpg.Pool,  # type: ignore[no-untyped-def]
    vault: Vault,
    body: dict[str, object],
    status: int,
    error: str,
) -> None:
    async with pool.acquire() as conn:
        sample = await make_sample(conn, vault)
    body = {k: (v.format(barcode=sample.barcode) if isinstance(v, str) else v) for k, v in body.items()}
    r = await client.post("/api/staff/scan", headers=auth(await staff_token(Role.LAB_TECHNICIAN)), json=body)
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert r.json()["message"] and r.json()["request_id"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT version FROM samples WHERE id = $1", sample.id) == 1


async def test_unauthenticated_and_wrong_role_are_refused_and_audited(
    client: httpx.AsyncClient,
    staff_token,
    pool: asyncpg.Pool,
    vault: Vault,  # type: ignore[no-untyped-def]
) -> None:
    async with pool.acquire() as conn:
        sample = await make_sample(conn, vault)
    body = {"barcode": sample.barcode, "to": "in_transit", "centre_id": "CC-1"}
    r = await client.post("/api/staff/scan", json=body)
    assert (r.status_code, r.json()["error"]) == (401, "unauthenticated")
    r = await client.post("/api/staff/scan", json=body, headers=auth("forged-token"))
    assert r.status_code == 401
    r = await client.post("/api/staff/scan", json=body, headers=auth(await staff_token(Role.DOCTOR)))
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    async with pool.acquire() as conn:
        outcomes = [
            r["outcome"]
            for r in await conn.fetch("SELECT outcome FROM audit_log WHERE outcome LIKE 'refused:%' ORDER BY id")
        ]
        assert outcomes == ["refused:unauthenticated", "refused:unauthenticated", "refused:forbidden"]
        assert await conn.fetchval("SELECT version FROM samples WHERE id = $1", sample.id) == 1


async def test_malformed_and_oversized_bodies(client: httpx.AsyncClient, staff_token) -> None:  # type: ignore[no-untyped-def]
    headers = auth(await staff_token(Role.LAB_TECHNICIAN))
    r = await client.post("/api/staff/scan", headers={**headers, "Content-Type": "application/json"}, content=b"{nope")
    assert (r.status_code, r.json()["field"]) == (422, "body")
    r = await client.post("/api/staff/scan", headers={**headers, "Content-Type": "application/json"}, content=b"[1, 2]")
    assert r.status_code == 422
    r = await client.post("/api/staff/scan", headers={**headers, "Content-Type": "text/plain"}, content=b"{}")
    assert r.status_code == 422 and "JSON" in r.json()["message"]
    huge = b'{"barcode": "' + b"A" * 70_000 + b'"}'
    r = await client.post("/api/staff/scan", headers={**headers, "Content-Type": "application/json"}, content=huge)
    assert (r.status_code, r.json()["error"]) == (413, "payload_too_large")


async def test_sign_in_refuses_wrong_passwords_and_sign_out_revokes(
    client: httpx.AsyncClient,
    staff_token,
    pool: asyncpg.Pool,  # type: ignore[no-untyped-def]
) -> None:
    token = await staff_token(Role.LAB_TECHNICIAN)
    r = await client.post(
        "/api/staff/session", json={"username": username_for(Role.LAB_TECHNICIAN), "password": "wrong"}
    )
    assert (r.status_code, r.json()["message"]) == (401, "Wrong username or password.")
    assert (await client.get("/api/staff/unknown-scans", headers=auth(token))).status_code == 200
    assert (await client.delete("/api/staff/session", headers=auth(token))).status_code == 204
    assert (await client.get("/api/staff/unknown-scans", headers=auth(token))).status_code == 401
    async with pool.acquire() as conn:
        refused = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'staff.sign_in' AND outcome = 'refused'"
        )
    assert refused == 1


async def test_session_cookie_is_locked_down(client: httpx.AsyncClient, staff_token) -> None:  # type: ignore[no-untyped-def]
    await staff_token(Role.LAB_TECHNICIAN)
    r = await client.post(
        "/api/staff/session", json={"username": username_for(Role.LAB_TECHNICIAN), "password": PASSWORD}
    )
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie


async def test_unknown_scan_review_queue_is_for_lab_roles(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
) -> None:
    tech = auth(await staff_token(Role.LAB_TECHNICIAN))
    await client.post(
        "/api/staff/scan", headers=tech, json={"barcode": "LOST-TUBE-9", "to": "processing", "centre_id": "LAB-1"}
    )
    r = await client.get("/api/staff/unknown-scans", headers=tech)
    assert [s["barcode"] for s in r.json()["scans"]] == ["LOST-TUBE-9"]
    r = await client.get("/api/staff/unknown-scans", headers=auth(await staff_token(Role.PHLEBOTOMIST)))
    assert r.status_code == 403


async def test_security_headers_and_calm_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/no/such/page")
    assert r.status_code == 404 and r.json()["message"] == "There is nothing at this address."
    for name in ("content-security-policy", "x-frame-options", "referrer-policy", "strict-transport-security"):
        assert name in r.headers
    assert r.headers["cache-control"] == "no-store"


async def test_malformed_and_unknown_ids_are_clear_errors_not_crashes(
    client: httpx.AsyncClient,
    staff_token,  # type: ignore[no-untyped-def]
    pool: asyncpg.Pool,
    vault: Vault,
) -> None:
    """Found by schemathesis: an id that is not a UUID reached PostgreSQL and answered 500."""
    token = await staff_token(Role.LAB_TECHNICIAN)
    r = await client.get("/api/staff/patients/0", headers=auth(token))
    assert r.status_code == 404 and r.json()["error"] == "patient_not_found"
    async with pool.acquire() as conn:
        sample = await make_sample(conn, vault)
    body = {"order_id": sample.order_id, "barcode": "NEW-TUBE-01", "sample_type": "serum", "centre_id": "CC-1"}
    for replaces, message in (("7", "UUID"), ("00000000-0000-0000-0000-000000000000", "no sample with that id")):
        r = await client.post("/api/staff/samples", headers=auth(token), json={**body, "replaces_sample_id": replaces})
        assert r.status_code == 422 and r.json()["field"] == "replaces_sample_id" and message in r.json()["message"]
    r = await client.post("/api/staff/samples", headers=auth(token), json={**body, "order_id": "not-an-order"})
    assert r.status_code == 404 and r.json()["error"] == "order_not_found"
