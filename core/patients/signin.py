"""Passwordless sign-in for patients: a one-time code to their phone, or a signed single-use link.

Codes are 6 digits, kept in Redis only as an HMAC, valid 10 minutes, single use, and dead after 5 wrong tries.
Asking for codes and trying them are rate-limited per phone and per IP address. A number with no patient on
file gets the same answer as one with (nothing is sent), so the form cannot be used to find out who is a
patient here. Every request and every outcome is audited under the phone's keyed hash, never the number.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from redis.asyncio import Redis

from core import audit, once
from core.errors import SignInFailed, TooManyAttempts
from core.i18n import wait_words, worded
from core.identity import Actor, RequestMeta, Role
from core.notify import Message, Notifier, mask_phone
from core.patients import store
from core.patients.sessions import PatientSessions
from core.phones import normalize_phone
from core.ratelimit import RateLimiter
from core.vault import Vault

CODE_TTL_SECONDS = 10 * 60
CODE_MAX_TRIES = 5
LINK_TTL_SECONDS = 60 * 60
SENDS_PER_PHONE = (5, 3600)  # (limit, window seconds)
SENDS_PER_IP = (20, 3600)
TRIES_PER_PHONE = (10, 3600)
TRIES_PER_IP = (30, 3600)


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    phone_lookup: str
    patient_ids: list[str]


class PatientSignIn:
    def __init__(
        self,
        *,
        redis: Redis,
        prefix: str,
        vault: Vault,
        secret_key: str,
        notifier: Notifier,
        sessions: PatientSessions,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._vault = vault
        self._key = hashlib.sha256(b"labpulse.otp:" + secret_key.encode()).digest()
        self._links = URLSafeTimedSerializer(secret_key, salt="labpulse.magic-link")
        self._notifier = notifier
        self._limits = RateLimiter(redis, prefix)
        # HINCRBY only on a code that exists (a missing one must not come back as a hash with no expiry).
        self._try = redis.register_script(
            "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HINCRBY', KEYS[1], 'tries', 1) "
            "else return 0 end"
        )
        self.sessions = sessions

    def _lookup(self, raw_phone: str) -> tuple[str, str]:
        phone = normalize_phone(raw_phone, self._vault.phone_region)
        return phone, self._vault.lookup.digest("phone", phone).hex()

    def _code_key(self, lookup: str) -> str:
        return f"{self._prefix}:otp:{lookup}"

    def _digest(self, lookup: str, code: str) -> str:
        return hmac.new(self._key, f"{lookup}:{code}".encode(), hashlib.sha256).hexdigest()

    async def _limit(self, bucket: str, key: str, rule: tuple[int, int], message: str) -> None:
        wait = await self._limits.hit(bucket, key, limit=rule[0], window_seconds=rule[1])
        if wait is not None:
            raise worded(lambda m: TooManyAttempts(m, wait), message, wait=wait_words("en", wait))

    async def _audit(
        self, conn: asyncpg.Connection, lookup: str, action: str, outcome: str, meta: RequestMeta | None
    ) -> None:
        async with conn.transaction():
            await audit.append(
                conn,
                actor=Actor(f"phone:{lookup[:16]}", Role.PATIENT),
                action=action,
                entity_type="phone",
                entity_id=lookup[:16],
                outcome=outcome,
                meta=meta,
            )

    async def request_code(
        self, conn: asyncpg.Connection, raw_phone: str, *, lang: str = "en", meta: RequestMeta | None = None
    ) -> str:
        """Send a fresh code if the number belongs to a patient. Returns the masked number to show the user."""
        meta = meta or RequestMeta()
        phone, lookup = self._lookup(raw_phone)
        busy = "error:codes_busy"
        await self._limit("otp-send-ip", meta.source_ip or "unknown", SENDS_PER_IP, busy)
        await self._limit("otp-send-phone", lookup, SENDS_PER_PHONE, busy)
        known = bool(await store.ids_by_phone_lookup(conn, bytes.fromhex(lookup)))
        if known:
            code = f"{secrets.randbelow(10**6):06d}"
            await self._redis.hset(self._code_key(lookup), mapping={"h": self._digest(lookup, code), "tries": 0,
                                                                "n": secrets.token_hex(12)})  # fmt: skip
            await self._redis.expire(self._code_key(lookup), CODE_TTL_SECONDS)
            await self._notifier.send(phone, Message("otp", lang, {"code": code}))
        await self._audit(conn, lookup, "patient.sign_in.code_requested", "ok" if known else "unknown_phone", meta)
        return mask_phone(phone)

    async def verify_code(
        self, conn: asyncpg.Connection, raw_phone: str, code: str, *, meta: RequestMeta | None = None
    ) -> SignedIn:
        meta = meta or RequestMeta()
        _, lookup = self._lookup(raw_phone)
        slow = "error:codes_tried"
        await self._limit("otp-try-ip", meta.source_ip or "unknown", TRIES_PER_IP, slow)
        await self._limit("otp-try-phone", lookup, TRIES_PER_PHONE, slow)
        key = self._code_key(lookup)
        code = code.strip().replace(" ", "")
        # Every attempt is counted before it is compared, in one step: however many arrive together, at most
        # CODE_MAX_TRIES are ever compared with the code.
        tries = int(await self._try(keys=[key]))
        stored, nonce = await self._redis.hmget(key, ["h", "n"]) if tries > 0 else (None, None)
        if stored is None or not (len(code) == 6 and code.isdigit()) or tries > CODE_MAX_TRIES:
            if tries > CODE_MAX_TRIES:
                await self._redis.delete(key)
            outcome = (
                "refused:too_many" if tries > CODE_MAX_TRIES else "refused:no_code" if stored is None else "refused"
            )
            await self._audit(conn, lookup, "patient.sign_in", outcome, meta)
            raise worded(SignInFailed, "error:code_wrong")
        expected = stored.decode() if isinstance(stored, bytes) else str(stored)
        if not hmac.compare_digest(expected, self._digest(lookup, code)):
            if tries >= CODE_MAX_TRIES:
                await self._redis.delete(key)
                await self._audit(conn, lookup, "patient.sign_in", "refused:locked", meta)
                raise worded(SignInFailed, "error:code_spent")
            await self._audit(conn, lookup, "patient.sign_in", "refused", meta)
            raise worded(SignInFailed, "error:code_wrong")
        # Single use, durably: only the request that records the code's use may sign in, even if two arrive
        # together or Redis comes back from an older copy of itself.
        await self._redis.delete(key)
        use = (nonce.decode() if isinstance(nonce, bytes) else str(nonce)) if nonce else expected
        if not await once.claim(conn, "otp", use, ttl=timedelta(seconds=CODE_TTL_SECONDS + 60)):
            raise worded(SignInFailed, "error:code_wrong")
        return await self._start(conn, lookup, mask_phone(normalize_phone(raw_phone, self._vault.phone_region)), meta)

    async def _start(
        self, conn: asyncpg.Connection, lookup: str, hint: str, meta: RequestMeta, patient_id: str | None = None
    ) -> SignedIn:
        ids = await store.ids_by_phone_lookup(conn, bytes.fromhex(lookup))
        if not ids:
            await self._audit(conn, lookup, "patient.sign_in", "refused:no_patients", meta)
            raise worded(SignInFailed, "error:no_tests_for_phone")
        active = patient_id if patient_id in ids else ids[0]
        token = await self.sessions.create(phone_lookup=lookup, phone_hint=hint, active_patient_id=active)
        await self._limits.clear("otp-try-phone", lookup)
        await self._audit(conn, lookup, "patient.sign_in", "ok", meta)
        return SignedIn(token, lookup, ids)

    def magic_link_token(self, raw_phone: str, patient_id: str | None = None) -> str:
        """A signed, single-use token for a link in an SMS/WhatsApp message; valid for one hour."""
        phone, lookup = self._lookup(raw_phone)
        return self._links.dumps({"l": lookup, "h": mask_phone(phone), "p": patient_id, "j": secrets.token_hex(16)})

    async def redeem_magic_link(
        self, conn: asyncpg.Connection, token: str, *, meta: RequestMeta | None = None
    ) -> SignedIn:
        meta = meta or RequestMeta()
        try:
            data = self._links.loads(token, max_age=LINK_TTL_SECONDS)
        except SignatureExpired as exc:
            raise worded(SignInFailed, "error:link_expired") from exc
        except BadSignature as exc:
            raise worded(SignInFailed, "error:link_invalid") from exc
        lookup = str(data["l"])
        used = await once.claim(conn, "magic-link", str(data["j"]), ttl=timedelta(seconds=LINK_TTL_SECONDS + 60))
        if not used:
            await self._audit(conn, lookup, "patient.sign_in.link", "refused:reused", meta)
            raise worded(SignInFailed, "error:link_expired")
        return await self._start(conn, lookup, str(data["h"]), meta, data.get("p"))
