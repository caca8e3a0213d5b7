"""The staff workspace (issue 19): pages on the same server as the JSON API, server-rendered and usable without
JavaScript, each role shown the pages the permission table gives it (``core.permissions.ENDPOINTS``).

- ``/staff``: the sign-in form (username, password, the authenticator code, single sign-on when configured) for
  someone not signed in; otherwise the role's home, its pages as links.
- ``/staff/hl7``: the HL7 review queue: held messages with why, each one readable as it came (decrypted for the
  roles that review, audited), re-applied or set aside.
- ``/staff/critical``, who is messaged and the on-duty roster: ``portal/critical_pages.py``.
- ``/staff/bench``: a scan box (a scanner types the barcode and Enter: one scan receives a tube or moves it to its
  next state) and the worklist of the tubes still in the lab's hands at the member's centre, with each tube's age
  against its tests' turnaround target, the overdue ones marked.

Forms carry the CSRF token of the double-submit cookie; the staff session is the same cookie the JSON API takes.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core import operations, permissions
from core.booking import catalogue
from core.errors import (
    AccountLocked,
    DomainError,
    InvalidInput,
    InvalidTransition,
    PermissionDenied,
    SecondFactorRequired,
    StaleVersion,
    Unauthenticated,
    UnknownBarcode,
)
from core.hl7 import review
from core.jobs import runner
from core.orders import collection
from core.samples import service as samples
from core.samples.model import RejectionReason, SampleState, overdue
from core.samples.store import WorkRow
from core.staff import service as staff
from core.staff.service import STAFF_COOKIE, StaffMember
from portal.guard import staff_route
from portal.http import request_meta, secure_cookies
from portal.i18n import clock, t
from portal.pages import _form, back_with_error, lang_of, render

# The pages, in the order the navigation shows them: route name, path, text key. A role sees those it may use.
NAV = (
    ("staff.page.reception", "/staff/reception", "staff_nav_reception"),
    ("staff.page.bench", "/staff/bench", "staff_nav_bench"),
    ("staff.page.approvals", "/staff/approvals", "staff_nav_approvals"),
    ("staff.page.hl7", "/staff/hl7", "staff_nav_hl7"),
    ("staff.page.critical", "/staff/critical", "staff_nav_critical"),
    ("staff.page.chain", "/staff/critical/chain", "staff_nav_chain"),
    ("staff.page.roster", "/staff/critical/roster", "staff_nav_roster"),
    ("staff.page.operations", "/staff/operations", "staff_nav_operations"),
    ("staff.page.accounts", "/staff/admin/accounts", "staff_nav_accounts"),
    ("staff.page.lab", "/staff/admin/lab", "staff_nav_lab"),
    ("staff.page.analytes", "/staff/admin/analytes", "staff_nav_analytes"),
    ("staff.page.centres", "/staff/admin/centres", "staff_nav_centres"),
    ("admin.audit.page", "/admin/audit", "staff_nav_audit"),
)
WORKLIST_LIMIT = 5000


async def current_staff(request: Request) -> StaffMember | None:
    token = request.cookies.get(STAFF_COOKIE)
    member: StaffMember | None = await request.state.staff_sessions.resolve(token) if token else None
    return member


def page(request: Request, name: str, member: StaffMember | None, status: int = 200, **ctx: Any) -> Response:
    nav = [(path, key) for route, path, key in NAV if member and permissions.endpoint_allows(route, member.role)]
    return render(request, name, status, member=member, nav=nav, **ctx)


async def home(request: Request) -> Response:
    member = await current_staff(request)
    if member is None:
        return _signin_form(request)
    return page(request, "staff_home.html", member)


def _signin_form(request: Request, status: int = 200, error: str | None = None, totp: bool = False) -> Response:
    sso = request.state.oidc is not None
    return page(request, "staff_signin.html", None, status, error=error, ask_totp=totp, sso=sso)


async def sign_in(request: Request) -> Response:
    """The form's POST: a session cookie and the role's home, or the form again with what went wrong, calmly."""
    data = await _form(request)
    try:
        async with request.state.pool.acquire() as conn:
            member = await staff.authenticate(
                conn, username=data.get("username", "")[:64], password=data.get("password", "")[:256],
                totp_code=(data.get("totp") or "").strip()[:16] or None, vault=request.state.vault,
                meta=request_meta(request),
            )  # fmt: skip
    except SecondFactorRequired:
        return _signin_form(request, 401, "staff_err_totp", totp=True)
    except AccountLocked:
        return _signin_form(request, 429, "staff_err_locked")
    except Unauthenticated:
        return _signin_form(request, 401, "staff_err_signin", totp=bool(data.get("totp")))
    token, _ = await request.state.staff_sessions.create(member)
    response = RedirectResponse("/staff", status_code=303)
    response.set_cookie(STAFF_COOKIE, token, httponly=True, secure=secure_cookies(request), samesite="strict", path="/")
    return response


async def sign_out(request: Request) -> Response:
    await _form(request)  # a cross-site form cannot sign anyone out
    token = request.cookies.get(STAFF_COOKIE)
    if token:
        await request.state.staff_sessions.revoke(token)
    response = RedirectResponse("/staff", status_code=303)
    response.delete_cookie(STAFF_COOKIE, path="/")
    return response


async def bench(request: Request, member: StaffMember) -> Response:
    """The scan box and the worklist; ``?done=`` and ``?error=`` say what the last scan did (after its redirect).
    ``Server-Timing: app`` says how long the server took (the worklist's budget: 200 ms for 5,000 tubes)."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    async with request.state.pool.acquire() as conn:
        centre = await staff.centre_of(conn, member)
        rows = await samples.worklist(conn, actor=member.actor, centre_id=centre, limit=WORKLIST_LIMIT)
    work = [_row(r, now) for r in rows]
    counts = {state: sum(1 for w in work if w["state"] == state) for state in _STATES}
    q = request.query_params
    shown = page(
        request, "staff_bench.html", member, work=work, counts=counts, overdue=sum(1 for w in work if w["overdue"]),
        centre=centre, done=q.get("done", "")[:40], moved_to=q.get("to", "")[:20], error=q.get("error", "")[:40],
        error_barcode=q.get("barcode", "")[:40], state_words=_state_words(request), reasons=REASONS,
        rejected=q.get("rejected", "")[:40], new=q.get("new", "")[:40], order=q.get("order", "")[:40],
    )  # fmt: skip
    shown.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return shown


_STATES = ("collected", "in_transit", "received_at_lab", "processing", "completed")


def _state_words(request: Request) -> dict[str, str]:
    """Each step in the page's language, for the live script to write into a row."""
    lang = lang_of(request)
    return {state.value: t(lang, f"staff_state_{state.value}") for state in SampleState}


def _row(r: WorkRow, now: datetime) -> dict[str, Any]:
    hours = (now - r.collected_at).total_seconds() / 3600
    return {
        "barcode": r.barcode, "state": r.state.value, "tests": ", ".join(r.tests) or "—", "age": _age(hours),
        "target": f"{r.target_hours} h" if r.target_hours is not None else "—",
        "overdue": overdue(r.collected_at, r.target_hours, now), "collected_at": r.collected_at.isoformat(),
    }  # fmt: skip


def _age(hours: float) -> str:
    return f"{int(hours * 60)} min" if hours < 1 else f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.0f} d"


async def scan(request: Request, member: StaffMember) -> Response:
    """One scan: the tube moves on, and the bench shows what happened (post, redirect, get: a reload scans nothing)."""
    data = await _form(request)
    raw = data.get("barcode", "")[:64]
    try:
        async with request.state.pool.acquire() as conn:
            where = await staff.centre_of(conn, member) or await catalogue.lab_centre(conn, [])
            if where is None:
                raise InvalidInput("centre_id", "No lab centre is set up.")
            sample = await samples.scan_next(
                conn, barcode=raw, actor=member.actor, centre_id=where, meta=request_meta(request)
            )
    except DomainError as exc:
        shown = quote(raw.strip().upper()[:40])  # as the stored form would be
        return RedirectResponse(f"/staff/bench?error={_why(exc)}&barcode={shown}", status_code=303)
    return RedirectResponse(f"/staff/bench?done={quote(sample.barcode)}&to={sample.state.value}", status_code=303)


REASONS = ("haemolysed", "clotted", "insufficient_volume", "mislabelled", "leaked", "wrong_container", "other")


async def reject(request: Request, member: StaffMember) -> Response:
    """A tube unfit to test: rejected with its reason, and a new tube asked for (its barcode shown, its label to
    print with the order's)."""
    data = await _form(request)
    raw = data.get("barcode", "")[:64]
    try:
        if data.get("reason") not in REASONS:
            raise InvalidInput("reason", "Choose why the tube cannot be tested.")
        async with request.state.pool.acquire() as conn:
            where = await staff.centre_of(conn, member) or await catalogue.lab_centre(conn, [])
            old, new = await collection.recollect(
                conn, raw, reason=RejectionReason(data["reason"]), note=(data.get("note") or "")[:500] or None,
                actor=member.actor, centre_id=where or "", meta=request_meta(request),
            )  # fmt: skip
    except DomainError as exc:
        shown = quote(raw.strip().upper()[:40])
        return RedirectResponse(f"/staff/bench?error={_why(exc)}&barcode={shown}", status_code=303)
    return RedirectResponse(
        f"/staff/bench?rejected={quote(old.barcode)}&new={quote(new.barcode)}&order={new.order_id}", status_code=303
    )


def _why(exc: DomainError) -> str:
    """The text key for a refused scan (the page says it in the member's language)."""
    if isinstance(exc, UnknownBarcode):
        return "unknown"
    if isinstance(exc, InvalidInput) and exc.field in ("reason", "note"):
        return "reason"
    if isinstance(exc, PermissionDenied):
        return "role"
    if isinstance(exc, InvalidInput):
        return "malformed"
    if isinstance(exc, StaleVersion):
        return "stale"
    if isinstance(exc, InvalidTransition):
        return {SampleState.COMPLETED.value: "completed", SampleState.REPORTED.value: "reported"}.get(
            exc.from_state, "rejected" if exc.from_state.startswith(("rejected", "recollection")) else "refused"
        )
    return "refused"


async def hl7_queue(request: Request, member: StaffMember) -> Response:
    """Held messages (not applied, or applied but wanting a look), oldest first, each with why and what to do."""
    async with request.state.pool.acquire() as conn:
        messages = await review.review_queue(conn)
    q = request.query_params
    done = q.get("done", "") if q.get("done") in ("reapplied", "held", "reviewed") else ""
    return page(request, "staff_hl7.html", member, messages=messages, done=done, detail=q.get("detail", "")[:300],
                 error=q.get("error", "")[:300])  # fmt: skip


async def hl7_message(request: Request, member: StaffMember) -> Response:
    """One message as it came, a segment a line (decrypted for this person, and audited)."""
    async with request.state.pool.acquire() as conn:
        text = await review.read_raw(conn, request.state.vault, request.path_params["message_id"],
                                     actor=member.actor, meta=request_meta(request))  # fmt: skip
    lines = [line for line in text.replace("\n", "\r").split("\r") if line]
    return page(request, "staff_hl7_message.html", member, lines=lines)


async def hl7_reapply(request: Request, member: StaffMember) -> Response:
    await _form(request)
    try:
        async with request.state.pool.acquire() as conn:
            out = await review.reapply(conn, request.state.vault, request.path_params["message_id"],
                                       actor=member.actor)  # fmt: skip
    except DomainError as exc:
        return back_with_error(request, "/staff/hl7", exc)
    done = "reapplied" if out.ack_code == "AA" else "held"
    return RedirectResponse(f"/staff/hl7?done={done}&detail={quote(out.text[:300])}", status_code=303)


async def hl7_reviewed(request: Request, member: StaffMember) -> Response:
    await _form(request)
    try:
        async with request.state.pool.acquire() as conn:
            await review.mark_reviewed(conn, request.path_params["message_id"], actor=member.actor)
    except DomainError as exc:
        return back_with_error(request, "/staff/hl7", exc)
    return RedirectResponse("/staff/hl7?done=reviewed", status_code=303)


async def operations_page(request: Request, member: StaffMember) -> Response:
    """Dead letters (requeue each), uncertain notices, the queue, HL7 senders, notices by channel: no PHI."""
    async with request.state.pool.acquire() as conn:
        seen = await operations.overview(conn, member.actor)
    lang, q = lang_of(request), request.query_params
    return page(request, "staff_operations.html", member, seen=seen, at=lambda d: clock(lang, d),
                done=q.get("done", "")[:20], error=q.get("error", "")[:20])  # fmt: skip


async def requeue(request: Request, member: StaffMember) -> Response:
    await _form(request)
    raw = request.path_params["dead_id"]
    if not raw.isdigit() or len(raw) > 18:
        return RedirectResponse("/staff/operations?error=gone", status_code=303)
    async with request.state.pool.acquire() as conn:
        done = await runner.requeue(conn, int(raw), member.actor, request_meta(request))
    return RedirectResponse(f"/staff/operations?{'done=requeued' if done else 'error=gone'}", status_code=303)


async def settle(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    raw = request.path_params["delivery_id"]
    if not raw.isdigit() or len(raw) > 18 or data.get("arrived") not in ("yes", "no"):
        return RedirectResponse("/staff/operations?error=gone", status_code=303)
    try:
        async with request.state.pool.acquire() as conn:
            await operations.settle_notice(conn, int(raw), arrived=data["arrived"] == "yes", actor=member.actor,
                                           meta=request_meta(request))  # fmt: skip
    except DomainError:
        return RedirectResponse("/staff/operations?error=settled", status_code=303)
    done = "arrived" if data["arrived"] == "yes" else "resent"
    return RedirectResponse(f"/staff/operations?done={done}", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/staff", home, methods=["GET"], name="staff.page.home"),
        Route("/staff/signin", sign_in, methods=["POST"], name="staff.page.signin"),
        Route("/staff/signout", sign_out, methods=["POST"], name="staff.page.signout"),
        staff_route("/staff/bench", bench, methods=["GET"], name="staff.page.bench"),
        staff_route("/staff/bench/scan", scan, methods=["POST"], name="staff.page.bench.scan"),
        staff_route("/staff/bench/reject", reject, methods=["POST"], name="staff.page.bench.reject"),
        staff_route("/staff/hl7", hl7_queue, methods=["GET"], name="staff.page.hl7"),
        staff_route("/staff/operations", operations_page, methods=["GET"], name="staff.page.operations"),
        staff_route(
            "/staff/operations/dead/{dead_id}/requeue", requeue, methods=["POST"], name="staff.page.operations.requeue"
        ),
        staff_route(
            "/staff/operations/notices/{delivery_id}", settle, methods=["POST"], name="staff.page.operations.settle"
        ),
        staff_route("/staff/hl7/{message_id}", hl7_message, methods=["GET"], name="staff.page.hl7.message"),
        staff_route("/staff/hl7/{message_id}/reapply", hl7_reapply, methods=["POST"], name="staff.page.hl7.reapply"),
        staff_route("/staff/hl7/{message_id}/reviewed", hl7_reviewed, methods=["POST"], name="staff.page.hl7.reviewed"),
    ]
