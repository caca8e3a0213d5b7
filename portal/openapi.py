"""The OpenAPI 3.1 document of the JSON API, served at /openapi.json. Written by hand next to the handlers; a test
keeps it in step with the router (every JSON route documented, nothing documented that does not exist) and
schemathesis runs against it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
    },
}
_ANY = {"type": "object"}
_ERROR_CONTENT = {"application/json": {"schema": _ERROR}}


def _body(required: list[str], props: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": props}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    *,
    body: dict[str, Any] | None = None,
    ok: int = 200,
    auth: bool = True,
    params: list[dict[str, Any]] | None = None,
    ok_type: str = "application/json",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(ok): {
                "description": "done",
                "content": {ok_type: {"schema": _ANY if ok_type.endswith("json") else {}}},
            },
            "default": {"description": "a refusal, with what is wrong", "content": _ERROR_CONTENT},
        },
    }
    if ok == 204:
        op["responses"]["204"] = {"description": "done"}
    if body:
        op["requestBody"] = body
    if params:
        op["parameters"] = params
    if not auth:
        op["security"] = []
    return op


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema or {"type": "string"},
        "description": description,
    }


_S = {"type": "string"}
_A = {"type": "array", "items": {"type": "string"}}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "labpulse JSON API", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/healthz": {"get": _op("PostgreSQL and Redis reachable?", auth=False)},
        "/readyz": {"get": _op("Reachable, and every background loop of this process running?", auth=False)},
        "/api/staff/session": {
            "post": _op(
                "Staff sign-in",
                auth=False,
                body=_body(["username", "password"], {"username": _S, "password": _S, "totp": _S}),
            ),
            "delete": _op("Staff sign-out", ok=204, auth=False),
        },
        "/api/staff/me": {"get": _op("Who is signed in")},
        "/api/staff/totp": {"post": _op("Start authenticator-app enrolment")},
        "/api/staff/totp/confirm": {"post": _op("Confirm enrolment with a code", body=_body(["code"], {"code": _S}))},
        "/api/staff/scan": {
            "post": _op(
                "Scan a tube: move it to a state",
                body=_body(
                    ["barcode", "to", "centre_id"],
                    {
                        "barcode": _S,
                        "to": _S,
                        "centre_id": _S,
                        "reason": _S,
                        "note": _S,
                        "expected_version": {"type": "integer"},
                    },
                ),
            )
        },
        "/api/staff/samples": {
            "post": _op(
                "Register a collected tube",
                ok=201,
                body=_body(
                    ["order_id", "barcode", "sample_type", "centre_id"],
                    {
                        "order_id": _S,
                        "barcode": _S,
                        "sample_type": _S,
                        "centre_id": _S,
                        "replaces_sample_id": _S,
                    },
                ),
            )
        },
        "/api/staff/samples/{barcode}": {
            "get": _op("A tube and its history", params=[_path("barcode", "tube barcode")])
        },
        "/api/staff/samples/{barcode}/report": {
            "post": _op(
                "Approve a completed tube: sign and issue its report", ok=201, params=[_path("barcode", "tube")]
            )
        },
        "/api/staff/unknown-scans": {"get": _op("Scans that matched no tube, for review")},
        "/api/staff/hl7/review": {"get": _op("Inbound HL7 messages held for review (AE/AR)")},
        "/api/staff/critical": {"get": _op("Critical values not yet acknowledged")},
        "/api/staff/critical/{alert_id}/ack": {
            "post": _op("Acknowledge a critical value", params=[_path("alert_id", "number")])
        },
        "/api/staff/hl7/{message_id}/reapply": {
            "post": _op("Apply a held HL7 message again", params=[_path("message_id", "uuid")])
        },
        "/api/staff/patients": {
            "post": _op(
                "Register a walk-in patient",
                ok=201,
                body=_body(["name", "sex"], {"name": _S, "sex": _S, "date_of_birth": _S, "phone": _S, "address": _S}),
            ),
            "get": _op(
                "Find patients by phone or MRN (each record read is audited)",
                params=[_query("phone", "a phone number"), _query("mrn", "a medical record number")],
            ),
        },
        "/api/staff/orders": {
            "post": _op(
                "Place an order from the catalogue",
                ok=201,
                body=_body(["patient_id", "centre_id", "tests"], {"patient_id": _S, "centre_id": _S, "tests": _A}),
            )
        },
        "/api/staff/orders/{order_id}/tubes": {
            "post": _op("Give the order's tubes barcodes (collected now)", ok=201, params=[_path("order_id", "uuid")])
        },
        "/api/admin/hl7/destinations": {"get": _op("Where results go out to over MLLP (administrators)")},
        "/api/admin/hl7/destinations/{destination_id}": {
            "put": _op(
                "Set up a destination for results (administrators)",
                params=[_path("destination_id", "an id of letters, digits, dots, dashes")],
                body=_body(
                    ["name", "host", "port"],
                    {
                        "name": _S,
                        "host": _S,
                        "port": {"type": "integer"},
                        "receiving_app": _S,
                        "receiving_facility": _S,
                        "order_source": _S,
                        "active": {"type": "boolean"},
                    },
                ),
            )
        },
        "/api/admin/doctors": {"get": _op("Doctors first seen in orders, not yet confirmed (administrators)")},
        "/api/admin/doctors/{doctor_id}": {
            "post": _op(
                "Confirm a doctor and say where their results go (administrators)",
                params=[_path("doctor_id", "uuid")],
                body=_body([], {"verified": {"type": "boolean"}, "destination_id": {"type": ["string", "null"]}}),
            )
        },
        "/api/staff/bookings/{ref}/collect": {
            "post": _op(
                "A home collection becomes an order with the scanned tubes",
                ok=201,
                params=[_path("ref", "the booking number")],
                body=_body(["patient_id", "tubes"], {"patient_id": _S, "tubes": {"type": "array", "items": _ANY}}),
            )
        },
        "/api/staff/orders/{order_id}/labels.pdf": {
            "get": _op(
                "Tube labels for a label printer (PDF)", params=[_path("order_id", "uuid")], ok_type="application/pdf"
            )
        },
        "/api/staff/hl7/{message_id}/reviewed": {
            "post": _op("Mark a message in the HL7 review queue as seen", params=[_path("message_id", "uuid")])
        },
        "/api/staff/patients/merges/{merge_id}/undo": {
            "post": _op("Undo a merge of two patient records (administrators)", params=[_path("merge_id", "uuid")])
        },
        "/api/staff/patients/{patient_id}": {
            "get": _op("A patient's record (audited)", params=[_path("patient_id", "uuid")])
        },
        "/api/staff/break-glass": {
            "post": _op(
                "Open one record for 30 minutes (doctors)",
                ok=201,
                body=_body(["patient_id", "reason"], {"patient_id": _S, "reason": _S}),
            )
        },
        "/api/admin/alerts": {"get": _op("Open alerts")},
        "/api/admin/escalation": {
            "get": _op("The critical-value escalation chain, in order (phones masked)"),
            "put": _op(
                "Replace the escalation chain (the on-duty doctor first)",
                body=_body(
                    ["chain"],
                    {
                        "chain": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["username", "phone"],
                                "properties": {
                                    "username": _S,
                                    "phone": _S,
                                    "channel": {"enum": ["sms", "whatsapp", "telegram"]},
                                    "label": _S,
                                },
                            },
                        }
                    },
                ),
            ),
        },
        "/api/admin/dead-letters": {"get": _op("Jobs that gave up after their last retry")},
        "/api/admin/dead-letters/{dead_id}/requeue": {
            "post": _op("Queue a dead letter's job again", ok=202, params=[_path("dead_id", "dead-letter id")])
        },
        "/api/admin/audit": {
            "get": _op(
                "Search the audit log",
                params=[
                    _query("actor_id", "exact"),
                    _query("patient_id", "uuid"),
                    _query("action", "prefix"),
                    _query("outcome", "prefix"),
                    _query("since", "ISO time with zone"),
                    _query("until", "ISO time with zone"),
                    _query("limit", "1-10000", {"type": "integer"}),
                ],
            )
        },
        "/api/admin/audit.csv": {"get": _op("Export an audit search as CSV", ok_type="text/csv")},
        "/api/triage": {
            "post": _op(
                "Symptoms in words: urgency with reasons, specialty, first tests, advice",
                auth=False,
                body=_body(["text"], {"text": _S, "age": {"type": "integer"}, "sex": _S, "language": _S}),
            )
        },
        "/api/consults/{consult_id}/note": {
            "get": _op(
                "The consult's note, latest version (the doctor's join link)",
                auth=False,
                params=[_path("consult_id", "uuid")],
            ),
            "put": _op(
                "Save the doctor's edits into the draft",
                auth=False,
                params=[_path("consult_id", "uuid")],
                body=_body(["body"], {"body": _ANY}),
            ),
        },
        "/api/consults/{consult_id}/note/sign": {
            "post": _op(
                "Sign the draft the doctor was looking at; it never changes again",
                auth=False,
                params=[_path("consult_id", "uuid")],
                body=_body(["version"], {"version": {"type": "integer"}}),
            )
        },
        "/api/consults/{consult_id}/note/amend": {
            "post": _op(
                "Start an amendment of the signed note (a new version)",
                auth=False,
                params=[_path("consult_id", "uuid")],
            )
        },
        "/api/consults/{consult_id}/tests": {
            "post": _op(
                "Send the patient a booking link for these tests",
                auth=False,
                params=[_path("consult_id", "uuid")],
                body=_body(["codes"], {"codes": {"type": "array", "items": _S}}),
            )
        },
        "/api/patient/code": {
            "post": _op("Send a sign-in code", ok=202, auth=False, body=_body(["phone"], {"phone": _S, "lang": _S}))
        },
        "/api/patient/session": {
            "post": _op("Sign in with the code", auth=False, body=_body(["phone", "code"], {"phone": _S, "code": _S})),
            "delete": _op(
                "Sign out (?everywhere=1: on all devices)",
                ok=204,
                params=[_query("everywhere", "1 to sign out everywhere")],
            ),
        },
        "/api/patient/link": {
            "post": _op("Sign in with a link's token", auth=False, body=_body(["token"], {"token": _S}))
        },
        "/api/patient/status": {
            "get": _op("My samples and timelines", params=[_query("patient", "one of my patients")])
        },
        "/api/patient/access-log": {"get": _op("Who viewed my data", params=[_query("patient", "one of my patients")])},
        "/api/patient/socket-token": {"post": _op("A single-use token for /ws/status (60 s)")},
        "/api/patient/export": {"get": _op("All my data as JSON", params=[_query("patient", "one of my patients")])},
        "/api/patient/export.fhir.json": {
            "get": _op(
                "All my data as a FHIR R4 Bundle",
                ok_type="application/fhir+json",
                params=[_query("patient", "one of my patients")],
            )
        },
        "/api/patient/reports/{report_id}/link": {
            "post": _op(
                "A 15-minute signed download link for one of my reports",
                params=[_path("report_id", "report id"), _query("patient", "one of my patients")],
            )
        },
        "/api/patient/close": {
            "post": _op("Close my account", body=_body(["patient", "confirm"], {"patient": _S, "confirm": _S}))
        },
    },
}


async def openapi(request: Request) -> Response:
    return JSONResponse(DOCUMENT)


def routes() -> list[Route]:
    return [Route("/openapi.json", openapi, methods=["GET"], name="openapi")]
