"""Staff sign-in through the organisation's identity provider (OpenID Connect, authorization code + PKCE) with
authlib's Starlette client: discovery, state and nonce kept in a short-lived signed cookie, ID token signature,
issuer, audience, expiry and nonce checked by authlib; the role comes from a claim (LABPULSE_OIDC_ROLE_CLAIM)."""

from __future__ import annotations

import logging
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from core import audit
from core.config import Settings
from core.errors import NotFound, Unauthenticated
from core.identity import Actor, Role
from core.staff import external
from core.staff.service import STAFF_COOKIE, StaffMember
from portal.guard import staff_route
from portal.http import request_meta, secure_cookies

log = logging.getLogger("labpulse.portal")
SESSION_COOKIE = "lp_oidc"  # holds state, nonce and the PKCE verifier for one sign-in, for 10 minutes


def client(settings: Settings) -> Any | None:
    if not settings.oidc_enabled or settings.oidc_client_secret is None:
        return None
    oauth = OAuth()
    return oauth.register(
        "idp",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.reveal(),
        server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )


def _idp(request: Request) -> Any:
    idp = request.state.oidc
    if idp is None:
        raise NotFound("Single sign-on is not set up here. Sign in with your labpulse username and password.")
    return idp


async def login(request: Request) -> Response:
    idp = _idp(request)
    return await idp.authorize_redirect(request, request.url_for("staff.oidc.callback"))  # type: ignore[no-any-return]


async def callback(request: Request) -> Response:
    idp = _idp(request)
    settings: Settings = request.state.settings
    try:
        token = await idp.authorize_access_token(request)
    except (AuthlibBaseError, JoseError, ValueError, KeyError) as exc:
        # A forged or expired ID token, a wrong nonce or state, a refused code: say so calmly, record it.
        log.warning("OIDC sign-in refused: %s", type(exc).__name__)
        async with request.state.pool.acquire() as conn, conn.transaction():
            await audit.append(
                conn,
                actor=Actor("sso:unknown", Role.SYSTEM),
                action="staff.sign_in.oidc",
                entity_type="staff",
                outcome=f"refused:{type(exc).__name__}",
                meta=request_meta(request),
            )
        raise Unauthenticated(
            "Signing in through your organisation did not work. Please start again from the sign-in page."
        ) from exc
    claims = token.get("userinfo") or {}
    if "sub" not in claims:
        raise Unauthenticated("Your organisation's sign-in did not say who you are. Please start again.")
    roles = claims.get(settings.oidc_role_claim) or []
    async with request.state.pool.acquire() as conn:
        member = await external.sign_in(
            conn,
            issuer=str(settings.oidc_issuer),
            subject=str(claims["sub"]),
            preferred_username=claims.get("preferred_username") or claims.get("email"),
            display_name=claims.get("name"),
            claimed_roles=[roles] if isinstance(roles, str) else list(roles),
            meta=request_meta(request),
        )
    session_token, _ = await request.state.staff_sessions.create(member)
    response = RedirectResponse("/staff", status_code=303)  # the workspace: the role's home
    response.set_cookie(STAFF_COOKIE, session_token, httponly=True, secure=secure_cookies(request), samesite="lax",
                        path="/")  # fmt: skip
    return response


async def me(request: Request, member: StaffMember) -> Response:
    return JSONResponse(
        {"id": member.id, "username": member.username, "display_name": member.display_name, "role": member.role.value}
    )


def routes() -> list[Route]:
    return [
        Route("/staff/oidc/login", login, methods=["GET"], name="staff.oidc.login"),
        Route("/staff/oidc/callback", callback, methods=["GET"], name="staff.oidc.callback"),
        staff_route("/api/staff/me", me, methods=["GET"], name="staff.me"),
    ]
