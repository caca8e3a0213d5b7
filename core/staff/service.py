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
from functools import lru_cache

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from core import audit
from core.errors import Conflict, InvalidInput, Unauthenticated
from core.identity import Actor, RequestMeta, Role
from core.staff import store

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
        raise InvalidInput("username", "A username is 3-32 characters: a letter, then letters, digits, . _ or -.")
    if role not in STAFF_ROLES:
        raise InvalidInput("role", f"'{role.value}' is not a staff role.")
    if len(password) < 12:
        raise InvalidInput("password", "A staff password has at least 12 characters.")
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    member = StaffMember(str(uuid.uuid4()), username, display_name.strip() or username, role)
    async with conn.transaction():
        try:
            await store.insert(
                conn, store.StaffRow(member.id, username, member.display_name, role.value, password_hash, True)
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"The username '{username}' is taken.") from exc
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


async def authenticate(
    conn: asyncpg.Connection, *, username: str, password: str, meta: RequestMeta | None = None
) -> StaffMember:
    """Check a username and password; every attempt, good or bad, is audited (never the password)."""
    name = username.strip().lower()[:64]
    row = await store.by_username(conn, name)
    ok = False
    try:
        ok = await asyncio.to_thread(_hasher.verify, row.password_hash if row else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    actor = Actor(id=f"staff:{row.id}" if row else f"unknown-user:{name}", role=Role(row.role) if row else Role.SYSTEM)
    success = bool(ok and row and row.active)
    async with conn.transaction():
        await audit.append(
            conn,
            actor=actor,
            action="staff.sign_in",
            entity_type="staff",
            entity_id=row.id if row else None,
            outcome="ok" if success else "refused",
            meta=meta,
        )
    if not success or row is None:
        raise Unauthenticated("Wrong username or password.")
    if _hasher.check_needs_rehash(row.password_hash):
        await store.update_password_hash(conn, row.id, await asyncio.to_thread(_hasher.hash, password))
    return StaffMember(row.id, row.username, row.display_name, Role(row.role))


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
        await self._redis.set(self._key(token), json.dumps(data), ex=self._idle)
        return token, now + self._absolute

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
