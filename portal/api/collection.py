"""The collection centre's API: register a walk-in or find them by phone or MRN, place an order from the
catalogue, give its tubes barcodes, and print their labels (a PDF for the label printer). The pages come with the
staff workspace; these are what they call."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core import access
from core.booking import service as booking
from core.errors import InvalidInput
from core.orders import collection
from core.orders import service as orders
from core.patients import service as patients
from core.patients.model import NewPatient, Patient, Sex, date_of_birth
from core.staff.service import StaffMember
from portal.guard import staff_route
from portal.http import field_str, read_json, request_meta


def _person(p: Patient) -> dict[str, object]:
    return {
        "id": p.id, "mrn": p.mrn, "name": p.name, "sex": p.sex.value, "phone": p.phone,
        "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
    }  # fmt: skip


async def register_patient(request: Request, member: StaffMember) -> Response:
    data = await read_json(request)
    sex = field_str(data, "sex", max_len=10) or ""
    if sex not in {s.value for s in Sex}:
        raise InvalidInput("sex", "'sex' is one of: female, male, other, unknown.")
    new = NewPatient(
        name=field_str(data, "name") or "", sex=Sex(sex), phone=field_str(data, "phone", required=False, max_len=40),
        date_of_birth=date_of_birth(field_str(data, "date_of_birth", required=False, max_len=10)),
        address=field_str(data, "address", required=False, max_len=500),
    )  # fmt: skip
    async with request.state.pool.acquire() as conn:
        person = await patients.create(conn, request.state.vault, new, actor=member.actor, meta=request_meta(request))
    request.state.patient_id = person.id
    return JSONResponse({"patient": _person(person)}, status_code=201)


async def find_patients(request: Request, member: StaffMember) -> Response:
    """By phone (every patient on it: a family shares one) or by MRN; each record read is audited."""
    phone, mrn = request.query_params.get("phone"), request.query_params.get("mrn")
    if bool(phone) == bool(mrn):
        raise InvalidInput("phone", "Search by 'phone' or by 'mrn', one of the two.")
    async with request.state.pool.acquire() as conn:
        if phone:
            ids = await patients.ids_for_phone(conn, request.state.vault, phone[:40])
        else:
            found = await patients.find_by_mrn(conn, request.query_params.get("authority", "")[:60], (mrn or "")[:40])
            ids = [found] if found else []
        people = [
            (await access.read_patient(conn, request.state.vault, member.actor, pid, meta=request_meta(request)))[0]
            for pid in ids[:20]
        ]
    return JSONResponse({"patients": [_person(p) for p in people]})


async def place_order(request: Request, member: StaffMember) -> Response:
    data = await read_json(request)
    tests = data.get("tests")
    if not isinstance(tests, list) or not all(isinstance(t, str) and len(t) <= 40 for t in tests) or len(tests) > 40:
        raise InvalidInput("tests", '\'tests\' is a list of catalogue codes, such as ["CBC", "TSH"].')
    async with request.state.pool.acquire() as conn:
        order = await orders.place(
            conn, patient_id=field_str(data, "patient_id", max_len=40) or "",
            centre_id=field_str(data, "centre_id", max_len=40) or "", test_codes=tests, actor=member.actor,
            referring_doctor=field_str(data, "referring_doctor", required=False), meta=request_meta(request),
        )  # fmt: skip
    body = {"order_id": order.id, "tests": [t.code for t in order.tests], "sample_types": order.sample_types()}
    return JSONResponse(body, status_code=201)


async def add_tubes(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        tubes = await collection.tubes(
            conn, request.path_params["order_id"][:64], actor=member.actor, meta=request_meta(request)
        )
    body = {
        "tubes": [t.to_public() for t in tubes],
        "labels": f"/api/staff/orders/{request.path_params['order_id']}/labels.pdf",
    }
    return JSONResponse(body, status_code=201)


async def tube_labels(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        pdf = await collection.label_pdf(
            conn, request.state.vault, request.path_params["order_id"][:64], actor=member.actor,
            meta=request_meta(request),
        )  # fmt: skip
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": 'inline; filename="labels.pdf"'})


async def collect_booking(request: Request, member: StaffMember) -> Response:
    """At the door: the booking becomes an order with the scanned tubes."""
    data = await read_json(request)
    raw = data.get("tubes")
    if not isinstance(raw, list) or not raw or len(raw) > 10 or not all(isinstance(t, dict) for t in raw):
        raise InvalidInput("tubes", '\'tubes\' is a list of {"barcode", "sample_type"}, one per tube scanned.')
    tubes = [(field_str(t, "barcode", max_len=64) or "", field_str(t, "sample_type", max_len=40) or "") for t in raw]
    async with request.state.pool.acquire() as conn:
        done = await booking.collect(
            conn, ref=request.path_params["ref"], patient_id=field_str(data, "patient_id", max_len=40) or "",
            tubes=tubes, actor=member.actor, meta=request_meta(request),
        )  # fmt: skip
    return JSONResponse({"order_id": done.order_id, "tubes": list(done.barcodes)}, status_code=201)


def routes() -> list[Route]:
    return [
        staff_route("/api/staff/patients", register_patient, methods=["POST"], name="staff.patients.register"),
        staff_route("/api/staff/patients", find_patients, methods=["GET"], name="staff.patients.find"),
        staff_route("/api/staff/orders", place_order, methods=["POST"], name="staff.orders.place"),
        staff_route("/api/staff/orders/{order_id}/tubes", add_tubes, methods=["POST"], name="staff.orders.tubes"),
        staff_route(
            "/api/staff/orders/{order_id}/labels.pdf", tube_labels, methods=["GET"], name="staff.orders.labels"
        ),
        staff_route(
            "/api/staff/bookings/{ref}/collect", collect_booking, methods=["POST"], name="staff.bookings.collect"
        ),
    ]
