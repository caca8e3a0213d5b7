"""Staff JSON API: sign in/out, scan a barcode to move a sample, look a sample up, register a tube."""

from __future__ import annotations

import enum
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core import access, critical
from core.errors import InvalidInput
from core.hl7 import review
from core.patients import merge
from core.reports import service as reports
from core.samples import service as samples
from core.samples.model import RejectionReason, SampleState
from core.staff import service as staff
from core.staff import totp
from core.staff.service import STAFF_COOKIE, StaffMember
from portal.auth import bearer_token
from portal.guard import staff_route
from portal.http import field_int, field_str, read_json, request_meta, secure_cookies
from portal.patient_auth import CSRF_COOKIE, csrf_token, set_cookie

E = TypeVar("E", bound=enum.Enum)


def _enum(cls: type[E], field: str, raw: str | None) -> E | None:
    if raw is None:
        return None
    try:
        return cls(raw)
    except ValueError as exc:
        allowed = ", ".join(m.value for m in cls)
        raise InvalidInput(field, f"'{raw}' is not a valid value for '{field}'; use one of: {allowed}.") from exc


async def sign_in(request: Request) -> Response:
    data = await read_json(request)
    username = field_str(data, "username", max_len=64) or ""
    password = field_str(data, "password", max_len=256) or ""
    async with request.state.pool.acquire() as conn:
        member = await staff.authenticate(
            conn,
            username=username,
            password=password,
            totp_code=field_str(data, "totp", required=False, max_len=16),
            vault=request.state.vault,
            meta=request_meta(request),
        )
    token, expires = await request.state.staff_sessions.create(member)
    csrf, new_cookie = csrf_token(request)
    response = JSONResponse({"token": token, "expires_at": expires, "role": member.role.value,
                             "display_name": member.display_name, "csrf": csrf})  # fmt: skip
    response.set_cookie(STAFF_COOKIE, token, httponly=True, secure=secure_cookies(request), samesite="strict", path="/")
    if new_cookie is not None:  # a page using the cookie sends ``csrf`` back as X-CSRF-Token on every change
        set_cookie(request, response, CSRF_COOKIE, new_cookie, max_age=None)
    return response


async def sign_out(request: Request) -> Response:
    token = bearer_token(request)
    if token:
        await request.state.staff_sessions.revoke(token)
    response = Response(status_code=204)
    response.delete_cookie(STAFF_COOKIE, path="/")
    return response


async def scan(request: Request, member: StaffMember) -> Response:
    data = await read_json(request)
    to_state = _enum(SampleState, "to", field_str(data, "to", max_len=40))
    if to_state is None:
        raise InvalidInput("to", "'to' is required: the state to move the sample to.")
    reason = _enum(RejectionReason, "reason", field_str(data, "reason", required=False, max_len=40))
    async with request.state.pool.acquire() as conn:
        sample = await samples.transition(
            conn,
            barcode=field_str(data, "barcode", max_len=64) or "",
            to_state=to_state,
            actor=member.actor,
            centre_id=field_str(data, "centre_id", max_len=40) or "",
            reason=reason,
            note=field_str(data, "note", required=False, max_len=500),
            expected_version=field_int(data, "expected_version"),
            meta=request_meta(request),
        )
    return JSONResponse({"sample": sample.to_public()})


async def sample_detail(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        sample, steps = await samples.read(
            conn, barcode=request.path_params["barcode"], actor=member.actor, meta=request_meta(request)
        )
    request.state.patient_id = sample.patient_id
    history = [
        {
            "from": s.from_state.value if s.from_state else None,
            "to": s.to_state.value,
            "version": s.version,
            "actor_id": s.actor_id,
            "actor_role": s.actor_role,
            "centre_id": s.centre_id,
            "reason": s.reason,
            "at": s.at.isoformat(),
        }
        for s in steps
    ]
    return JSONResponse({"sample": sample.to_public(), "history": history})


async def register_sample(request: Request, member: StaffMember) -> Response:
    data = await read_json(request)
    async with request.state.pool.acquire() as conn:
        sample = await samples.register(
            conn,
            order_id=field_str(data, "order_id", max_len=40) or "",
            barcode=field_str(data, "barcode", max_len=64) or "",
            sample_type=field_str(data, "sample_type", max_len=40) or "",
            actor=member.actor,
            centre_id=field_str(data, "centre_id", max_len=40) or "",
            replaces_sample_id=field_str(data, "replaces_sample_id", required=False, max_len=40),
            meta=request_meta(request),
        )
    return JSONResponse({"sample": sample.to_public()}, status_code=201)


async def unknown_scans(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        scans = await samples.review_queue(conn, actor=member.actor)
    return JSONResponse({"scans": [{**asdict(s), "at": s.at.isoformat()} for s in scans]})


async def totp_begin(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        uri = await totp.begin(conn, request.state.vault, member, meta=request_meta(request))
    return JSONResponse(
        {"otpauth_uri": uri, "next": "Add it to your authenticator app, then send a code to /api/staff/totp/confirm."}
    )


async def totp_confirm(request: Request, member: StaffMember) -> Response:
    data = await read_json(request)
    async with request.state.pool.acquire() as conn:
        await totp.confirm(
            conn, request.state.vault, member, field_str(data, "code", max_len=16) or "", meta=request_meta(request)
        )
    return JSONResponse({"totp": "enabled"})


async def patient_record(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        patient, why = await access.read_patient(
            conn, request.state.vault, member.actor, request.path_params["patient_id"][:64], meta=request_meta(request)
        )
    return JSONResponse(
        {
            "id": patient.id,
            "mrn": patient.mrn,
            "name": patient.name,
            "sex": patient.sex.value,
            "phone": patient.phone,
            "date_of_birth": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
            "address": patient.address,
            "access_basis": why,
        }
    )


async def break_glass(request: Request, member: StaffMember) -> Response:
    data = await read_json(request)
    async with request.state.pool.acquire() as conn:
        grant = await access.break_glass(
            conn,
            member.actor,
            field_str(data, "patient_id", max_len=64) or "",
            field_str(data, "reason", max_len=500) or "",
            meta=request_meta(request),
        )
    return JSONResponse(
        {
            "patient_id": grant.patient_id,
            "expires_at": grant.expires_at.isoformat(),
            "notice": "Administrators are told.",
        },
        status_code=201,
    )


async def hl7_review(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        return JSONResponse({"messages": await review.review_queue(conn)})


async def hl7_reapply(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        out = await review.reapply(conn, request.state.vault, request.path_params["message_id"], actor=member.actor)
    return JSONResponse({"ack": out.ack_code, "control_id": out.control_id, "detail": out.text})


async def hl7_reviewed(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        await review.mark_reviewed(conn, request.path_params["message_id"], actor=member.actor)
    return JSONResponse({"reviewed": True})


async def merge_undo(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        row = await merge.undo(conn, request.path_params["merge_id"], actor=member.actor)
    return JSONResponse({"undone": row.id, "surviving_id": row.surviving_id, "merged_id": row.merged_id})


async def critical_open(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        return JSONResponse({"alerts": await critical.open_alerts(conn, member.actor)})


async def critical_ack(request: Request, member: StaffMember) -> Response:
    raw = request.path_params["alert_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput("alert_id", "An alert id is a number.")
    async with request.state.pool.acquire() as conn:
        await critical.acknowledge(conn, int(raw), member.actor, datetime.now(UTC))
    return JSONResponse({"acknowledged": int(raw)})


async def issue_report(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        out = await reports.issue(
            conn,
            request.state.vault,
            request.state.report_key,
            barcode=request.path_params["barcode"],
            actor=member.actor,
            verify_base=str(request.base_url),
            meta=request_meta(request),
        )
    return JSONResponse(out, status_code=201)


def routes() -> list[Route]:
    return [
        Route("/api/staff/session", sign_in, methods=["POST"], name="staff.session.create"),
        Route("/api/staff/session", sign_out, methods=["DELETE"], name="staff.session.delete"),
        staff_route("/api/staff/totp", totp_begin, methods=["POST"], name="staff.totp.begin"),
        staff_route("/api/staff/totp/confirm", totp_confirm, methods=["POST"], name="staff.totp.confirm"),
        staff_route("/api/staff/scan", scan, methods=["POST"], name="staff.scan"),
        staff_route("/api/staff/samples", register_sample, methods=["POST"], name="staff.samples.register"),
        staff_route("/api/staff/samples/{barcode}", sample_detail, methods=["GET"], name="staff.samples.read"),
        staff_route("/api/staff/samples/{barcode}/report", issue_report, methods=["POST"], name="staff.report.issue"),
        staff_route("/api/staff/unknown-scans", unknown_scans, methods=["GET"], name="staff.unknown_scans"),
        staff_route("/api/staff/patients/{patient_id}", patient_record, methods=["GET"], name="staff.patient"),
        staff_route("/api/staff/hl7/review", hl7_review, methods=["GET"], name="staff.hl7.review"),
        staff_route("/api/staff/critical", critical_open, methods=["GET"], name="staff.critical"),
        staff_route("/api/staff/critical/{alert_id}/ack", critical_ack, methods=["POST"], name="staff.critical.ack"),
        staff_route("/api/staff/hl7/{message_id}/reapply", hl7_reapply, methods=["POST"], name="staff.hl7.reapply"),
        staff_route("/api/staff/hl7/{message_id}/reviewed", hl7_reviewed, methods=["POST"], name="staff.hl7.reviewed"),
        staff_route(
            "/api/staff/patients/merges/{merge_id}/undo", merge_undo, methods=["POST"], name="admin.merge.undo"
        ),
        staff_route("/api/staff/break-glass", break_glass, methods=["POST"], name="staff.break_glass"),
    ]
