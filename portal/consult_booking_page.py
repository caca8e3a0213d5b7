"""Booking a video consultation on the portal, signed in: a day, a free doctor's time, an optional reason (a symptom
check passes its words along), then the confirmation with the patient's join link. Plain forms; a time taken
meanwhile asks calmly for another with the reason kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.booking.service import phone_for
from core.i18n import error_text
from core.labtime import LAB_TZ
from core.teleconsult import service, slots
from portal.http import request_meta
from portal.i18n import clock, day_name, t
from portal.pages import lang_of, render, to_signin_and_back
from portal.patient_auth import CsrfFailed, check_csrf, current_patient_session

REASON_CHARS = 500


def _day(value: str | None, today: date) -> date:
    try:
        chosen = date.fromisoformat(value or "")
    except ValueError:
        return today
    return chosen if today <= chosen <= today + timedelta(days=slots.BOOKABLE_DAYS) else today


async def _page(request: Request, day: date, reason: str, *, error: str | None = None, status: int = 200) -> Response:
    lang, now = lang_of(request), datetime.now(UTC)
    today = now.astimezone(LAB_TZ).date()
    async with request.state.pool.acquire() as conn:
        free = await slots.open_slots(conn, day, now)
    days = [(d.isoformat(), day_name(lang, d)) for d in (today + timedelta(days=i) for i in range(slots.BOOKABLE_DAYS))]
    times = [(s.id, clock(lang, s.starts_at), s.doctor_name) for s in free]
    return render(request, "consult_book.html", status, days=days, day=day.isoformat(), times=times, reason=reason,
                  error=error)  # fmt: skip


async def book_page(request: Request) -> Response:
    if await current_patient_session(request) is None:
        return to_signin_and_back(request)
    today = datetime.now(LAB_TZ).date()
    reason = (request.query_params.get("reason") or "")[:REASON_CHARS]
    return await _page(request, _day(request.query_params.get("day"), today), reason)


async def book_submit(request: Request) -> Response:
    session = await current_patient_session(request)
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    lang = lang_of(request)
    today = datetime.now(LAB_TZ).date()
    day = _day(str(form.get("day") or ""), today)
    reason = " ".join(str(form.get("reason") or "").split())[:REASON_CHARS]
    csrf = form.get("csrf")
    try:
        check_csrf(request, csrf if isinstance(csrf, str) else None)
    except CsrfFailed:
        return await _page(request, day, reason, error=t(lang, "err_csrf"), status=403)
    slot = str(form.get("slot") or "")
    if not slot.isdigit() or len(slot) > 18:
        return await _page(request, day, reason, error=t(lang, "consult_no_times"), status=422)
    state = request.state
    async with state.pool.acquire() as conn:
        phone = await phone_for(conn, state.vault, session.phone_lookup)
        if phone is None:
            return RedirectResponse("/signin", status_code=303)
        try:
            booked = await service.book(conn, state.vault, phone=phone, slot_id=int(slot), channel="portal",
                                        patient_id=session.active_patient_id, reason=reason or None, language=lang,
                                        meta=request_meta(request))  # fmt: skip
        except service.ConsultSlotTaken as exc:
            return await _page(request, day, reason, error=error_text(lang_of(request), exc), status=409)
    consult = booked.consult
    when = f"{day_name(lang, consult.starts_at.astimezone(LAB_TZ).date())}, {clock(lang, consult.starts_at)}"
    return render(request, "consult_booked.html", doctor=consult.doctor_name, ref=consult.ref, time=when,
                  link=f"{state.settings.link_base()}/consult/join/{booked.patient_link}")  # fmt: skip


def routes() -> list[Route]:
    return [
        Route("/consult/book", book_page, methods=["GET"], name="page.consult.book"),
        Route("/consult/book", book_submit, methods=["POST"], name="page.consult.book.create"),
    ]
