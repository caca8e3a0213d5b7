"""Staff accounts: add, authenticate (argon2id, off the event loop) and their Redis-held sessions."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from core import audit, permissions
from core.booking import catalogue
from core.errors import AccountLocked, Conflict, InvalidInput, NotFound, SecondFactorRequired, Unauthenticated
from core.i18n import worded
from core.identity import Actor, RequestMeta, Role
from core.ids import is_uuid
from core.phones import normalize_phone
from core.staff import store, totp
from core.vault import Vault

_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,31}$")
STAFF_ROLES = frozenset(Role) - {Role.PATIENT, Role.SYSTEM}
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so a wrong name costs as long as a wrong password.
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: str
    username: str
    display_name: str
    role: Role

    @property
    def actor(self) -> Actor:
        return Actor(id=f"staff:{self.id}", role=self.role)


async def add(
    conn: asyncpg.Connection,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    actor: Actor,
    meta: RequestMeta | None = None,
) -> StaffMember:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise worded(InvalidInput, "error:username_characters_letter_then", "username")
    if role not in STAFF_ROLES:
        raise worded(InvalidInput, "error:not_staff_role", "role", value=role.value)
    if len(password) < 12:
        raise worded(InvalidInput, "error:staff_password_least_characters", "password")
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    member = StaffMember(str(uuid.uuid4()), username, display_name.strip() or username, role)
    async with conn.transaction():
        try:
            await store.insert(
                conn, store.StaffRow(member.id, username, member.display_name, role.value, password_hash, True)
            )
        except asyncpg.UniqueViolationError as exc:
            raise worded(Conflict, "error:username_taken", username=username) from exc
        await audit.append(
            conn,
            actor=actor,
            action="staff.add",
            entity_type="staff",
            entity_id=member.id,
            summary={"username": username, "role": role.value},
            meta=meta,
        )
    return member


CONTACT_CHANNELS = ("sms", "whatsapp", "telegram")


async def set_contact(
    conn: asyncpg.Connection, vault: Vault, *, username: str, phone: str | None, channel: str = "sms", actor: Actor
) -> None:
    """Where a staff member is reached (a doctor's teleconsult join links): their phone, sealed, and channel."""
    if channel not in CONTACT_CHANNELS:
        raise InvalidInput("channel", f"A channel is one of {', '.join(CONTACT_CHANNELS)}.")
    row = await store.by_username(conn, username.strip().lower())
    if row is None:
        raise NotFound(f"There is no staff account '{username.strip().lower()[:40]}'.")
    e164 = normalize_phone(phone, vault.phone_region) if phone else None
    async with conn.transaction():
        await store.set_contact(conn, row.id, vault.seal("staff", "phone", row.id, e164), channel)
        await audit.append(conn, actor=actor, action="staff.contact", entity_type="staff", entity_id=row.id,
                           summary={"channel": channel, "phone": e164 is not None})  # fmt: skip


async def contact(conn: asyncpg.Connection, vault: Vault, staff_id: str) -> tuple[str, str] | None:
    """(phone, channel) for an active staff member who has a phone on file, else None."""
    found = await store.contact(conn, staff_id)
    if found is None or found[0] is None:
        return None
    phone = vault.open("staff", "phone", staff_id, found[0])
    return (phone, found[1]) if phone else None


LOCKOUT_ATTEMPTS = 5
LOCKOUT_MINUTES = 15


async def authenticate(
    conn: asyncpg.Connection,
    *,
    username: str,
    password: str,
    totp_code: str | None = None,
    vault: Vault | None = None,
    meta: RequestMeta | None = None,
) -> StaffMember:
    """Check a username, password and (when enrolled) TOTP code. Every attempt is audited (never the secrets).

    Five failures in a row lock the account for 15 minutes; while locked, even the right password is refused,
    so guessing stops paying. A wrong username costs as long as a wrong password.
    """
    name = username.strip().lower()[:64]
    row = await store.by_username(conn, name)
    actor = Actor(id=f"staff:{row.id}" if row else f"unknown-user:{name}", role=Role(row.role) if row else Role.SYSTEM)

    async def record(outcome: str) -> None:
        async with conn.transaction():
            await audit.append(
                conn,
                actor=actor,
                action="staff.sign_in",
                entity_type="staff",
                entity_id=row.id if row else None,
                outcome=outcome,
                meta=meta,
            )

    if row is not None and row.locked_until is not None and row.locked_until > datetime.now(UTC):
        await record("refused:locked")
        raise _locked(row.locked_until)
    ok = False
    try:
        ok = await asyncio.to_thread(_hasher.verify, row.password_hash if row else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not (ok and row is not None and row.active):
        if row is not None:
            locked = await store.record_failure(
                conn, row.id, max_attempts=LOCKOUT_ATTEMPTS, lock_minutes=LOCKOUT_MINUTES
            )
            if locked is not None:
                await record("refused:locked_now")
                raise _locked(locked)
        await record("refused")
        raise worded(Unauthenticated, "error:wrong_username_password")
    if row.totp_enabled:
        if not totp_code:
            await record("refused:totp_required")
            raise SecondFactorRequired
        if vault is None:
            raise RuntimeError("authenticate needs the vault for an account with a second factor")
        if not await totp.check(conn, vault, row, totp_code):
            locked = await store.record_failure(
                conn, row.id, max_attempts=LOCKOUT_ATTEMPTS, lock_minutes=LOCKOUT_MINUTES
            )
            await record("refused:totp" if locked is None else "refused:locked_now")
            if locked is not None:
                raise _locked(locked)
            raise worded(Unauthenticated, "error:authenticator_code_did_not")
    if row.failed_attempts:
        await store.reset_failures(conn, row.id)
    await record("ok")
    if _hasher.check_needs_rehash(row.password_hash):
        await store.update_password_hash(conn, row.id, await asyncio.to_thread(_hasher.hash, password))
    return StaffMember(row.id, row.username, row.display_name, Role(row.role))


def _locked(until: datetime) -> AccountLocked:
    wait = max(1, int((until - datetime.now(UTC)).total_seconds()))
    return AccountLocked(
        f"This account is locked for {max(1, round(wait / 60))} minutes after several failed sign-ins. "
        "Ask an administrator if you need to get in sooner.",
        wait,
    )


STAFF_COOKIE = "lp_staff"  # the session token in a browser (pages, the staff socket)


class StaffSessions:
    """Opaque bearer tokens; Redis keeps only their SHA-256, with idle and absolute expiry."""

    def __init__(self, redis: Redis, prefix: str, *, idle_seconds: int, absolute_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._idle = idle_seconds
        self._absolute = absolute_seconds

    def _key(self, token: str) -> str:
        return f"{self._prefix}:staff-session:{hashlib.sha256(token.encode()).hexdigest()}"

    async def create(self, member: StaffMember) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        now = time.time()
        data = {
            "id": member.id,
            "username": member.username,
            "display_name": member.display_name,
            "role": member.role.value,
            "created": now,
        }
        key = self._key(token)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, json.dumps(data), ex=self._idle)
            pipe.sadd(self._member_key(member.id), key)  # so an administrator can end them all
            pipe.expire(self._member_key(member.id), self._absolute)
            await pipe.execute()
        return token, now + self._absolute

    def _member_key(self, member_id: str) -> str:
        return f"{self._prefix}:staff-sessions-of:{member_id}"

    async def revoke_member(self, member_id: str) -> int:
        """End every session of one member (their role changed, or their account was switched off); how many."""
        keys = [
            k.decode() if isinstance(k, bytes) else k for k in await self._redis.smembers(self._member_key(member_id))
        ]
        ended = int(await self._redis.delete(*keys)) if keys else 0
        await self._redis.delete(self._member_key(member_id))
        return ended

    async def resolve(self, token: str) -> StaffMember | None:
        """The session's member, refreshing its idle timer; None when unknown, idle too long or too old."""
        if not token or len(token) > 128:
            return None
        key = self._key(token)
        raw = await self._redis.get(key)
        if raw is None:
            return None
        data = json.loads(raw)
        remaining = data["created"] + self._absolute - time.time()
        if remaining <= 0:
            await self._redis.delete(key)
            return None
        await self._redis.expire(key, int(min(self._idle, remaining)) or 1)
        return StaffMember(data["id"], data["username"], data["display_name"], Role(data["role"]))

    async def revoke(self, token: str) -> None:
        await self._redis.delete(self._key(token))


async def centre_of(conn: asyncpg.Connection, member: StaffMember) -> str | None:
    """The centre whose tubes the member's pages show (None: every centre)."""
    return await store.centre_of(conn, member.id)


@dataclass(frozen=True, slots=True)
class Account:
    """A staff account as the administration page lists it (no secrets)."""

    id: str
    username: str
    display_name: str
    role: Role
    active: bool
    totp_enabled: bool
    centre_id: str | None
    locked: bool


async def accounts(conn: asyncpg.Connection, actor: Actor) -> list[Account]:
    permissions.require(actor.role, "admin.staff")
    now = datetime.now(UTC)
    return [Account(r.id, r.username, r.display_name, Role(r.role), r.active, r.totp_enabled, r.centre_id,
                    bool(r.locked_until and r.locked_until > now)) for r in await store.everyone(conn)]  # fmt: skip


async def change(
    conn: asyncpg.Connection,
    sessions: StaffSessions,
    staff_id: str,
    *,
    role: Role,
    centre_id: str | None,
    active: bool,
    actor: Actor,
    meta: RequestMeta | None = None,
) -> None:
    """An administrator changes a member's role, centre or whether the account may sign in; audited. Their open
    sessions end, so the change holds at once (a role is read into a session when it starts)."""
    permissions.require(actor.role, "admin.staff")
    if not is_uuid(staff_id):
        raise worded(NotFound, "error:there_such_staff_member")
    if role not in STAFF_ROLES:
        raise worded(InvalidInput, "error:not_staff_role", "role", value=role.value)
    if staff_id == actor.id.removeprefix("staff:") and (role is not actor.role or not active):
        raise worded(InvalidInput, "error:you_cannot_take_away", "role")
    if centre_id is not None and not await catalogue.centre_exists(conn, centre_id):
        raise worded(InvalidInput, "error:there_centre_id", "centre_id", centre_id=centre_id)
    async with conn.transaction():
        if not await store.change(conn, staff_id, role=role.value, centre_id=centre_id, active=active):
            raise worded(NotFound, "error:there_such_staff_member")
        await audit.append(
            conn, actor=actor, action="staff.change", entity_type="staff", entity_id=staff_id,
            summary={"role": role.value, "centre_id": centre_id, "active": active}, meta=meta,
        )  # fmt: skip
    await sessions.revoke_member(staff_id)


async def set_centre(
    conn: asyncpg.Connection, staff_id: str, centre_id: str | None, *, actor: Actor, meta: RequestMeta | None = None
) -> None:
    """An administrator says where a member works (None: every centre); audited."""
    if centre_id is not None and not await catalogue.centre_exists(conn, centre_id):
        raise worded(InvalidInput, "error:there_centre_id", "centre_id", centre_id=centre_id)
    async with conn.transaction():
        if not await store.set_centre(conn, staff_id, centre_id):
            raise worded(NotFound, "error:there_such_staff_member")
        await audit.append(conn, actor=actor, action="staff.centre.set", entity_type="staff", entity_id=staff_id,
                           summary={"centre_id": centre_id}, meta=meta)  # fmt: skip
