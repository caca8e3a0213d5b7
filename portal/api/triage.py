"""POST /api/triage: symptoms in free text → level, reasons, specialty, tests, advice. No sign-in needed to ask;
a signed-in person's check is kept (their words encrypted) and audited."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.triage import assess as triage
from portal.http import read_json, request_meta
from portal.patient_auth import current_patient_session


async def assess(request: Request) -> Response:
    data = await read_json(request)
    text = data.get("text")
    result = triage.assess(
        text,
        age=data.get("age"),
        sex=data.get("sex"),
        language=data.get("language"),
        ambulance=request.state.settings.ambulance_number,
    )
    body = result.to_json()
    session = await current_patient_session(request)
    if session is not None and isinstance(text, str):
        async with request.state.pool.acquire() as conn:
            body["id"] = await triage.record(
                conn, request.state.vault, session.phone_lookup, text, result, meta=request_meta(request)
            )
    return JSONResponse(body)


def routes() -> list[Route]:
    return [Route("/api/triage", assess, methods=["POST"], name="triage.assess")]
