"""Patient sessions in Redis: opaque cookie tokens (only their SHA-256 is stored), idle and absolute expiry,
and an index per verified phone so "sign out everywhere" revokes every device at once.

A session holds the phone's keyed lookup hash, never the number itself, and the patient the user is looking
at. Which patients the phone may see is read from PostgreSQL on every request, so unlinking takes effect at
once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from core.events import revocations_channel

_MEMO = "labpulse.patient_session"  # the ASGI scope key of a request's resolved session: (token, session)


@dataclass(frozen=True, slots=True)
class PatientSession:
    key: str  # sha256 of the token: safe to log, used to revoke
    phone_lookup: str  # hex of the keyed phone hash
    phone_hint: str  # masked number, e.g. +91******0001
    active_patient_id: str | None
    csrf_secret: str
    created: float


class PatientSessions:
    def __init__(self, redis: Redis, prefix: str, *, idle_seconds: int = 30 * 60, absolute_seconds: int = 12 * 3600):
        self._redis = redis
        self._prefix = prefix
        self.idle = idle_seconds
        self.absolute = absolute_seconds

    def _key(self, token_hash: str) -> str:
        return f"{self._prefix}:psession:{token_hash}"

    def _index(self, phone_lookup: str) -> str:
        return f"{self._prefix}:psessions:{phone_lookup}"

    async def create(self, *, phone_lookup: str, phone_hint: str, active_patient_id: str | None) -> str:
        token = secrets.token_urlsafe(32)
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        data = {
            "lookup": phone_lookup,
            "hint": phone_hint,
            "active": active_patient_id,
            "csrf": secrets.token_urlsafe(24),
            "created": time.time(),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(token_hash), json.dumps(data), ex=self.idle)
            pipe.sadd(self._index(phone_lookup), token_hash)
            pipe.expire(self._index(phone_lookup), self.absolute)
            await pipe.execute()
        return token

    async def resolve(self, token: str | None) -> PatientSession | None:
        """The live session for ``token`` (refreshing its idle timer), or None."""
        if not token or len(token) > 128:
            return None
        return await self.resolve_key(hashlib.sha256(token.encode()).hexdigest())

    async def resolve_once(self, scope: MutableMapping[str, Any], token: str | None) -> PatientSession | None:
        """As ``resolve``, at most once per request: the rate limiter and then the endpoint ask for the same
        token's session, and the second gets the first's answer (kept in the request's ASGI scope)."""
        memo = scope.get(_MEMO)
        if memo is not None and memo[0] == token:
            return memo[1]  # type: ignore[no-any-return]
        session = await self.resolve(token)
        scope[_MEMO] = (token, session)
        return session

    async def resolve_key(self, token_hash: str) -> PatientSession | None:
        """As ``resolve``, by the token's hash (what a WebSocket holds after the handshake)."""
        # One round trip: read it and restart its idle timer; near the absolute expiry, cut the timer back to it.
        raw = await self._redis.getex(self._key(token_hash), ex=self.idle)
        if raw is None:
            return None
        data = json.loads(raw)
        remaining = data["created"] + self.absolute - time.time()
        if remaining <= 0:
            await self._redis.delete(self._key(token_hash))
            return None
        if remaining < self.idle:
            await self._redis.expire(self._key(token_hash), max(1, int(remaining)))
        return PatientSession(
            token_hash, data["lookup"], data["hint"], data["active"], data["csrf"], float(data["created"])
        )

    async def alive(self, token_hash: str) -> bool:
        """Whether the session still exists, without refreshing its idle timer (an open socket's periodic look:
        the key's time to live never outlasts the absolute expiry)."""
        return bool(await self._redis.exists(self._key(token_hash)))

    async def switch(self, session: PatientSession, patient_id: str) -> None:
        """Point the session at another patient. The caller has checked the phone may see them."""
        raw = await self._redis.get(self._key(session.key))
        if raw is None:
            return
        data = json.loads(raw)
        data["active"] = patient_id
        await self._redis.set(self._key(session.key), json.dumps(data), keepttl=True)

    async def revoke(self, session: PatientSession) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(session.key))
            pipe.srem(self._index(session.phone_lookup), session.key)
            await pipe.execute()
        await self._announce(session.phone_lookup, session.key)

    async def _announce(self, phone_lookup: str, session_key: str | None) -> None:
        """Tell every process that these sessions ended: their open status sockets close at once."""
        message = json.dumps({"phone_lookup": phone_lookup, "session": session_key})
        await self._redis.publish(revocations_channel(self._prefix), message)

    async def end(self, session: PatientSession, *, everywhere: bool) -> None:
        """Sign out this device, or (``everywhere``) every device of this phone."""
        if everywhere:
            await self.revoke_all(session.phone_lookup)
        else:
            await self.revoke(session)

    async def socket_token(self, session: PatientSession, *, ttl_seconds: int = 60) -> str:
        """A single-use token, valid ``ttl_seconds``, that opens a WebSocket for this session (mobile apps)."""
        token = secrets.token_urlsafe(24)
        await self._redis.set(
            f"{self._prefix}:wstoken:{hashlib.sha256(token.encode()).hexdigest()}", session.key, ex=ttl_seconds
        )
        return token

    async def redeem_socket_token(self, token: str | None) -> PatientSession | None:
        if not token or len(token) > 128:
            return None
        key = await self._redis.getdel(f"{self._prefix}:wstoken:{hashlib.sha256(token.encode()).hexdigest()}")
        if key is None:
            return None
        return await self.resolve_key(key.decode() if isinstance(key, bytes) else str(key))

    async def revoke_all(self, phone_lookup: str) -> int:
        """Sign out every device of this phone. Returns how many sessions were live."""
        members = await self._redis.smembers(self._index(phone_lookup))
        keys = [self._key(m.decode() if isinstance(m, bytes) else m) for m in members]
        live = int(await self._redis.delete(*keys)) if keys else 0
        await self._redis.delete(self._index(phone_lookup))
        await self._announce(phone_lookup, None)
        return live


PATIENT_COOKIE = "lp_session"
