"""Every HTTP and WebSocket endpoint × every role (and no sign-in at all), through a real server: each request is
allowed or refused exactly as ``core.permissions.ENDPOINTS`` says. An endpoint added without a rule stops the app
from being built; an endpoint added without a request here fails this test."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import asyncpg
import httpx
from redis.asyncio import from_url
from starlette.routing import Mount
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core import permissions
from core.config import Secret, Settings
from core.identity import Role
from core.patients.sessions import PatientSessions
from core.staff.service import StaffMember, StaffSessions
from core.vault import Vault
from portal.app import create_app
from tests.support.factories import make_patient, make_sample
from tests.support.inbox import Inbox
from tests.support.server import serving

PHONE = "+919844400001"
_NO_CONSULT = "00000000-0000-0000-0000-000000000000"

# One request per endpoint, shaped so that a caller who is let in gets an answer from the handler itself (often a
# 4xx about the input) and never a 401/403 for some other reason.
REQUESTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "health": ("GET", "/healthz", None),
    "admin.escalation": ("GET", "/api/admin/escalation", None),
    "admin.escalation.set": ("PUT", "/api/admin/escalation", {"json": {}}),
    "ready": ("GET", "/readyz", None),
    "metrics": ("GET", "/metrics", None),
    "openapi": ("GET", "/openapi.json", None),
    "static": ("GET", "/static/portal.css", None),
    "staff.session.create": ("POST", "/api/staff/session", {"json": {}}),
    "staff.session.delete": ("DELETE", "/api/staff/session", None),
    "staff.oidc.login": ("GET", "/staff/oidc/login", None),  # not set up in this test: 404 for everyone
    "staff.oidc.callback": ("GET", "/staff/oidc/callback", None),
    "staff.me": ("GET", "/api/staff/me", None),
    "staff.totp.begin": ("POST", "/api/staff/totp", None),
    "staff.totp.confirm": ("POST", "/api/staff/totp/confirm", {"json": {}}),
    "staff.scan": ("POST", "/api/staff/scan", {"json": {}}),
    "staff.samples.register": ("POST", "/api/staff/samples", {"json": {}}),
    "staff.samples.read": ("GET", "/api/staff/samples/NO-SUCH-TUBE", None),
    "staff.unknown_scans": ("GET", "/api/staff/unknown-scans", None),
    "staff.patient": ("GET", "/api/staff/patients/{patient}", None),
    "staff.hl7.review": ("GET", "/api/staff/hl7/review", None),
    "staff.critical": ("GET", "/api/staff/critical", None),
    "staff.report.issue": ("POST", "/api/staff/samples/NO-SUCH-TUBE/report", None),
    "page.verify": ("GET", "/verify/00000000-0000-0000-0000-000000000000", None),
    "staff.critical.ack": ("POST", "/api/staff/critical/999999/ack", None),
    "staff.hl7.reapply": ("POST", "/api/staff/hl7/00000000-0000-0000-0000-000000000000/reapply", None),
    "staff.hl7.reviewed": ("POST", "/api/staff/hl7/00000000-0000-0000-0000-000000000000/reviewed", None),
    "staff.patients.register": ("POST", "/api/staff/patients", {"json": {}}),
    "staff.patients.find": ("GET", "/api/staff/patients?mrn=LP0000000", None),
    "staff.orders.place": ("POST", "/api/staff/orders", {"json": {}}),
    "staff.orders.tubes": ("POST", "/api/staff/orders/00000000-0000-0000-0000-000000000000/tubes", None),
    "staff.orders.labels": ("GET", "/api/staff/orders/00000000-0000-0000-0000-000000000000/labels.pdf", None),
    "staff.bookings.collect": ("POST", "/api/staff/bookings/B000000/collect", {"json": {}}),
    "admin.hl7.destinations": ("GET", "/api/admin/hl7/destinations", None),
    "admin.hl7.destination.set": ("PUT", "/api/admin/hl7/destinations/DEST-1", {"json": {}}),
    "admin.doctors": ("GET", "/api/admin/doctors", None),
    "admin.doctors.update": ("POST", "/api/admin/doctors/00000000-0000-0000-0000-000000000000", {"json": {}}),
    "admin.merge.undo": ("POST", "/api/staff/patients/merges/00000000-0000-0000-0000-000000000000/undo", None),
    "staff.break_glass": ("POST", "/api/staff/break-glass", {"json": {}}),
    "admin.alerts": ("GET", "/api/admin/alerts", None),
    "admin.dead_letters": ("GET", "/api/admin/dead-letters", None),
    "admin.dead_letters.requeue": ("POST", "/api/admin/dead-letters/999999/requeue", None),
    "admin.audit": ("GET", "/api/admin/audit?limit=5", None),
    "admin.audit.export": ("GET", "/api/admin/audit.csv?limit=5", None),
    "admin.audit.page": ("GET", "/admin/audit?limit=5", None),
    "staff.page.home": ("GET", "/staff", None),
    "staff.page.signin": ("POST", "/staff/signin", {"form": {"username": "nobody", "password": "wrong"}}),
    "staff.page.signout": ("POST", "/staff/signout", {"form": {}}),
    "staff.page.bench": ("GET", "/staff/bench", None),
    "staff.page.bench.scan": ("POST", "/staff/bench/scan", {"form": {"barcode": "NO-SUCH-TUBE"}}),
    "staff.page.hl7": ("GET", "/staff/hl7", None),
    "staff.page.bench.reject": ("POST", "/staff/bench/reject", {"form": {"barcode": "NO-SUCH-TUBE", "reason": ""}}),
    "staff.page.critical": ("GET", "/staff/critical", None),
    "staff.page.operations": ("GET", "/staff/operations", None),
    "staff.page.operations.settle": ("POST", "/staff/operations/notices/999999", {"form": {"arrived": "yes"}}),
    "staff.page.accounts": ("GET", "/staff/admin/accounts", None),
    "staff.page.lab": ("GET", "/staff/admin/lab", None),
    "staff.page.centres": ("GET", "/staff/admin/centres", None),
    "staff.page.centres.set": ("POST", "/staff/admin/centres", {"form": {"id": "?"}}),
    "staff.page.lab.test": ("POST", "/staff/admin/lab/tests/NOPE", {"form": {"price": "1", "turnaround_hours": "1"}}),
    "staff.page.lab.range": ("POST", "/staff/admin/lab/ranges/999999", {"form": {"low": "1"}}),
    "staff.page.lab.range.add": ("POST", "/staff/admin/lab/ranges", {"form": {"analyte_code": "nothing"}}),
    "staff.page.lab.range.remove": ("POST", "/staff/admin/lab/ranges/999999/remove", {"form": {}}),
    "staff.page.analytes": ("GET", "/staff/admin/analytes", None),
    "staff.page.analytes.set": ("POST", "/staff/admin/analytes", {"form": {"code": "!"}}),
    "staff.page.accounts.add": ("POST", "/staff/admin/accounts", {"form": {"username": "x"}}),
    "staff.page.accounts.change": ("POST", f"/staff/admin/accounts/{_NO_CONSULT}", {"form": {"role": "doctor"}}),
    "staff.page.chain": ("GET", "/staff/critical/chain", None),
    "staff.page.chain.set": ("POST", "/staff/critical/chain", {"form": {"username_1": "nobody"}}),
    "staff.page.roster": ("GET", "/staff/critical/roster", None),
    "staff.page.roster.add": ("POST", "/staff/critical/roster", {"form": {"username": "nobody", "day": "2026-12-07"}}),
    "staff.page.roster.remove": ("POST", "/staff/critical/roster/999999/remove", {"form": {}}),
    "staff.page.operations.requeue": ("POST", "/staff/operations/dead/999999/requeue", {"form": {}}),
    "staff.page.reception": ("GET", "/staff/reception?phone=9800000000", None),
    "staff.page.approvals": ("GET", "/staff/approvals", None),
    "staff.page.approvals.review": ("GET", "/staff/approvals/NO-SUCH-TUBE", None),
    "staff.page.approvals.preview": ("GET", "/staff/approvals/NO-SUCH-TUBE/preview.pdf", None),
    "staff.page.approvals.approve": ("POST", "/staff/approvals/NO-SUCH-TUBE/approve", {"form": {}}),
    "staff.page.approvals.correct": ("POST", "/staff/approvals/NO-SUCH-TUBE/correct/718-7", {"form": {"value": "1"}}),
    "staff.page.reception.register": ("POST", "/staff/reception/patients", {"form": {"name": "", "sex": ""}}),
    "staff.page.reception.order": ("GET", f"/staff/reception/order?patient={_NO_CONSULT}", None),
    "staff.page.reception.place": ("POST", "/staff/reception/orders", {"form": {"patient_id": _NO_CONSULT}}),
    "staff.page.reception.placed": ("GET", f"/staff/reception/orders/{_NO_CONSULT}", None),
    "staff.page.critical.ack": ("POST", "/staff/critical/999999/ack", {"form": {"read_back": "read back"}}),
    "staff.page.hl7.message": ("GET", f"/staff/hl7/{_NO_CONSULT}", None),
    "staff.page.hl7.reapply": ("POST", f"/staff/hl7/{_NO_CONSULT}/reapply", {"form": {}}),
    "staff.page.hl7.reviewed": ("POST", f"/staff/hl7/{_NO_CONSULT}/reviewed", {"form": {}}),
    "patient.code": ("POST", "/api/patient/code", {"json": {}}),
    "patient.session.create": ("POST", "/api/patient/session", {"json": {}}),
    "patient.link": ("POST", "/api/patient/link", {"json": {}}),
    "patient.session.delete": ("DELETE", "/api/patient/session", None),
    "patient.status": ("GET", "/api/patient/status", None),
    "patient.access_log": ("GET", "/api/patient/access-log", None),
    "patient.socket_token": ("POST", "/api/patient/socket-token", None),
    "patient.export": ("GET", "/api/patient/export", None),
    "patient.export.fhir": ("GET", "/api/patient/export.fhir.json", None),
    "patient.close": ("POST", "/api/patient/close", {"json": {"confirm": "no"}}),
    "patient.report.link": ("POST", "/api/patient/reports/00000000-0000-0000-0000-000000000000/link", None),
    "report.download": ("GET", "/reports/download/not-a-token", None),
    "bots.twilio": ("POST", "/bots/twilio", {"form": {"Body": "hi"}}),
    "bots.twilio.status": ("POST", "/bots/twilio/status", {"form": {}}),
    "bots.telegram": ("POST", "/bots/telegram", {"json": {"update_id": 1}}),
    "triage.assess": ("POST", "/api/triage", {"json": {"text": "mild cold"}}),
    "page.report": ("POST", "/my-tests/report", {"form": {"patient": "nobody", "report": "x"}}),
    "ws.status": ("WS", "/ws/status", None),
    "ws.staff": ("WS", "/ws/staff", None),
    "page.home": ("GET", "/", None),
    "page.signin": ("GET", "/signin", None),
    "page.signin.send": ("POST", "/signin", {"form": {"phone": "not a phone"}}),
    "page.signin.verify": ("POST", "/signin/code", {"form": {"phone": "not a phone", "code": "1"}}),
    "page.link": ("GET", "/signin/link?t=x", None),
    "page.link.redeem": ("POST", "/signin/link", {"form": {"t": "x"}}),
    "page.signout": ("POST", "/signout", {"form": {}}),
    "page.my_tests": ("GET", "/my-tests", None),
    "page.my_tests.cards": ("GET", "/my-tests/cards", None),
    "page.my_tests.access": ("GET", "/my-tests/access", None),
    "page.switch": ("POST", "/switch", {"form": {"patient": "nobody"}}),
    "page.my_data": ("GET", "/my-tests/my-data", None),
    "page.close": ("POST", "/my-tests/close", {"form": {"patient": "nobody"}}),
    "page.triage": ("GET", "/triage", None),
    "page.triage.assess": ("POST", "/triage", {"form": {"text": "mild cold"}}),
    "page.book": ("GET", "/book?tests=CBC", None),
    "page.book.create": ("POST", "/book", {"form": {"kind": "nowhere"}}),
    "page.consult.book": ("GET", "/consult/book", None),
    "page.consult.book.create": ("POST", "/consult/book", {"form": {"slot": "x"}}),
    # Link-guarded: without a join link every caller gets the same calm "not a valid link".
    "page.consult.join": ("GET", "/consult/join/not-a-real-link-token-000000", None),
    "page.consult.room": ("GET", f"/consult/{_NO_CONSULT}", None),
    "ws.consult": ("WS", f"/consult/{_NO_CONSULT}/ws", None),
    "consult.note.read": ("GET", f"/api/consults/{_NO_CONSULT}/note", None),
    "consult.note.save": ("PUT", f"/api/consults/{_NO_CONSULT}/note", {"json": {"body": {}}}),
    "consult.note.sign": ("POST", f"/api/consults/{_NO_CONSULT}/note/sign", {"json": {"version": 1}}),
    "consult.note.amend": ("POST", f"/api/consults/{_NO_CONSULT}/note/amend", None),
    "consult.tests": ("POST", f"/api/consults/{_NO_CONSULT}/tests", {"json": {"codes": ["CBC"]}}),
}

ROLES: list[Role | None] = [None, Role.PATIENT, *sorted(permissions.STAFF)]


def _refused(r: httpx.Response) -> bool:
    """A refusal for want of identity or right, as each kind of endpoint says it."""
    if r.status_code == 303:
        return r.headers["location"] == "/signin"
    if r.status_code in (401, 403) and r.headers.get("content-type", "").startswith("application/json"):
        return r.json()["error"] in ("unauthenticated", "forbidden")
    return False


def test_every_route_has_a_rule_and_a_request_here(settings: Settings) -> None:
    app = create_app(settings)
    names = {r.name for r in app.routes if isinstance(r, Mount) or hasattr(r, "endpoint")}
    assert names == set(permissions.ENDPOINTS) == set(REQUESTS)


def test_an_endpoint_without_a_rule_stops_the_app_from_being_built(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delitem(permissions.ENDPOINTS, "staff.scan")
    try:
        create_app(settings)
    except RuntimeError as exc:
        assert "staff.scan" in str(exc)
    else:
        raise AssertionError("the app was built with an endpoint that has no rule")


async def test_each_endpoint_allows_exactly_the_roles_the_table_names(
    settings: Settings, pool: asyncpg.Pool, vault: Vault
) -> None:
    async with pool.acquire() as conn:
        patient = await make_patient(conn, vault, phone=PHONE)
        await make_sample(conn, vault, patient=patient)
    lookup = vault.lookup.digest("phone", PHONE).hex()
    mismatches: list[str] = []
    # WhatsApp/SMS set up, so the webhook answers everyone alike: 403 for a request Twilio did not sign.
    settings = settings.with_overrides(
        twilio_account_sid="AC" + "0" * 32, twilio_auth_token=Secret("t" * 32),
        telegram_bot_token=Secret("1:x"), telegram_webhook_secret=Secret("s" * 32),
    )  # fmt: skip
    app = create_app(settings, notifier=Inbox())
    async with serving(app) as addr, httpx.AsyncClient(base_url=f"http://{addr}") as http:
        signin = await http.get("/signin")
        csrf_cookie = signin.cookies["lp_csrf"]
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', signin.text).group(1)  # type: ignore[union-attr]
        assert settings.redis_url is not None
        redis = from_url(settings.redis_url.reveal())  # sessions are minted straight into Redis, as sign-in does
        patients = PatientSessions(redis, settings.redis_prefix)
        staff_sessions = StaffSessions(redis, settings.redis_prefix, idle_seconds=600, absolute_seconds=3600)

        async def credentials(role: Role | None) -> dict[str, str]:
            """Fresh for each request: some endpoints (sign-out) end the session they are called with."""
            cookies = [f"lp_csrf={csrf_cookie}"]
            headers: dict[str, str] = {}
            if role is Role.PATIENT:
                token = await patients.create(phone_lookup=lookup, phone_hint="+91***", active_patient_id=patient.id)
                cookies.append(f"lp_session={token}")
                headers["Authorization"] = f"Bearer {token}"
            elif role is not None:
                member = StaffMember(str(uuid.uuid4()), f"{role.value}.matrix", role.value, role)
                token, _ = await staff_sessions.create(member)
                headers["Authorization"] = f"Bearer {token}"
            headers["Cookie"] = "; ".join(cookies)
            return headers

        for name, (method, path, body) in REQUESTS.items():
            for role in ROLES:
                headers = await credentials(role)
                if method == "WS":
                    refused = await _socket_refused(addr, path, headers)
                else:
                    kwargs: dict[str, Any] = dict(body or {})
                    if "form" in kwargs:
                        kwargs["data"] = {**kwargs.pop("form"), "csrf": csrf}
                    r = await http.request(method, path.format(patient=patient.id), headers=headers, **kwargs)
                    http.cookies.clear()
                    refused = _refused(r)
                    if r.status_code >= 500:
                        mismatches.append(f"{name} as {role}: {r.status_code}")
                expected = permissions.endpoint_allows(name, role)
                if refused == expected:
                    who = role.value if role else "anonymous"
                    mismatches.append(f"{name} as {who}: {'refused' if refused else 'allowed'}, table says otherwise")
        await redis.aclose()
    assert mismatches == []


async def _socket_refused(addr: str, path: str, headers: dict[str, str]) -> bool:
    async with connect(f"ws://{addr}{path}", additional_headers=headers, origin=f"http://{addr}") as ws:  # type: ignore[arg-type]
        try:
            first = json.loads(await ws.recv())
        except ConnectionClosed as exc:
            return exc.rcvd is not None and exc.rcvd.code in (4401, 4403)
        if first.get("type") in ("snapshot", "ready"):  # the patient's status, the bench's worklist
            return False
        try:
            await ws.recv()
        except ConnectionClosed as exc:
            return exc.rcvd is not None and exc.rcvd.code in (4401, 4403)
        return False
