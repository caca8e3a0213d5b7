"""Patient JSON API, for the mobile app and the page's script: sign in by code or link, status, socket token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core import patient_rights, tracking
from core.errors import InvalidInput
from core.patients.sessions import PatientSession
from core.patients.signin import SignedIn
from core.reports import download
from core.reports.links import PORTAL_SECONDS, LinkInvalid
from portal.http import field_str, read_json, request_meta
from portal.patient_auth import require_patient_session

CLOSED_MESSAGE = (
    "Your account is closed. We have erased your phone number and address, so we will not message you again. "
    "Your test records stay with the lab for as long as the law requires medical records to be kept; to see "
    "them later, visit any of our collection centres with a photo ID."
)


def _signed_in(request: Request, signed: SignedIn) -> Response:
    sessions = request.state.patient_sessions
    return JSONResponse(
        {
            "token": signed.token,
            "patients": signed.patient_ids,
            "idle_seconds": sessions.idle,
            "max_seconds": sessions.absolute,
        }
    )


async def request_code(request: Request) -> Response:
    data = await read_json(request)
    phone = field_str(data, "phone", max_len=32) or ""
    lang = field_str(data, "lang", required=False, max_len=5) or "en"
    async with request.state.pool.acquire() as conn:
        hint = await request.state.signin.request_code(conn, phone, lang=lang, meta=request_meta(request))
    return JSONResponse(
        {"sent_to": hint, "message": "If this number is registered with us, a 6-digit code is on its way."},
        status_code=202,
    )


async def sign_in(request: Request) -> Response:
    data = await read_json(request)
    phone = field_str(data, "phone", max_len=32) or ""
    code = field_str(data, "code", max_len=16) or ""
    async with request.state.pool.acquire() as conn:
        signed = await request.state.signin.verify_code(conn, phone, code, meta=request_meta(request))
    return _signed_in(request, signed)


async def redeem_link(request: Request) -> Response:
    data = await read_json(request)
    token = field_str(data, "token", max_len=1024) or ""
    async with request.state.pool.acquire() as conn:
        signed = await request.state.signin.redeem_magic_link(conn, token, meta=request_meta(request))
    return _signed_in(request, signed)


async def sign_out(request: Request) -> Response:
    session = await require_patient_session(request, changes_state=True)
    await request.state.patient_sessions.end(session, everywhere=request.query_params.get("everywhere") == "1")
    return Response(status_code=204)


def _patient_param(request: Request, session: PatientSession) -> str:
    pid = request.query_params.get("patient") or session.active_patient_id
    if not pid or len(pid) > 64:
        raise InvalidInput("patient", "Say which patient: ?patient=<id> (one of the patients on your phone).")
    request.state.patient_id = pid
    return str(pid)


async def status(request: Request) -> Response:
    session = await require_patient_session(request)
    pid = _patient_param(request, session)
    async with request.state.pool.acquire() as conn:
        snap = await tracking.snapshot(conn, session.phone_lookup, pid, meta=request_meta(request))
    return JSONResponse(
        {"patient_id": snap.patient_id, "last_event_id": snap.last_seq, "samples": [s.to_json() for s in snap.samples]}
    )


async def access_log(request: Request) -> Response:
    session = await require_patient_session(request)
    pid = _patient_param(request, session)
    async with request.state.pool.acquire() as conn:
        rows = await tracking.access_log(conn, session.phone_lookup, pid, meta=request_meta(request))
    return JSONResponse(
        {
            "patient_id": pid,
            "entries": [
                {"at": r.at.isoformat(), "who": r.who, "role": r.role, "action": r.action, "outcome": r.outcome}
                for r in rows
            ],
        }
    )


async def socket_token(request: Request) -> Response:
    session = await require_patient_session(request, changes_state=True)
    token = await request.state.patient_sessions.socket_token(session)
    return JSONResponse({"token": token, "expires_in": 60})


async def export(request: Request) -> Response:
    session = await require_patient_session(request)
    pid = _patient_param(request, session)
    async with request.state.pool.acquire() as conn:
        data = await patient_rights.export(
            conn, request.state.vault, session.phone_lookup, pid, store=request.state.files, meta=request_meta(request)
        )
    fhir = request.url.path.endswith(".fhir.json")
    body = patient_rights.fhir_bundle(data) if fhir else data
    name = f"labpulse-{data['patient']['mrn']}{'.fhir' if fhir else ''}.json"
    return JSONResponse(
        body,
        media_type="application/fhir+json" if fhir else "application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def report_link(request: Request) -> Response:
    """A 15-minute signed link to one of this phone's reports (POST: it is handed out, and audited)."""
    session = await require_patient_session(request, changes_state=True)
    pid = _patient_param(request, session)
    async with request.state.pool.acquire() as conn:
        token = await download.link_for(
            conn,
            request.state.report_links,
            session.phone_lookup,
            pid,
            request.path_params["report_id"],
            meta=request_meta(request),
        )
    return JSONResponse({"url": f"/reports/download/{token}", "expires_in": PORTAL_SECONDS})


async def report_download(request: Request) -> Response:
    """The PDF behind a signed link (from the portal, or a report-ready message). The link is the authorization."""
    token = request.path_params["token"]
    if len(token) > 512:
        raise LinkInvalid
    async with request.state.pool.acquire() as conn:
        f = await download.download(
            conn, request.state.vault, request.state.files, request.state.report_links, token,
            meta=request_meta(request),
        )  # fmt: skip
    return Response(
        f.data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{f.filename}"',
            "Cache-Control": "no-store, private",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex",
        },
    )


async def close_account(request: Request) -> Response:
    session = await require_patient_session(request, changes_state=True)
    data = await read_json(request)
    pid = field_str(data, "patient", max_len=64) or ""
    if field_str(data, "confirm", max_len=10) != "close":
        raise InvalidInput("confirm", 'Send "confirm": "close" to show this is what you want.')
    async with request.state.pool.acquire() as conn:
        await patient_rights.close_account(conn, session.phone_lookup, pid, meta=request_meta(request))
        left = await tracking.patient_ids(conn, session.phone_lookup)
    if not left:
        await request.state.patient_sessions.revoke_all(session.phone_lookup)
    return JSONResponse({"closed": pid, "message": CLOSED_MESSAGE, "signed_out": not left})


def routes() -> list[Route]:
    return [
        Route("/api/patient/code", request_code, methods=["POST"], name="patient.code"),
        Route("/api/patient/session", sign_in, methods=["POST"], name="patient.session.create"),
        Route("/api/patient/session", sign_out, methods=["DELETE"], name="patient.session.delete"),
        Route("/api/patient/link", redeem_link, methods=["POST"], name="patient.link"),
        Route("/api/patient/status", status, methods=["GET"], name="patient.status"),
        Route("/api/patient/access-log", access_log, methods=["GET"], name="patient.access_log"),
        Route("/api/patient/socket-token", socket_token, methods=["POST"], name="patient.socket_token"),
        Route("/api/patient/export", export, methods=["GET"], name="patient.export"),
        Route("/api/patient/export.fhir.json", export, methods=["GET"], name="patient.export.fhir"),
        Route("/api/patient/close", close_account, methods=["POST"], name="patient.close"),
        Route("/api/patient/reports/{report_id}/link", report_link, methods=["POST"], name="patient.report.link"),
        Route("/reports/download/{token}", report_download, methods=["GET"], name="report.download"),
    ]
