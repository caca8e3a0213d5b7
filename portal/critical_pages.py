"""The critical values pages of the staff workspace (issue 19): the board (open alerts, who has been messaged and
when, each acknowledged with what was read back), who is messaged in order (the escalation chain, phones masked),
and the on-duty roster (whose shift it is to be messaged first).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core import critical, roster
from core.errors import DomainError, NotFound
from core.labtime import LAB_TZ
from core.notify import mask_phone
from core.staff.service import CONTACT_CHANNELS, StaffMember
from portal.guard import staff_route
from portal.http import request_meta
from portal.i18n import clock, day_name
from portal.pages import _form, back_with_error, lang_of
from portal.staff_pages import page


async def critical_board(request: Request, member: StaffMember) -> Response:
    """Open critical values this member may act on, oldest first, with who has been called and when."""
    lang = lang_of(request)
    async with request.state.pool.acquire() as conn:
        mark = await critical.board_mark(conn)  # read first: a change after it makes the socket's mark differ
        alerts = await critical.board(conn, member.actor)
    shown = [{**a, "raised": clock(lang, datetime.fromisoformat(str(a["created_at"]))),
              "calls": [(c.position, c.label, clock(lang, c.at)) for c in a["calls"]]}  # type: ignore[attr-defined]
             for a in alerts]  # fmt: skip
    q = request.query_params
    return page(request, "staff_critical.html", member, alerts=shown, mark=mark, done=q.get("done", "")[:20],
                 error=q.get("error", "")[:300])  # fmt: skip


async def critical_ack(request: Request, member: StaffMember) -> Response:
    """Acknowledge with what was read back and will be done (required here: the board is where people act)."""
    data = await _form(request)
    raw, note = request.path_params["alert_id"], (data.get("read_back") or "").strip()
    if not note:
        return RedirectResponse(f"/staff/critical?error=read_back&alert={quote(raw[:18])}", status_code=303)
    if not raw.isdigit() or len(raw) > 18:
        return RedirectResponse("/staff/critical?error=gone", status_code=303)
    try:
        async with request.state.pool.acquire() as conn:
            await critical.acknowledge(conn, int(raw), member.actor, datetime.now(UTC), read_back=note,
                                       vault=request.state.vault)  # fmt: skip
    except DomainError as exc:
        return RedirectResponse(f"/staff/critical?error={'done_already' if 'already' in exc.message else 'gone'}",
                                status_code=303)  # fmt: skip
    return RedirectResponse(f"/staff/critical?done={quote(raw)}", status_code=303)


CHAIN_ROWS = 5  # the form's rows: the on-duty doctor first, then who is called next


async def chain_page(request: Request, member: StaffMember) -> Response:
    """The escalation chain in order, phones masked; the form replaces it whole (phones are typed, never shown)."""
    async with request.state.pool.acquire() as conn:
        people = await critical.chain(conn, request.state.vault)
    shown = [(m.label, m.channel, mask_phone(m.phone)) for m in people]
    q = request.query_params
    return page(request, "staff_chain.html", member, people=shown, rows=range(1, CHAIN_ROWS + 1),
                channels=critical.CHANNELS, done=q.get("done", "")[:10], error=q.get("error", "")[:300])  # fmt: skip


async def chain_set(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    entries = [
        critical.ChainEntry(data.get(f"username_{i}", "")[:64], data.get(f"phone_{i}", "")[:40],
                            data.get(f"channel_{i}", "sms")[:20], data.get(f"label_{i}", "")[:60] or None)
        for i in range(1, CHAIN_ROWS + 1) if data.get(f"username_{i}", "").strip()
    ]  # fmt: skip
    try:
        async with request.state.pool.acquire() as conn:
            await critical.set_chain_by_username(conn, request.state.vault, entries, member.actor)
    except DomainError as exc:
        return back_with_error(request, "/staff/critical/chain", exc)
    return RedirectResponse("/staff/critical/chain?done=set", status_code=303)


async def roster_page(request: Request, member: StaffMember) -> Response:
    """Who is on duty now, the next 14 days' shifts (each removable), and a form to add one."""
    lang, now = lang_of(request), datetime.now(UTC)
    async with request.state.pool.acquire() as conn:
        shifts = await roster.shifts(conn, now)
        people = await roster.candidates(conn)
    shown = [{"id": s.id, "name": s.name, "now": s.starts_at <= now < s.ends_at,
              "starts": f"{day_name(lang, s.starts_at.astimezone(LAB_TZ).date())} {clock(lang, s.starts_at)}",
              "ends": f"{day_name(lang, s.ends_at.astimezone(LAB_TZ).date())} {clock(lang, s.ends_at)}"}
             for s in shifts]  # fmt: skip
    q = request.query_params
    return page(request, "staff_roster.html", member, shifts=shown, people=people, channels=CONTACT_CHANNELS,
                today=now.astimezone(LAB_TZ).date().isoformat(), done=q.get("done", "")[:10],
                error=q.get("error", "")[:300])  # fmt: skip


async def roster_add(request: Request, member: StaffMember) -> Response:
    data = await _form(request)
    try:
        starts, ends = roster.shift_times(
            data.get("day", "")[:10], data.get("starts", "")[:5], data.get("ends", "")[:5]
        )
        async with request.state.pool.acquire() as conn:
            await roster.add_shift(conn, request.state.vault, username=data.get("username", "")[:64], starts_at=starts,
                                   ends_at=ends, now=datetime.now(UTC), actor=member.actor,
                                   phone=data.get("phone", "")[:40] or None, channel=data.get("channel", "sms")[:20],
                                   meta=request_meta(request))  # fmt: skip
    except DomainError as exc:
        return back_with_error(request, "/staff/critical/roster", exc)
    return RedirectResponse("/staff/critical/roster?done=added", status_code=303)


async def roster_remove(request: Request, member: StaffMember) -> Response:
    await _form(request)
    raw = request.path_params["shift_id"]
    try:
        if not raw.isdigit() or len(raw) > 18:
            raise NotFound("There is no such shift.")
        async with request.state.pool.acquire() as conn:
            await roster.remove_shift(conn, int(raw), actor=member.actor, meta=request_meta(request))
    except DomainError as exc:
        return back_with_error(request, "/staff/critical/roster", exc)
    return RedirectResponse("/staff/critical/roster?done=removed", status_code=303)


def routes() -> list[Route]:
    return [
        staff_route("/staff/critical", critical_board, methods=["GET"], name="staff.page.critical"),
        staff_route("/staff/critical/chain", chain_page, methods=["GET"], name="staff.page.chain"),
        staff_route("/staff/critical/chain", chain_set, methods=["POST"], name="staff.page.chain.set"),
        staff_route("/staff/critical/roster", roster_page, methods=["GET"], name="staff.page.roster"),
        staff_route("/staff/critical/roster", roster_add, methods=["POST"], name="staff.page.roster.add"),
        staff_route(
            "/staff/critical/roster/{shift_id}/remove", roster_remove, methods=["POST"], name="staff.page.roster.remove"
        ),
        staff_route("/staff/critical/{alert_id}/ack", critical_ack, methods=["POST"], name="staff.page.critical.ack"),
    ]
