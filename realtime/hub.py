"""One Redis subscription per process; each event goes to the sockets of its patient on this process only, and to
the sockets that follow every patient's tubes (``EVERY_PATIENT``: the staff's live worklist, which filters by
centre and forwards no patient data).

Redis is only the bus. If the subscription drops (Redis restarted, flushed, network), the hub reconnects with
backoff and asks every socket to re-read what it may have missed from PostgreSQL, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.events import Event

log = logging.getLogger("labpulse.realtime")
EVERY_PATIENT = "*"  # the key of subscribers offered every event (no patient id is ever "*": ids are UUIDs)


class Subscriber(Protocol):
    def offer(self, event: Event) -> None: ...

    def resync(self) -> None: ...

    def revoke(self, phone_lookup: str, session: str | None) -> None: ...


class Hub:
    def __init__(self, redis: Redis, channel: str, revocations: str | None = None) -> None:
        self._redis = redis
        self._channel = channel
        self._revocations = revocations  # sign-outs: every socket of an ended session closes
        self._subs: dict[str, set[Subscriber]] = {}
        self.ready = asyncio.Event()

    def add(self, patient_id: str, sub: Subscriber) -> None:
        self._subs.setdefault(patient_id, set()).add(sub)

    def remove(self, patient_id: str, sub: Subscriber) -> None:
        subs = self._subs.get(patient_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[patient_id]

    def dispatch(self, raw: bytes | str) -> None:
        try:
            event = Event.from_json(raw)
        except (ValueError, KeyError, TypeError):
            log.warning("dropped a malformed bus message")
            return
        for sub in (*self._subs.get(event.patient_id, ()), *self._subs.get(EVERY_PATIENT, ())):
            sub.offer(event)

    def revoke(self, raw: bytes | str) -> None:
        try:
            data = json.loads(raw)
            phone_lookup, session = str(data["phone_lookup"]), data.get("session")
        except (ValueError, KeyError, TypeError):
            log.warning("dropped a malformed revocation message")
            return
        for subs in tuple(self._subs.values()):
            for sub in tuple(subs):
                sub.revoke(phone_lookup, None if session is None else str(session))

    async def run(self, beat: Callable[[], None] = lambda: None) -> None:
        """Subscribe and dispatch forever, reconnecting on its own; ``beat`` is called at least every 30 s while
        subscribed (``ready`` is set exactly then)."""
        backoff = 0.1
        first = True
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel, *([self._revocations] if self._revocations else []))
                if not first:
                    log.info("event bus reconnected; sockets re-read from PostgreSQL")
                    for subs in tuple(self._subs.values()):
                        for sub in tuple(subs):
                            sub.resync()
                first = False
                backoff = 0.1
                self.ready.set()
                while True:
                    beat()
                    message = await pubsub.get_message(timeout=30.0)
                    if message is not None and message["type"] == "message":
                        channel = message["channel"]
                        if self._revocations and channel in (self._revocations, self._revocations.encode()):
                            self.revoke(message["data"])
                        else:
                            self.dispatch(message["data"])
            except asyncio.CancelledError:
                raise
            except (OSError, RedisError) as exc:
                if self.ready.is_set() or first:  # once per outage; the retries that follow say nothing
                    log.warning("event bus subscription lost (%s); retrying with back-off", type(exc).__name__)
                self.ready.clear()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    await pubsub.aclose()
                except (OSError, RedisError):
                    pass
