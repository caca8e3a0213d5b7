"""Administration in the staff workspace (issue 19): staff accounts (add one with a first password; change a role,
a centre, or switch an account off, which ends its open sessions at once); the lab's tests (prices, turnaround
targets), the analytes each test measures, and reference ranges by analyte, sex and age band (with critical and
delta-check limits), each added, changed or removed. The audit search is ``/admin/audit``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core import lab_setup, ranges
from core.booking import catalogue
from core.errors import DomainError, InvalidInput
from core.i18n import LANGS
from core.identity import Role
from core.permissions import STAFF
from core.staff import service as staff
from core.staff.service import StaffMember
from portal.guard import staff_route
from portal.http import request_meta
from portal.pages import _form, back_with_error
from portal.staff_pages import page

ROLES = tuple(sorted(role.value for role in STAFF))


def _role(raw: str | None) -> Role:
    if raw not in ROLES:
        raise InvalidInput("role", "Choose a staff role.")
    return Role(raw)


async def accounts(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        people = await staff.accounts(conn, member.actor)
        centres = await catalogue.centres_all(conn)
    q = request.query_params
    return page(request, "staff_accounts.html", member, people=people, centres=centres, roles=ROLES,
                done=q.get("done", "")[:10], error=q.get("error", "")[:300])  # fmt: skip


async def add(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    try:
        async with request.state.pool.acquire() as conn:
            added = await staff.add(conn, username=data.get("username", "")[:64],
                                    display_name=data.get("display_name", "")[:120], role=_role(data.get("role")),
                                    password=data.get("password", "")[:256], actor=member.actor,
                                    meta=request_meta(request))  # fmt: skip
            if data.get("centre_id"):
                await staff.set_centre(conn, added.id, data["centre_id"][:40], actor=member.actor)
    except DomainError as exc:
        return back_with_error(request, "/staff/admin/accounts", exc)
    return RedirectResponse("/staff/admin/accounts?done=added", status_code=303)


async def change(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    try:
        async with request.state.pool.acquire() as conn:
            await staff.change(conn, request.state.staff_sessions, request.path_params["staff_id"][:64],
                               role=_role(data.get("role")), centre_id=(data.get("centre_id") or "")[:40] or None,
                               active=data.get("active") == "on", actor=member.actor,
                               meta=request_meta(request))  # fmt: skip
    except DomainError as exc:
        return back_with_error(request, "/staff/admin/accounts", exc)
    return RedirectResponse("/staff/admin/accounts?done=changed", status_code=303)


async def lab(request: Request, member: StaffMember) -> Response:
    """The catalogue's prices and turnaround targets, and every reference range with its critical and delta limits."""
    async with request.state.pool.acquire() as conn:
        tests = await catalogue.tests(conn)
        bands = await ranges.range_rows(conn)
        analytes = [(a.code, a.name) for a in await ranges.analytes(conn)]
    q = request.query_params
    return page(request, "staff_lab.html", member, tests=tests, ranges=bands, analytes=analytes,
                done=q.get("done", "")[:10], error=q.get("error", "")[:300])  # fmt: skip


def _number(raw: str | None, field: str) -> Decimal | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidInput(field, f"{text[:20]!r} is not a number.") from exc
    if not value.is_finite() or abs(value) > 10**9:
        raise InvalidInput(field, f"{text[:20]!r} is not a number a result can have.")
    return value


async def set_test(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    try:
        rupees = _number(data.get("price"), "price")
        hours = _number(data.get("turnaround_hours"), "turnaround_hours")
        if rupees is None or hours is None or hours != hours.to_integral_value():
            raise InvalidInput("price", "Give the price in rupees and the turnaround target in whole hours.")
        async with request.state.pool.acquire() as conn:
            await lab_setup.set_test(
                conn, request.path_params["code"][:20], price_paise=int(rupees * 100), turnaround_hours=int(hours),
                actor=member.actor, meta=request_meta(request),
            )  # fmt: skip
    except DomainError as exc:
        return back_with_error(request, "/staff/admin/lab", exc)
    return RedirectResponse("/staff/admin/lab?done=test", status_code=303)


async def set_range(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    raw = request.path_params["range_id"]
    try:
        if not raw.isdigit() or len(raw) > 18:
            raise InvalidInput("range_id", "There is no such reference range.")
        async with request.state.pool.acquire() as conn:
            await lab_setup.set_range(
                conn, int(raw), low=_number(data.get("low"), "low"), high=_number(data.get("high"), "high"),
                critical_low=_number(data.get("critical_low"), "critical_low"),
                critical_high=_number(data.get("critical_high"), "critical_high"),
                delta_percent=_number(data.get("delta_percent"), "delta_percent"), actor=member.actor,
                meta=request_meta(request),
            )  # fmt: skip
    except DomainError as exc:
        return back_with_error(request, "/staff/admin/lab", exc)
    return RedirectResponse("/staff/admin/lab?done=range", status_code=303)


async def analytes(request: Request, member: StaffMember) -> Response:
    """What each test measures: code, name, unit, delta-check limit, how many reference intervals; edit or add."""
    async with request.state.pool.acquire() as conn:
        listed = await ranges.analytes(conn)
        tests = await catalogue.tests(conn)
    q = request.query_params
    return page(request, "staff_analytes.html", member, analytes=listed, tests=tests, done=q.get("done", "")[:10],
                error=q.get("error", "")[:300])  # fmt: skip


async def set_analyte(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    try:
        async with request.state.pool.acquire() as conn:
            added = await lab_setup.set_analyte(
                conn, data.get("code", "")[:40], test_code=data.get("test_code", "")[:20],
                name=data.get("name", "")[:200], unit=data.get("unit", "")[:40],
                delta_percent=_number(data.get("delta_percent"), "delta_percent"), actor=member.actor,
                meta=request_meta(request),
            )  # fmt: skip
    except DomainError as exc:
        return back_with_error(request, "/staff/admin/analytes", exc)
    return RedirectResponse(f"/staff/admin/analytes?done={'added' if added else 'saved'}", status_code=303)


def _years(raw: str | None, field: str) -> int:
    text = (raw or "").strip()
    if not text.isdigit() or len(text) > 3:
        raise InvalidInput(field, "Give ages in whole years.")
    return int(text)


async def add_range(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    try:
        band = ranges.Band(data.get("analyte_code", "")[:40], data.get("sex", "")[:10],
                           _years(data.get("age_min_years"), "age_min_years"),
                           _years(data.get("age_max_years"), "age_max_years"))  # fmt: skip
        async with request.state.pool.acquire() as conn:
            range_id = await lab_setup.add_range(conn, band, actor=member.actor, meta=request_meta(request))
    except DomainError as exc:
        return back_with_error(request, "/staff/admin/lab", exc)
    return RedirectResponse(f"/staff/admin/lab?done=added#range-{range_id}", status_code=303)


async def remove_range(request: Request, member: StaffMember) -> Response:
    await _form(request)
    raw = request.path_params["range_id"]
    try:
        if not raw.isdigit() or len(raw) > 18:
            raise InvalidInput("range_id", "There is no such reference range.")
        async with request.state.pool.acquire() as conn:
            await lab_setup.remove_range(conn, int(raw), actor=member.actor, meta=request_meta(request))
    except DomainError as exc:
        return back_with_error(request, "/staff/admin/lab", exc)
    return RedirectResponse("/staff/admin/lab?done=removed", status_code=303)


async def centres(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        listed = await catalogue.centres_listed(conn)
    q = request.query_params
    return page(request, "staff_centres.html", member, centres=listed, done=q.get("done", "")[:10],
                error=q.get("error", "")[:300])  # fmt: skip


async def set_centre(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    names = {lang: name for lang in LANGS[1:] if (name := data.get(f"name_{lang}", "")[:120].strip())}
    centre = catalogue.Centre(data.get("id", "").strip().upper()[:20], data.get("name", "")[:120].strip(),
                              data.get("kind", "")[:20], data.get("city", "")[:60].strip(), names)  # fmt: skip
    pincodes = [p for p in data.get("pincodes", "").replace(",", " ").split() if p][:200]
    try:
        async with request.state.pool.acquire() as conn:
            await lab_setup.set_centre(conn, centre, pincodes=pincodes, actor=member.actor, meta=request_meta(request))
    except DomainError as exc:
        return back_with_error(request, "/staff/admin/centres", exc)
    return RedirectResponse("/staff/admin/centres?done=saved", status_code=303)


def routes() -> list[Route]:
    return [
        staff_route("/staff/admin/accounts", accounts, methods=["GET"], name="staff.page.accounts"),
        staff_route("/staff/admin/accounts", add, methods=["POST"], name="staff.page.accounts.add"),
        staff_route("/staff/admin/accounts/{staff_id}", change, methods=["POST"], name="staff.page.accounts.change"),
        staff_route("/staff/admin/lab", lab, methods=["GET"], name="staff.page.lab"),
        staff_route("/staff/admin/centres", centres, methods=["GET"], name="staff.page.centres"),
        staff_route("/staff/admin/centres", set_centre, methods=["POST"], name="staff.page.centres.set"),
        staff_route("/staff/admin/lab/tests/{code}", set_test, methods=["POST"], name="staff.page.lab.test"),
        staff_route("/staff/admin/lab/ranges/{range_id}", set_range, methods=["POST"], name="staff.page.lab.range"),
        staff_route("/staff/admin/lab/ranges", add_range, methods=["POST"], name="staff.page.lab.range.add"),
        staff_route(
            "/staff/admin/lab/ranges/{range_id}/remove",
            remove_range,
            methods=["POST"],
            name="staff.page.lab.range.remove",
        ),
        staff_route("/staff/admin/analytes", analytes, methods=["GET"], name="staff.page.analytes"),
        staff_route("/staff/admin/analytes", set_analyte, methods=["POST"], name="staff.page.analytes.set"),
    ]
