"""Administrators' tools: open alerts, jobs that gave up (and requeuing them), searching and exporting the audit log."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import asdict
from datetime import datetime

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core import access, audit, critical
from core.doctors import service as doctors
from core.doctors import store as doctor_store
from core.errors import InvalidInput, NotFound
from core.hl7 import destinations
from core.inputs import csv_cell
from core.jobs import runner
from core.notify import mask_phone
from core.patients import service as patients
from core.staff.service import StaffMember
from portal.guard import staff_route
from portal.http import field_str, read_json, request_meta
from portal.staff_pages import page


def _filters(request: Request) -> dict[str, object]:
    q = request.query_params
    out: dict[str, object] = {}
    for name in ("actor_id", "action", "outcome"):
        if q.get(name):
            out[name] = q[name][:120]
    if q.get("patient_id"):
        try:
            out["patient_id"] = str(uuid.UUID(q["patient_id"]))
        except ValueError as exc:
            raise InvalidInput("patient_id", "A patient id is a UUID.") from exc
    for name in ("since", "until"):
        if q.get(name):
            try:
                when = datetime.fromisoformat(q[name])
            except ValueError as exc:
                raise InvalidInput(
                    name, f"'{name}' is an ISO date or time, such as 2026-11-21T09:00:00+05:30."
                ) from exc
            if when.tzinfo is None:
                raise InvalidInput(name, f"Give '{name}' with its time zone, such as +05:30.")
            out[name] = when
    limit = q.get("limit", "500")
    if not limit.isdigit() or not 1 <= int(limit) <= 10_000:
        raise InvalidInput("limit", "'limit' is a whole number from 1 to 10000.")
    out["limit"] = int(limit)
    return out


async def alerts(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        return JSONResponse({"alerts": await access.open_alerts(conn)})


async def dead_letters(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        return JSONResponse({"dead_letters": await runner.dead_letters(conn)})


async def requeue(request: Request, member: StaffMember) -> Response:
    raw = request.path_params["dead_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput("dead_id", "A dead-letter id is a number.")
    async with request.state.pool.acquire() as conn:
        if not await runner.requeue(conn, int(raw), member.actor, meta=request_meta(request)):
            raise NotFound("There is no waiting dead letter with this id; it may have been requeued already.")
    return JSONResponse({"requeued": int(raw)}, status_code=202)


async def _search(
    conn: asyncpg.Connection, request: Request, member: StaffMember, filters: dict[str, object]
) -> list[dict[str, object]]:
    """The audit search; a patient's rows include those of records merged into them."""
    pid = filters.get("patient_id")
    merged = await patients.merged_into(conn, pid) if isinstance(pid, str) else []
    return await audit.search(conn, actor=member.actor, meta=request_meta(request), merged_ids=merged, **filters)  # type: ignore[arg-type]


async def audit_search(request: Request, member: StaffMember) -> Response:
    filters = _filters(request)
    async with request.state.pool.acquire() as conn:
        rows = await _search(conn, request, member, filters)
    return JSONResponse({"rows": rows})


async def audit_export(request: Request, member: StaffMember) -> Response:
    filters = _filters(request)
    async with request.state.pool.acquire() as conn:
        rows = await _search(conn, request, member, filters)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(audit.SEARCH_COLUMNS)
    for r in rows:
        writer.writerow([csv_cell(json.dumps(r[c]) if c == "summary" else r[c]) for c in audit.SEARCH_COLUMNS])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="labpulse-audit.csv"'},
    )


async def audit_page(request: Request, member: StaffMember) -> Response:
    """The same search as a page, with a form and a CSV link for the same filters."""
    error, rows = None, []
    try:
        filters = _filters(request)
        async with request.state.pool.acquire() as conn:
            rows = await _search(conn, request, member, filters)
    except InvalidInput as exc:
        error = exc.message
    return page(request, "admin_audit.html", member, 422 if error else 200, rows=rows, error=error,
                q=dict(request.query_params), query=request.url.query)  # fmt: skip


async def escalation(request: Request, member: StaffMember) -> Response:
    """The escalation chain in order; phones masked (the whole number is only ever typed in, never shown back)."""
    async with request.state.pool.acquire() as conn:
        people = await critical.chain(conn, request.state.vault)
    return JSONResponse({"chain": [_shown(i, m) for i, m in enumerate(people, 1)]})


async def escalation_set(request: Request, member: StaffMember) -> Response:
    """Replace the chain: ``{"chain": [{"username", "phone", "channel", "label"?}, …]}``, the on-duty doctor
    first. Audited; an empty or wrong chain is refused with the reason."""
    body = await read_json(request)
    raw = body.get("chain")
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        raise InvalidInput("chain", 'Send {"chain": [{"username": …, "phone": …, "channel": "sms"}, …]}.')
    entries = []
    for e in raw:
        values = {k: e.get(k) for k in ("username", "phone", "channel", "label")}
        if not isinstance(values["username"], str) or not isinstance(values["phone"], str):
            raise InvalidInput("chain", "Each person needs a username and a phone.")
        if not all(v is None or isinstance(v, str) for v in values.values()):
            raise InvalidInput("chain", "Username, phone, channel and label are text.")
        entries.append(critical.ChainEntry(values["username"], values["phone"], values["channel"] or "sms",
                                           values["label"]))  # fmt: skip
    async with request.state.pool.acquire() as conn:
        people = await critical.set_chain_by_username(conn, request.state.vault, entries, member.actor)
    return JSONResponse({"chain": [_shown(i, m) for i, m in enumerate(people, 1)]})


def _shown(position: int, member: critical.ChainMember) -> dict[str, object]:
    return {"position": position, "staff_id": member.staff_id, "label": member.label, "channel": member.channel,
            "phone": mask_phone(member.phone)}  # fmt: skip


async def destinations_list(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        found = await destinations.all_(conn)
    return JSONResponse({"destinations": [asdict(d) for d in found]})


async def destination_put(request: Request, member: StaffMember) -> Response:
    data = await read_json(request)
    port = data.get("port")
    if not isinstance(port, int) or isinstance(port, bool):
        raise InvalidInput("port", "'port' is a TCP port from 1 to 65535.")
    active = data.get("active", True)
    if not isinstance(active, bool):
        raise InvalidInput("active", "'active' is true or false.")
    d = destinations.Destination(
        id=request.path_params["destination_id"][:41], name=field_str(data, "name") or "",
        host=field_str(data, "host", max_len=253) or "", port=port,
        receiving_app=field_str(data, "receiving_app", required=False, max_len=60) or "",
        receiving_facility=field_str(data, "receiving_facility", required=False, max_len=60) or "",
        order_source=field_str(data, "order_source", required=False, max_len=200), active=active,
    )  # fmt: skip
    async with request.state.pool.acquire() as conn:
        await destinations.put(conn, d, actor=member.actor)
    return JSONResponse({"destination": asdict(d)})


async def doctors_unverified(request: Request, member: StaffMember) -> Response:
    async with request.state.pool.acquire() as conn:
        rows = await doctor_store.unverified(conn)
    return JSONResponse({"doctors": [asdict(r) for r in rows]})


async def doctor_update(request: Request, member: StaffMember) -> Response:
    data = await read_json(request)
    verified = data.get("verified")
    if verified is not None and not isinstance(verified, bool):
        raise InvalidInput("verified", "'verified' is true or false.")
    clear = "destination_id" in data and data["destination_id"] is None
    async with request.state.pool.acquire() as conn:
        await doctors.confirm(
            conn, request.path_params["doctor_id"][:64], actor=member.actor, verified=verified,
            destination_id=None if clear else field_str(data, "destination_id", required=False, max_len=40),
            clear_destination=clear,
        )  # fmt: skip
    return JSONResponse({"updated": True})


def routes() -> list[Route]:
    return [
        staff_route("/api/admin/alerts", alerts, methods=["GET"], name="admin.alerts"),
        staff_route("/api/admin/dead-letters", dead_letters, methods=["GET"], name="admin.dead_letters"),
        staff_route(
            "/api/admin/dead-letters/{dead_id}/requeue", requeue, methods=["POST"], name="admin.dead_letters.requeue"
        ),
        staff_route("/api/admin/escalation", escalation, methods=["GET"], name="admin.escalation"),
        staff_route("/api/admin/escalation", escalation_set, methods=["PUT"], name="admin.escalation.set"),
        staff_route("/api/admin/audit", audit_search, methods=["GET"], name="admin.audit"),
        staff_route("/api/admin/audit.csv", audit_export, methods=["GET"], name="admin.audit.export"),
        staff_route("/admin/audit", audit_page, methods=["GET"], name="admin.audit.page"),
        staff_route("/api/admin/hl7/destinations", destinations_list, methods=["GET"], name="admin.hl7.destinations"),
        staff_route(
            "/api/admin/hl7/destinations/{destination_id}",
            destination_put,
            methods=["PUT"],
            name="admin.hl7.destination.set",
        ),
        staff_route("/api/admin/doctors", doctors_unverified, methods=["GET"], name="admin.doctors"),
        staff_route("/api/admin/doctors/{doctor_id}", doctor_update, methods=["POST"], name="admin.doctors.update"),
    ]
