"""TOTP second factor for local staff accounts (RFC 6238 through pyotp): enrol, confirm, check.

The secret is stored encrypted like PHI. A code is accepted for the current 30-second step or one either side
(clock drift), and each step's code works once: the step is claimed in the database, so a code seen over a
shoulder or replayed from a log cannot be used again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import asyncpg
import pyotp

from core import audit
from core.errors import InvalidInput
from core.i18n import worded
from core.identity import RequestMeta
from core.staff import store
from core.vault import Vault

if TYPE_CHECKING:  # service imports this module to check codes at sign-in
    from core.staff.service import StaffMember

ISSUER = "labpulse"
_T, _C = "staff", "totp_secret"


async def begin(conn: asyncpg.Connection, vault: Vault, member: StaffMember, *, meta: RequestMeta | None = None) -> str:
    """Start (or restart) enrolment: a new secret, not yet required at sign-in. Returns the otpauth:// URI for
    an authenticator app (shown once, as a QR code or text)."""
    secret = pyotp.random_base32()
    async with conn.transaction():
        await store.set_totp(conn, member.id, vault.seal(_T, _C, member.id, secret), enabled=False)
        await audit.append(
            conn, actor=member.actor, action="staff.totp.begin", entity_type="staff", entity_id=member.id, meta=meta
        )
    return pyotp.TOTP(secret).provisioning_uri(name=member.username, issuer_name=ISSUER)


async def confirm(
    conn: asyncpg.Connection, vault: Vault, member: StaffMember, code: str, *, meta: RequestMeta | None = None
) -> None:
    """Switch the second factor on once the user proves their app produces the right codes."""
    row = await store.by_id(conn, member.id)
    if row is None or row.totp_secret_enc is None:
        raise worded(InvalidInput, "error:start_setting_up_authenticator", "code")
    if not await check(conn, vault, row, code):
        raise worded(InvalidInput, "error:code_did_not_match", "code")
    async with conn.transaction():
        await store.enable_totp(conn, member.id)
        await audit.append(
            conn, actor=member.actor, action="staff.totp.enable", entity_type="staff", entity_id=member.id, meta=meta
        )


async def check(
    conn: asyncpg.Connection, vault: Vault, row: store.StaffRow, code: str, *, now: float | None = None
) -> bool:
    """True if ``code`` is the row's code for this step or one either side, and that step was not used before."""
    secret = vault.open(_T, _C, row.id, row.totp_secret_enc)
    code = code.strip().replace(" ", "")
    if secret is None or not (len(code) == 6 and code.isdigit()):
        return False
    totp = pyotp.TOTP(secret)
    t = time.time() if now is None else now
    for step in (totp.timecode(t) + d for d in (0, -1, 1)):
        if totp.at(step * totp.interval) == code:
            return await store.claim_totp_step(conn, row.id, step)
    return False
