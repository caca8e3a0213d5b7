"""The pathologist's approvals in the staff workspace (issue 19): the tubes awaiting approval, each tube's results
beside the patient's previous values with delta-check breaches marked, a preview of the PDF, then approve and sign
(``core.reports.service.issue``: the worker renders, stores and releases the report)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.errors import DomainError, InvalidInput
from core.reports import approval
from core.reports import service as reports
from core.staff import service as staff
from core.staff.service import StaffMember
from portal.guard import staff_route
from portal.http import request_meta
from portal.pages import _form, back_with_error
from portal.staff_pages import page


async def queue(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        tubes = await approval.awaiting(conn, member.actor, await staff.centre_of(conn, member))
    q = request.query_params
    return page(request, "staff_approvals.html", member, tubes=tubes, done=q.get("done", "")[:40],
                error=q.get("error", "")[:300])  # fmt: skip


async def review(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        seen = await approval.review(conn, request.state.vault, member.actor, request.path_params["barcode"][:64],
                                     centre_id=await staff.centre_of(conn, member),
                                     meta=request_meta(request))  # fmt: skip
    request.state.patient_id = seen.patient.id  # for the request's audit row
    q = request.query_params
    breaches = sum(1 for ln in seen.lines if ln.past_limit)
    return page(request, "staff_approval.html", member, seen=seen, breaches=breaches, done=q.get("done", "")[:20],
                error=q.get("error", "")[:300])  # fmt: skip


async def preview(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        pdf = await approval.preview(conn, request.state.vault, member.actor, request.path_params["barcode"][:64],
                                     centre_id=await staff.centre_of(conn, member),
                                     meta=request_meta(request))  # fmt: skip
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": 'inline; filename="preview.pdf"'}
    )


async def approve(request: Request, member: StaffMember) -> Response:
    """Sign the report; the worker renders it and then releases the tube (the patient is told once it can open)."""
    data = await _form(request)
    barcode = request.path_params["barcode"][:64]
    try:
        async with request.state.pool.acquire() as conn:
            await approval.tube_at(conn, barcode, await staff.centre_of(conn, member))
            await reports.issue(
                conn, request.state.vault, request.state.report_key, barcode=barcode, actor=member.actor,
                verify_base=str(request.base_url), meta=request_meta(request), comment=data.get("comment"),
            )  # fmt: skip
    except DomainError as exc:
        return back_with_error(request, "/staff/approvals", exc)
    return RedirectResponse(f"/staff/approvals?done={quote(barcode.strip().upper())}", status_code=303)


async def correct(request: Request, member: StaffMember) -> Response:
    """Correct one result with a reason; back to the tube's page, where a new report version is then signed."""
    data = await _form(request)
    barcode, code = request.path_params["barcode"][:64], request.path_params["code"][:20]
    back = f"/staff/approvals/{quote(barcode)}"
    try:
        raw = (data.get("value") or "").strip()
        try:
            value = Decimal(raw)
        except InvalidOperation as exc:
            raise InvalidInput("value", f"{raw[:20]!r} is not a number.") from exc
        if not value.is_finite() or abs(value) > 10**9:
            raise InvalidInput("value", f"{raw[:20]!r} is not a number a result can have.")
        async with request.state.pool.acquire() as conn:
            await approval.correct(conn, request.state.vault, member.actor, barcode, code, value=value,
                                   reason=data.get("reason", "")[:300],
                                   centre_id=await staff.centre_of(conn, member),
                                   meta=request_meta(request))  # fmt: skip
    except DomainError as exc:
        return back_with_error(request, back, exc)
    return RedirectResponse(f"{back}?done=corrected", status_code=303)


def routes() -> list[Route]:
    return [
        staff_route("/staff/approvals", queue, methods=["GET"], name="staff.page.approvals"),
        staff_route("/staff/approvals/{barcode}", review, methods=["GET"], name="staff.page.approvals.review"),
        staff_route(
            "/staff/approvals/{barcode}/preview.pdf", preview, methods=["GET"], name="staff.page.approvals.preview"
        ),
        staff_route(
            "/staff/approvals/{barcode}/approve", approve, methods=["POST"], name="staff.page.approvals.approve"
        ),
        staff_route(
            "/staff/approvals/{barcode}/correct/{code}", correct, methods=["POST"], name="staff.page.approvals.correct"
        ),
    ]
