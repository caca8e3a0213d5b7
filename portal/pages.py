"""The patient's pages: server-rendered, usable with JavaScript off; the script only adds live updates."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from core import patient_rights, tracking
from core.errors import DomainError, SignInFailed, TooManyAttempts
from core.i18n import error_text
from core.patients.sessions import PATIENT_COOKIE, PatientSession
from core.reports import download
from core.reports import service as report_service
from core.samples.model import SampleState
from portal.http import request_meta, secure_cookies
from portal.i18n import LANGS, LANGUAGES, t, when
from portal.patient_auth import (
    CSRF_COOKIE,
    CsrfFailed,
    check_csrf,
    csrf_token,
    current_patient_session,
    require_patient_session,
    set_cookie,
)

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(), auto_reload=False
)
LANG_COOKIE = "lp_lang"
RETURN_COOKIE = "lp_return"  # where to go after signing in, when a page sent the person to sign in first
_RETURN_PATH = re.compile(r"^/(book)(\?[A-Za-z0-9_.~%&=+-]*)?$")  # our own pages only: never an open redirect
_ACTION_WORDS = {"read": "act_read", "create": "act_change", "transition": "act_change", "ack": "act_read"}


def lang_of(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "en"
    return lang if lang in LANGS else "en"


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
    lang = lang_of(request)
    token, new_cookie = csrf_token(request)
    html = _env.get_template(name).render(
        lang=lang, t=lambda key, **kw: t(lang, key, **kw), csrf=token, path=request.url.path, languages=LANGUAGES, **ctx
    )
    response = HTMLResponse(html, status_code=status)
    if new_cookie:
        set_cookie(request, response, CSRF_COOKIE, new_cookie, max_age=None)
    if request.query_params.get("lang") in LANGS:
        set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
    return response


def back_with_error(request: Request, path: str, exc: DomainError) -> RedirectResponse:
    """Back to ``path`` (a page that shows ``?error=``) with the refusal said in the page's language."""
    joiner = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{joiner}error={quote(error_text(lang_of(request), exc)[:300])}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, data.get("csrf"))
    return data


def _card(view: tracking.SampleView, lang: str, now: datetime) -> dict[str, Any]:
    state = view.state
    if state is SampleState.REJECTED:
        reason = t(lang, f"reason_{view.rejection_reason or 'other'}")
        message = t(lang, "msg_rejected", reason=reason)
    else:
        message = t(lang, f"msg_{state.value}", centre=view.named(lang, view.centre))
    eta = None
    if state in (SampleState.COLLECTED, SampleState.IN_TRANSIT, SampleState.RECEIVED_AT_LAB, SampleState.PROCESSING):
        if view.expected_ready_at and view.expected_ready_at > now:
            eta = t(lang, "eta", when=when(lang, view.expected_ready_at, now))
        elif view.expected_ready_at:
            eta = t(lang, "eta_late")
    current = next((i for i, s in enumerate(view.steps) if s.state is state), -1)
    steps = [
        {
            "label": t(lang, f"step_{s.state.value}"),
            "time": when(lang, s.at, now) if s.at else None,
            "iso": s.at.isoformat() if s.at else "",
            "centre": view.named(lang, s.centre) if s.centre else None,
            "done": s.at is not None,
            "current": i == current,
        }
        for i, s in enumerate(view.steps)
    ]
    return {
        "id": view.id,
        "barcode": view.barcode,
        "tests": [view.named(lang, name) for name in view.tests],
        "state": state.value,
        "message": message,
        "eta": eta,
        "steps": steps,
        "call": t(lang, "call_expected") if view.call_expected else None,
        "updated": t(lang, "report_updated") if (view.report_version or 0) > 1 else None,
        "problem": state in (SampleState.REJECTED, SampleState.RECOLLECTION_REQUESTED),
        "report_id": view.report_id,
    }


async def _session_or_redirect(request: Request) -> PatientSession | Response:
    session = await current_patient_session(request)
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    return session


def to_signin_and_back(request: Request) -> Response:
    """Send the person to sign in, and (for a page that allows it) back here with the same query afterwards."""
    response = RedirectResponse("/signin", status_code=303)
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if _RETURN_PATH.match(back) and len(back) <= 1024:
        set_cookie(request, response, RETURN_COOKIE, quote(back, safe=""), max_age=3600)
    return response


async def _signed_in_form(request: Request, back: str) -> tuple[PatientSession, dict[str, str]] | Response:
    """A form posted by a signed-in patient, its CSRF token checked; otherwise where to send them instead."""
    session = await _session_or_redirect(request)
    if isinstance(session, Response):
        return session
    try:
        return session, await _form(request)
    except CsrfFailed:
        return RedirectResponse(back, status_code=303)


async def home(request: Request) -> Response:
    if await current_patient_session(request):
        return RedirectResponse("/my-tests", status_code=303)
    return await signin_page(request)


async def signin_page(request: Request) -> Response:
    return render(request, "signin.html", error=None, phone="")


async def signin_send(request: Request) -> Response:
    try:
        form = await _form(request)
    except CsrfFailed:
        return render(request, "signin.html", 403, error=t(lang_of(request), "err_csrf"), phone="")
    phone = form.get("phone", "")[:32]
    try:
        async with request.state.pool.acquire() as conn:
            hint = await request.state.signin.request_code(
                conn, phone, lang=lang_of(request), meta=request_meta(request)
            )
    except DomainError as exc:
        status = 429 if isinstance(exc, TooManyAttempts) else 422
        return render(request, "signin.html", status, error=error_text(lang_of(request), exc), phone=phone)
    return render(request, "code.html", error=None, phone=phone, hint=hint)


async def signin_verify(request: Request) -> Response:
    try:
        form = await _form(request)
    except CsrfFailed:
        return render(request, "signin.html", 403, error=t(lang_of(request), "err_csrf"), phone="")
    phone, code = form.get("phone", "")[:32], form.get("code", "")[:16]
    try:
        async with request.state.pool.acquire() as conn:
            signed = await request.state.signin.verify_code(conn, phone, code, meta=request_meta(request))
    except DomainError as exc:
        status = 429 if isinstance(exc, TooManyAttempts) else 401 if isinstance(exc, SignInFailed) else 422
        return render(request, "code.html", status, error=error_text(lang_of(request), exc), phone=phone, hint="")
    return _signed_in(request, signed.token)


def _signed_in(request: Request, token: str) -> Response:
    back = unquote(request.cookies.get(RETURN_COOKIE, ""))[:1024]
    response = RedirectResponse(back if _RETURN_PATH.match(back) else "/my-tests", status_code=303)
    set_cookie(request, response, PATIENT_COOKIE, token, max_age=request.state.patient_sessions.absolute)
    if back:
        response.delete_cookie(RETURN_COOKIE, path="/", secure=secure_cookies(request), httponly=True, samesite="lax")
    return response


async def link_page(request: Request) -> Response:
    # A GET never signs in: link previews in chat apps fetch URLs, and must not burn the single-use link.
    return render(request, "link.html", token=request.query_params.get("t", "")[:1024], error=None)


async def link_redeem(request: Request) -> Response:
    try:
        form = await _form(request)
    except CsrfFailed:
        return render(request, "link.html", 403, token="", error=t(lang_of(request), "err_csrf"))
    try:
        async with request.state.pool.acquire() as conn:
            signed = await request.state.signin.redeem_magic_link(conn, form.get("t", ""), meta=request_meta(request))
    except DomainError as exc:
        return render(request, "link.html", 401, token="", error=error_text(lang_of(request), exc))
    return _signed_in(request, signed.token)


async def _dashboard_context(request: Request, session: PatientSession) -> dict[str, Any]:
    lang, now = lang_of(request), datetime.now(UTC)
    meta = request_meta(request)
    async with request.state.pool.acquire() as conn:
        family = await tracking.family(conn, request.state.vault, session.phone_lookup, meta=meta)
        ids = [m.id for m in family]
        pid = request.query_params.get("patient") or session.active_patient_id
        if pid not in ids:
            pid = ids[0] if ids else None
        request.state.patient_id = pid
        snap = await tracking.snapshot(conn, session.phone_lookup, pid, meta=meta) if pid else None
    cards = [_card(v, lang, now) for v in snap.samples] if snap else []
    return {"family": family, "patient_id": pid, "cards": cards, "last_event_id": snap.last_seq if snap else 0}


async def dashboard(request: Request) -> Response:
    session = await _session_or_redirect(request)
    if isinstance(session, Response):
        return session
    return render(request, "dashboard.html", **await _dashboard_context(request, session))


async def cards_fragment(request: Request) -> Response:
    """The timeline cards alone: what the page's script swaps in when an event arrives."""
    session = await require_patient_session(request)
    return render(request, "cards.html", **await _dashboard_context(request, session))


async def switch(request: Request) -> Response:
    posted = await _signed_in_form(request, "/my-tests")
    if isinstance(posted, Response):
        return posted
    session, form = posted
    pid = form.get("patient", "")[:64]
    async with request.state.pool.acquire() as conn:
        await tracking.authorize(conn, session.phone_lookup, pid, action="patient.switch", meta=request_meta(request))
    await request.state.patient_sessions.switch(session, pid)
    return RedirectResponse("/my-tests", status_code=303)


async def access_page(request: Request) -> Response:
    session = await _session_or_redirect(request)
    if isinstance(session, Response):
        return session
    lang, now = lang_of(request), datetime.now(UTC)
    pid = request.query_params.get("patient") or session.active_patient_id or ""
    request.state.patient_id = pid
    async with request.state.pool.acquire() as conn:
        entries = await tracking.access_log(conn, session.phone_lookup, pid, meta=request_meta(request))
    rows = []
    for e in entries:
        verb = (
            "act_refused"
            if e.outcome.startswith("refused")
            else _ACTION_WORDS.get(e.action.rsplit(".", 1)[-1], "act_read")
        )
        rows.append({"when": when(lang, e.at, now), "iso": e.at.isoformat(), "who": e.who, "what": t(lang, verb)})
    return render(request, "access.html", rows=rows, patient_id=pid)


async def my_data_page(request: Request) -> Response:
    session = await _session_or_redirect(request)
    if isinstance(session, Response):
        return session
    pid = request.query_params.get("patient") or session.active_patient_id or ""
    request.state.patient_id = pid
    return render(request, "my_data.html", patient_id=pid, error=None)


async def close_account(request: Request) -> Response:
    posted = await _signed_in_form(request, "/my-tests/my-data")
    if isinstance(posted, Response):
        return posted
    session, form = posted
    pid = form.get("patient", "")[:64]
    request.state.patient_id = pid
    if form.get("confirm") != "yes":
        return render(request, "my_data.html", 422, patient_id=pid, error=t(lang_of(request), "close_confirm"))
    async with request.state.pool.acquire() as conn:
        await patient_rights.close_account(conn, session.phone_lookup, pid, meta=request_meta(request))
        left = await tracking.patient_ids(conn, session.phone_lookup)
    if left:
        await request.state.patient_sessions.switch(session, left[0])
        return RedirectResponse("/my-tests", status_code=303)
    await request.state.patient_sessions.revoke_all(session.phone_lookup)
    response = render(request, "signin.html", error=None, phone="", notice=t(lang_of(request), "closed"))
    response.delete_cookie(PATIENT_COOKIE, path="/", secure=secure_cookies(request), httponly=True, samesite="lax")
    return response


async def signout(request: Request) -> Response:
    session = await current_patient_session(request)
    try:
        await _form(request)
    except CsrfFailed:
        return RedirectResponse("/my-tests", status_code=303)
    if session is not None:
        await request.state.patient_sessions.end(session, everywhere=request.query_params.get("everywhere") == "1")
    response = render(request, "signin.html", error=None, phone="", notice=t(lang_of(request), "signed_out"))
    response.delete_cookie(PATIENT_COOKIE, path="/", secure=secure_cookies(request), httponly=True, samesite="lax")
    return response


async def report(request: Request) -> Response:
    """The card's "Download your report" button: hand out a 15-minute signed link and go to it."""
    posted = await _signed_in_form(request, "/my-tests")
    if isinstance(posted, Response):
        return posted
    session, form = posted
    pid = form.get("patient", "")[:64]
    request.state.patient_id = pid
    async with request.state.pool.acquire() as conn:
        token = await download.link_for(
            conn, request.state.report_links, session.phone_lookup, pid, form.get("report", "")[:64],
            meta=request_meta(request),
        )  # fmt: skip
    return RedirectResponse(f"/reports/download/{token}", status_code=303)


async def verify_page(request: Request) -> Response:
    """Public: is this report genuine? Shows the lab, test names, date and hash; never a name or a value."""
    try:
        async with request.state.pool.acquire() as conn:
            info = await report_service.verification(
                conn, request.state.vault, request.path_params["report_id"][:64], meta=request_meta(request)
            )
    except DomainError as exc:
        return render(request, "verify.html", 404, info=None, error=error_text(lang_of(request), exc))
    return render(request, "verify.html", info=info, error=None)


def routes() -> list[Route]:
    return [
        Route("/", home, name="page.home"),
        Route("/signin", signin_page, methods=["GET"], name="page.signin"),
        Route("/signin", signin_send, methods=["POST"], name="page.signin.send"),
        Route("/signin/code", signin_verify, methods=["POST"], name="page.signin.verify"),
        Route("/signin/link", link_page, methods=["GET"], name="page.link"),
        Route("/signin/link", link_redeem, methods=["POST"], name="page.link.redeem"),
        Route("/my-tests", dashboard, name="page.my_tests"),
        Route("/my-tests/cards", cards_fragment, name="page.my_tests.cards"),
        Route("/my-tests/access", access_page, name="page.my_tests.access"),
        Route("/switch", switch, methods=["POST"], name="page.switch"),
        Route("/my-tests/my-data", my_data_page, name="page.my_data"),
        Route("/my-tests/close", close_account, methods=["POST"], name="page.close"),
        Route("/verify/{report_id}", verify_page, methods=["GET"], name="page.verify"),
        Route("/my-tests/report", report, methods=["POST"], name="page.report"),
        Route("/signout", signout, methods=["POST"], name="page.signout"),
    ]
