"""The collection centre's desk in the staff workspace (issue 19): the day's bookings (home visits and visits to the
centre) with their state; find a patient by phone or MRN, or register a walk-in; order tests from the catalogue;
the order's tubes get their barcodes at once and their labels print as a PDF for the label printer. The same core
services as the collection API (``portal/api/collection.py``); every record shown is read through ``core.access``
(audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core import access, i18n
from core.booking import catalogue
from core.booking import service as booking
from core.errors import DomainError, InvalidInput, NotFound
from core.i18n import error_text
from core.ids import is_uuid
from core.labtime import LAB_TZ
from core.orders import collection
from core.orders import service as orders
from core.patients import service as patients
from core.patients.model import NewPatient, Patient, Sex, date_of_birth
from core.samples import service as samples
from core.staff import service as staff
from core.staff.service import StaffMember
from portal.guard import staff_route
from portal.http import request_meta
from portal.i18n import clock
from portal.pages import _form, back_with_error, lang_of
from portal.staff_pages import page

SEXES = ("female", "male", "other", "unknown")


async def desk(request: Request, member: StaffMember) -> Response:
    """The search (``?phone=`` or ``?mrn=``) and its results, and the form to register a walk-in."""
    q = request.query_params
    phone, mrn = (q.get("phone") or "").strip()[:40], (q.get("mrn") or "").strip()[:40]
    people: list[Patient] = []
    error = q.get("error", "")[:300]
    if phone or mrn:
        try:
            people = await _find(request, member, phone, mrn)
        except DomainError as exc:
            error = error_text(lang_of(request), exc)
    async with request.state.pool.acquire() as conn:
        today = await booking.for_day(conn, await staff.centre_of(conn, member), datetime.now(LAB_TZ).date())
    lang = lang_of(request)
    return page(request, "staff_reception.html", member, people=people, phone=phone, mrn=mrn, error=error,
                searched=bool(phone or mrn), sexes=SEXES, today=today, at=lambda d: clock(lang, d))  # fmt: skip


async def _find(request: Request, member: StaffMember, phone: str, mrn: str) -> list[Patient]:
    async with request.state.pool.acquire() as conn:
        if phone:
            ids = await patients.ids_for_phone(conn, request.state.vault, phone)
        else:
            found = await patients.find_by_mrn(conn, "", mrn)
            ids = [found] if found else []
        return [
            (await access.read_patient(conn, request.state.vault, member.actor, pid, meta=request_meta(request)))[0]
            for pid in ids[:20]
        ]


async def register(request: Request, member: StaffMember) -> Response:
    """A walk-in: registered, then straight to ordering their tests."""
    data = await _form(request)
    try:
        sex = data.get("sex", "")
        if sex not in SEXES:
            raise InvalidInput("sex", "Choose the patient's sex.")
        new = NewPatient(
            name=data.get("name", "")[:200], sex=Sex(sex), phone=(data.get("phone") or "")[:40] or None,
            date_of_birth=date_of_birth(data.get("date_of_birth")), address=(data.get("address") or "")[:500] or None,
        )  # fmt: skip
        async with request.state.pool.acquire() as conn:
            person = await patients.create(conn, request.state.vault, new, actor=member.actor,
                                           meta=request_meta(request))  # fmt: skip
    except DomainError as exc:
        return back_with_error(request, "/staff/reception", exc)
    return RedirectResponse(f"/staff/reception/order?patient={person.id}", status_code=303)


async def order_form(request: Request, member: StaffMember) -> Response:
    """The patient (read, audited) and the catalogue to order from."""
    async with request.state.pool.acquire() as conn:
        person, _ = await access.read_patient(conn, request.state.vault, member.actor,
                                              request.query_params.get("patient", "")[:64],
                                              meta=request_meta(request))  # fmt: skip
        tests = await catalogue.tests(conn)
        centres = await catalogue.centres(conn)
        mine = await staff.centre_of(conn, member)
    lang, error = lang_of(request), request.query_params.get("error", "")[:300]
    return page(request, "staff_order.html", member, person=person, tests=tests, centres=centres, centre=mine,
                error=error, rupees=lambda paise: i18n.rupees(lang, paise))  # fmt: skip


async def place(request: Request, member: StaffMember) -> Response:
    """Place the order and give its tubes barcodes in one go; then its page, with the labels to print."""
    form = await request.form(max_files=0, max_fields=80, max_part_size=4096)
    data: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    await _form(request)  # the CSRF check
    patient_id = str(data.get("patient_id", ""))[:64]
    codes = [str(v)[:40] for v in form.getlist("tests") if isinstance(v, str)][:40]
    try:
        async with request.state.pool.acquire() as conn:
            centre = await staff.centre_of(conn, member) or str(data.get("centre_id", ""))[:40]
            placed = await orders.place(conn, patient_id=patient_id, centre_id=centre, test_codes=codes,
                                        actor=member.actor, referring_doctor=str(data.get("doctor", ""))[:200] or None,
                                        meta=request_meta(request))  # fmt: skip
            await collection.tubes(conn, placed.id, actor=member.actor, meta=request_meta(request))
    except DomainError as exc:
        return back_with_error(request, f"/staff/reception/order?patient={quote(patient_id)}", exc)
    return RedirectResponse(f"/staff/reception/orders/{placed.id}", status_code=303)


async def placed(request: Request, member: StaffMember) -> Response:
    """The order's tubes with their barcodes, and the labels to print."""
    order_id = request.path_params["order_id"][:64]
    async with request.state.pool.acquire() as conn:
        tubes = await samples.tubes_of_order(conn, order_id) if is_uuid(order_id) else []
    if not tubes:
        raise NotFound("There is no such order here.")
    return page(request, "staff_order_placed.html", member, order_id=order_id, tubes=tubes)


def routes() -> list[Route]:
    return [
        staff_route("/staff/reception", desk, methods=["GET"], name="staff.page.reception"),
        staff_route("/staff/reception/patients", register, methods=["POST"], name="staff.page.reception.register"),
        staff_route("/staff/reception/order", order_form, methods=["GET"], name="staff.page.reception.order"),
        staff_route("/staff/reception/orders", place, methods=["POST"], name="staff.page.reception.place"),
        staff_route("/staff/reception/orders/{order_id}", placed, methods=["GET"], name="staff.page.reception.placed"),
    ]
