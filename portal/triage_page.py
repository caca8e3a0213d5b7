"""The symptom check as pages: a calm form (GET /triage) and its result (POST /triage). No sign-in needed; a signed-in
person's check is kept (their words encrypted) and audited, as the API does. An emergency leads with the ambulance
number and never offers a booking; any other level offers to book the suggested tests."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.errors import InvalidInput
from core.triage import assess as triage
from core.triage import nlp
from portal.http import request_meta
from portal.i18n import reason, specialty, t
from portal.pages import lang_of, render
from portal.patient_auth import CsrfFailed, check_csrf, current_patient_session

_KEEP_CHARS = 4 * nlp.MAX_CHARS  # a too-long text is shown back (to shorten it), but not an unbounded one


def _tel(number: str) -> str:
    return "tel:" + re.sub(r"[^0-9+]", "", number)


def _form_page(
    request: Request, *, signed_in: bool, status: int = 200, error: str | None = None, field: str | None = None,
    text: str = "", age: str = "", sex: str = "",
) -> Response:  # fmt: skip
    ambulance = request.state.settings.ambulance_number
    return render(request, "triage.html", status, error=error, field=field, text=text, age=age, sex=sex,
                  signed_in=signed_in, ambulance=ambulance, tel=_tel(ambulance))  # fmt: skip


def _message(lang: str, exc: InvalidInput, text: str) -> str:
    """The domain's calm message; on a page in another language, the same words in it."""
    if lang == "en":
        return exc.message
    if exc.field == "text":
        return t(lang, "err_text_long", n=nlp.MAX_CHARS) if text.strip() else t(lang, "err_text_empty")
    return t(lang, "err_age") if exc.field == "age" else t(lang, "err_sex")


async def triage_page(request: Request) -> Response:
    return _form_page(request, signed_in=await current_patient_session(request) is not None)


async def triage_result(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10, max_part_size=4 * _KEEP_CHARS)
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    text = data.get("text", "").replace("\r\n", "\n")[:_KEEP_CHARS]  # browsers send a textarea's newlines as CRLF
    age, sex = data.get("age", "").strip()[:8], data.get("sex", "")[:8]
    session = await current_patient_session(request)
    lang = lang_of(request)
    signed_in = session is not None
    try:
        check_csrf(request, data.get("csrf"))
    except CsrfFailed:
        return _form_page(request, signed_in=signed_in, status=403, error=t(lang, "err_csrf"), text=text, age=age,
                          sex=sex)  # fmt: skip
    ambulance = request.state.settings.ambulance_number
    try:
        result = triage.assess(
            text,
            age=int(age) if age.isdigit() else (age or None),  # anything else: the domain's calm message
            sex=sex or None,
            language=lang,
            ambulance=ambulance,
        )
    except InvalidInput as exc:
        return _form_page(request, signed_in=signed_in, status=422, error=_message(lang, exc, text), field=exc.field,
                          text=text, age=age, sex=sex)  # fmt: skip
    if session is not None:
        async with request.state.pool.acquire() as conn:
            await triage.record(
                conn, request.state.vault, session.phone_lookup, text, result, meta=request_meta(request)
            )
    tests = [("tests", name) for name in result.tests]
    return render(
        request,
        "triage_result.html",
        emergency=result.level == "emergency",
        level=result.level,
        level_text=t(lang, f"level_{result.level}"),
        reasons=[{"why": reason(lang, r.rule), "words": r.words} for r in result.reasons],
        negated=result.negated,
        specialty=specialty(lang, result.specialty),
        tests=result.tests,
        advice=result.advice,
        ambulance=ambulance,
        tel=_tel(ambulance),
        book_url="/book?" + urlencode(tests) if tests else "/book",
        consult_url="/consult/book",  # the words stay out of the URL (and so out of any access log)
        signed_in=signed_in,
    )


def routes() -> list[Route]:
    return [
        Route("/triage", triage_page, methods=["GET"], name="page.triage"),
        Route("/triage", triage_result, methods=["POST"], name="page.triage.assess"),
    ]
