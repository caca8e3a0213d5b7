"""Booking a sample collection on the portal, signed in: tests or packages (those a symptom check suggested come
ticked), a collection centre or a home visit (a served pincode and the address), a day, and a time with room.

Plain forms that work with JavaScript off: "Show available times" sends the same form back with the days and times
for the chosen place; nothing typed is lost, and a time taken meanwhile only asks for another time. The booking goes
through ``core.booking.service.book`` on channel "portal", then the browser is sent to the confirmation (so a reload
cannot book twice); the same form sent twice (a double tap) makes one booking and shows it to both."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from redis.asyncio import Redis
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core import i18n
from core.booking import catalogue, slots
from core.booking import service as booking
from core.errors import InvalidInput
from core.labtime import LAB_TZ
from core.patients.sessions import PatientSession
from portal.http import request_meta
from portal.i18n import clock, day_name, t
from portal.pages import lang_of, render, to_signin_and_back
from portal.patient_auth import CsrfFailed, check_csrf, current_patient_session

_PINCODE = re.compile(r"^[1-9][0-9]{5}$")
_ONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ONCE_SECONDS = 3600  # how long a sent form is remembered, so the same form sent again shows the same booking
ADDRESS_CHARS = (10, 300)
_FAILED = {"slot": "err_slot_gone", "address": "err_address", "items": "err_items"}


@dataclass(frozen=True, slots=True)
class Choice:
    """What the person has chosen so far, exactly as sent (checked before use)."""

    items: tuple[str, ...] = ()
    kind: str = "centre"
    centre: str = ""
    pincode: str = ""
    address: str = ""
    day: str = ""
    slot: str = ""
    once: str = ""


@dataclass(frozen=True, slots=True)
class Place:
    kind: str
    centre_id: str


def _choice(form: FormData) -> Choice:
    def one(name: str, limit: int) -> str:
        value = form.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    return Choice(
        items=tuple(dict.fromkeys(v[:32] for v in form.getlist("item") if isinstance(v, str)))[:40],
        kind=one("kind", 8),
        centre=one("centre", 64),
        pincode=one("pincode", 6 + 4).replace(" ", ""),
        address=" ".join(one("address", ADDRESS_CHARS[1] * 2).split()),
        day=one("day", 10),
        slot=one("slot", 19),
        once=one("once", 64),
    )


async def _place(
    conn: asyncpg.Connection, choice: Choice, centres: list[tuple[str, str]]
) -> tuple[Place | None, str | None, str | None]:
    """(the place, or None with the message key and the field at fault)."""
    if choice.kind == "centre":
        if choice.centre in dict(centres):
            return Place("centre", choice.centre), None, None
        return None, "err_centre", "centre"
    if choice.kind != "home":
        return None, "err_where", "kind"
    if not _PINCODE.match(choice.pincode):
        return None, "err_pincode", "pincode"
    served = await catalogue.centre_for_pincode(conn, choice.pincode)
    if served is None:
        return None, "err_pincode_unserved", "pincode"
    if not ADDRESS_CHARS[0] <= len(choice.address) <= ADDRESS_CHARS[1]:
        return None, "err_address", "address"
    return Place("home", served[0]), None, None


async def _times(
    conn: asyncpg.Connection, place: Place, wanted_day: str, now: datetime
) -> tuple[list[date], date | None, list[slots.Slot]]:
    """The open days at this place, the day to show (the chosen one while it is open, else the first), its times."""
    days = await slots.open_days(conn, place.kind, place.centre_id, now)
    if not days:
        return [], None, []
    day = next((d for d in days if d.isoformat() == wanted_day), days[0])
    return days, day, await slots.open_slots(conn, place.kind, place.centre_id, day, now)


async def _claim(redis: Redis, key: str) -> str | None:
    """None: this form is ours to book. Otherwise what the same form sent earlier came to: a booking id, or
    "!key" for the message it failed with."""
    if await redis.set(key, "", nx=True, ex=ONCE_SECONDS):
        return None
    for _ in range(50):  # the first one is still booking: wait for it, and answer the same
        value = await redis.get(key)
        text = value.decode() if isinstance(value, bytes) else str(value or "")
        if text:
            return text
        await asyncio.sleep(0.1)
    return "!err_generic"


def _page(
    request: Request, choice: Choice, items: list[catalogue.Item], centres: list[tuple[str, str]], *,
    days: list[date] | None = None, day: date | None = None, times: list[slots.Slot] | None = None,
    error: str | None = None, field: str | None = None, status: int = 200, **notes: Any,
) -> Response:  # fmt: skip
    lang = lang_of(request)
    picked = set(choice.items)
    open_ids = {str(s.id) for s in times or []}
    return render(
        request,
        "book.html",
        status,
        items=[
            {
                "code": i.code,
                "label": i.label(lang),
                "price": i18n.rupees(lang, i.price_paise),
                "checked": i.code in picked,
            }
            for i in items
        ],
        total=i18n.rupees(lang, sum(i.price_paise for i in items if i.code in picked)) if picked else None,
        centres=centres,
        choice=replace(choice, slot=choice.slot if choice.slot in open_ids else ""),
        days=[{"value": d.isoformat(), "label": day_name(lang, d), "selected": d == day} for d in days or []],
        times=[{"id": s.id, "label": clock(lang, s.starts_at), "free": s.free} for s in times or []],
        error=error,
        field=field,
        once=secrets.token_urlsafe(18),
        **notes,
    )


async def book_page(request: Request) -> Response:
    session = await current_patient_session(request)
    if session is None:
        return to_signin_and_back(request)
    done = request.query_params.get("done")
    if done is not None:
        return await _confirmation(request, session, done[:64])
    wanted = [w[:100] for w in request.query_params.getlist("tests")[:20]]
    async with request.state.pool.acquire() as conn:
        items = await catalogue.items(conn)
        centres = await catalogue.centres(conn, lang_of(request))
    codes, unmatched = catalogue.match(wanted, items)
    choice = Choice(items=tuple(codes), kind="centre", centre=centres[0][0] if centres else "")
    return _page(request, choice, items, centres, consult=request.query_params.get("consult") == "1",
                 from_check=bool(codes), unmatched=unmatched)  # fmt: skip


async def book_submit(request: Request) -> Response:
    session = await current_patient_session(request)
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    form = await request.form(max_files=0, max_fields=60, max_part_size=4096)
    choice = _choice(form)
    lang, now = lang_of(request), datetime.now(UTC)
    csrf = form.get("csrf")
    async with request.state.pool.acquire() as conn:
        items = await catalogue.items(conn)
        centres = await catalogue.centres(conn, lang_of(request))
        try:
            check_csrf(request, csrf if isinstance(csrf, str) else None)
        except CsrfFailed:
            return _page(request, choice, items, centres, error=t(lang, "err_csrf"), status=403)
        place, problem, at = await _place(conn, choice, centres)
        if place is None:
            return _page(
                request,
                choice,
                items,
                centres,
                error=t(lang, problem or "err_where", pincode=choice.pincode),
                field=at,
                status=422,
            )
        days, day, times = await _times(conn, place, choice.day, now)
        if not days:
            return _page(request, choice, items, centres, error=t(lang, "err_no_days"), status=422)
        if form.get("step") != "book":  # "Show available times"
            return _page(request, choice, items, centres, days=days, day=day, times=times)
        by_code = {i.code: i for i in items}
        chosen = [by_code[c] for c in choice.items if c in by_code]
        if not chosen:
            return _page(request, choice, items, centres, days=days, day=day, times=times,
                         error=t(lang, "err_items"), field="item", status=422)  # fmt: skip
        slot = await slots.get(conn, int(choice.slot)) if choice.slot.isdigit() and len(choice.slot) < 19 else None
        if (
            slot is None
            or (slot.kind, slot.centre_id) != (place.kind, place.centre_id)
            or (slot.starts_at.astimezone(LAB_TZ).date() != day)
        ):
            return _page(request, choice, items, centres, days=days, day=day, times=times,
                         error=t(lang, "err_slot"), field="slot", status=422)  # fmt: skip
        outcome = await _book(request, conn, session, choice, place, chosen, slot.id)
        if not outcome.startswith("!"):
            return RedirectResponse(f"/book?done={outcome}", status_code=303)
        days, day, times = await _times(conn, place, choice.day, now)  # the times as they are now
    key = outcome[1:]
    status = 409 if key in ("err_slot_full", "err_slot_gone") else 422
    return _page(request, choice, items, centres, days=days, day=day, times=times, error=t(lang, key),
                 field="slot" if status == 409 else None, status=status)  # fmt: skip


async def _book(
    request: Request, conn: asyncpg.Connection, session: PatientSession, choice: Choice, place: Place,
    chosen: list[catalogue.Item], slot_id: int,
) -> str:  # fmt: skip
    """The booking's id, or "!key" for the message to show. A form sent twice books once."""
    redis: Redis = request.state.redis
    key = f"{request.state.settings.redis_prefix}:bookonce:{session.phone_lookup[:32]}:{choice.once}"
    if _ONCE.match(choice.once) and (earlier := await _claim(redis, key)) is not None:
        return earlier
    try:
        outcome = await _book_now(request, conn, session, choice, place, chosen, slot_id)
    except BaseException:
        if _ONCE.match(choice.once):
            await redis.delete(key)  # nothing was booked: the same form may be sent again
        raise
    if _ONCE.match(choice.once):
        await redis.set(key, outcome, ex=ONCE_SECONDS)
    return outcome


async def _book_now(
    request: Request, conn: asyncpg.Connection, session: PatientSession, choice: Choice, place: Place,
    chosen: list[catalogue.Item], slot_id: int,
) -> str:  # fmt: skip
    phone = await booking.phone_for(conn, request.state.vault, session.phone_lookup)
    if phone is None:
        outcome = "!err_no_phone"
    else:
        try:
            made = await booking.book(
                conn, request.state.vault, phone=phone, slot_id=slot_id, chosen=chosen, channel="portal",
                pincode=choice.pincode if place.kind == "home" else None,
                address=choice.address if place.kind == "home" else None, meta=request_meta(request),
            )  # fmt: skip
        except booking.SlotFull:
            outcome = "!err_slot_full"
        except InvalidInput as exc:
            outcome = "!" + _FAILED.get(exc.field, "err_generic")
        else:
            outcome = made.id
    return outcome


async def _confirmation(request: Request, session: PatientSession, booking_id: str) -> Response:
    lang = lang_of(request)
    async with request.state.pool.acquire() as conn:
        found = await booking.find(conn, session.phone_lookup, booking_id)
        if found is None or found[0].status != "booked":
            return RedirectResponse("/book", status_code=303)
        made, pincode = found
        labels = {i.code: i.label(lang) for i in await catalogue.items(conn)}
        centre_names = dict(await catalogue.centres(conn, lang_of(request)))
        served = await catalogue.centre_for_pincode(conn, pincode) if pincode else None
    if made.kind == "home":
        where = t(lang, "booked_home", pincode=pincode or "", area=served[1] if served else "")
    else:
        where = centre_names.get(made.centre_id, made.centre_id)
    local = made.starts_at.astimezone(LAB_TZ)
    return render(
        request,
        "booked.html",
        ref=made.ref,
        when=f"{day_name(lang, local.date())}, {clock(lang, made.starts_at)}",
        iso=made.starts_at.isoformat(),
        where=where,
        items=[labels.get(code, code) for code in made.items],
        price=i18n.rupees(lang, made.price_paise),
    )


def routes() -> list[Route]:
    return [
        Route("/book", book_page, methods=["GET"], name="page.book"),
        Route("/book", book_submit, methods=["POST"], name="page.book.create"),
    ]
