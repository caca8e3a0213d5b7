"""Staff who sign in through the organisation's identity provider: find or create their account by issuer and
subject, with the role the provider's claim gives. The provider is the source of truth for the role: it is
set again at every sign-in, and a change is audited."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable

import asyncpg

from core import audit
from core.errors import PermissionDenied
from core.identity import Actor, RequestMeta, Role
from core.staff import store
from core.staff.service import StaffMember

# When a person holds several roles at the provider, the account gets the first of these they hold.
PRECEDENCE = (Role.ADMIN, Role.PATHOLOGIST, Role.DOCTOR, Role.LAB_TECHNICIAN, Role.PHLEBOTOMIST, Role.SUPPORT)


def role_from_claim(values: Iterable[str]) -> Role | None:
    held = {v.strip().lower().replace("-", "_").replace(" ", "_") for v in values if isinstance(v, str)}
    return next((r for r in PRECEDENCE if r.value in held), None)


def _username(preferred: str | None, subject: str) -> str:
    base = re.sub(r"[^a-z0-9._-]", "", (preferred or "").split("@")[0].lower())[:24]
    if not base or not base[0].isalpha():
        base = "sso"
    return f"{base}.{uuid.uuid5(uuid.NAMESPACE_URL, subject).hex[:6]}"


async def sign_in(
    conn: asyncpg.Connection,
    *,
    issuer: str,
    subject: str,
    preferred_username: str | None,
    display_name: str | None,
    claimed_roles: Iterable[str],
    meta: RequestMeta | None = None,
) -> StaffMember:
    external_id = f"{issuer}|{subject}"
    role = role_from_claim(claimed_roles)
    row = await store.by_external_id(conn, external_id)
    if role is None or (row is not None and not row.active):
        async with conn.transaction():  # its own transaction: a refusal is recorded, not rolled back
            await audit.append(
                conn,
                actor=Actor(f"staff:{row.id}" if row else f"sso:{subject[:40]}", role or Role.SYSTEM),
                action="staff.sign_in.oidc",
                entity_type="staff",
                entity_id=row.id if row else None,
                outcome="refused:no_role" if role is None else "refused:inactive",
                meta=meta,
            )
        raise PermissionDenied("staff.sign_in", "none" if role is None else role.value)
    change: dict[str, object]
    async with conn.transaction():
        if row is None:
            staff_id = str(uuid.uuid4())
            username = _username(preferred_username, subject)
            name = (display_name or preferred_username or username)[:100]
            # No password can ever match: this account signs in through the provider only.
            password = f"!sso-only:{secrets.token_hex(16)}"
            await store.insert_external(
                conn, store.StaffRow(staff_id, username, name, role.value, password, active=True), external_id
            )
            member, change = StaffMember(staff_id, username, name, role), {"created": True}
        else:
            member = StaffMember(row.id, row.username, row.display_name, role)
            change = {}
            if row.role != role.value:
                await store.set_role(conn, row.id, role.value)
                change = {"role_from": row.role}
        await audit.append(
            conn,
            actor=member.actor,
            action="staff.sign_in.oidc",
            entity_type="staff",
            entity_id=member.id,
            summary={"role": role.value, **change},
            meta=meta,
        )
    return member
