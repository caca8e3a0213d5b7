"""One patient's socket: a bounded queue drained by one sender task, which is the only writer to the socket.

The sender keeps ``cursor``, the last event number the client has been sent, and never sends one at or below
it, so nothing is sent twice. Everything in (``floor``, ``cursor``] has been carried by this socket, so a resume
replays only what lies at or below ``floor``: an event sent live just before the client's resume frame reached
the server is not sent again. An event that arrives past a gap (the bus lost one, or Redis was restarted) makes
it read the missing ones from PostgreSQL first, so nothing is skipped either.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from core import metrics
from core.events import Event
from realtime import protocol

log = logging.getLogger("labpulse.realtime")

QUEUE_SIZE = 256

ReadAfter = Callable[[int], Awaitable[Sequence[Event]]]
SendText = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Resync:
    pass


@dataclass(frozen=True, slots=True)
class _Frame:
    text: str


_Item = Event | protocol.Resume | _Resync | _Frame


class SlowClient(Exception):
    """The client did not keep up; it should reconnect and resume."""


class StatusConnection:
    def __init__(self, patient_id: str, send: SendText, read_after: ReadAfter, *, queue_size: int = QUEUE_SIZE,
                 phone_lookup: str = "", session_key: str = "") -> None:  # fmt: skip
        self.patient_id = patient_id
        self._phone_lookup, self._session_key = phone_lookup, session_key
        self.cursor = 0
        self.floor = 0  # every event in (floor, cursor] went out on this socket
        self._send = send
        self._read_after = read_after
        # A list and a wake-up future rather than an asyncio.Queue (four deques and an event: some 2.5 KiB a socket).
        self._items: list[_Item] = []
        self._limit = queue_size
        self._wake: asyncio.Future[None] | None = None
        # What the endpoint must act on. It reads the client's frames with a deadline (``waiting``); setting a flag
        # moves that deadline to now, so the endpoint looks at once (no task or future waits per flag: with
        # thousands of sockets open, every object a socket holds counts).
        self.revoked = False  # the session behind this socket ended: the endpoint closes it with 4401
        self.overflowed = False  # the queue overflowed: the endpoint closes it with 4409 and the client resumes
        self.recheck_now = False  # Redis may have lost its data, sessions too: the endpoint looks again at once
        self.waiting: asyncio.Timeout | None = None

    def wants_attention(self) -> bool:
        return self.revoked or self.overflowed or self.recheck_now

    def interrupt(self) -> None:
        """Wake the endpoint from its read (a flag was set, or the sender ended)."""
        waiting = self.waiting
        if waiting is not None and not waiting.expired():
            waiting.reschedule(asyncio.get_running_loop().time())

    def _put(self, item: _Item) -> None:
        if len(self._items) >= self._limit:
            self.overflowed = True
            self.interrupt()
            return
        self._items.append(item)
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _next(self) -> _Item:
        while not self._items:
            self._wake = asyncio.get_running_loop().create_future()
            await self._wake
        return self._items.pop(0)  # at most queue_size items: popping the front of a short list is cheap

    # Called by the hub.
    def offer(self, event: Event) -> None:
        if event.patient_id == self.patient_id and not self.overflowed:
            self._put(event)

    def resync(self) -> None:
        self._put(_Resync())
        self.recheck_now = True
        self.interrupt()

    def revoke(self, phone_lookup: str, session: str | None) -> None:
        if phone_lookup == self._phone_lookup and session in (None, self._session_key):
            self.revoked = True
            self.interrupt()

    # Called by the endpoint.
    def start_at(self, seq: int) -> None:
        """The snapshot just sent reflects every event up to ``seq``."""
        self.cursor = self.floor = seq

    def resume(self, last_event_id: int) -> None:
        self._put(protocol.Resume(last_event_id))

    def frame(self, text: str) -> None:
        self._put(_Frame(text))

    async def run(self) -> None:
        """Drain the queue forever (cancelled by the endpoint when the socket ends)."""
        while True:
            item = await self._next()
            if isinstance(item, Event):
                if item.seq <= self.cursor:
                    continue  # already sent (a replay overtook it, or the bus repeated it)
                if item.seq > self.cursor + 1:
                    await self._catch_up()  # a gap: read what is missing from PostgreSQL
                    if item.seq <= self.cursor:
                        continue
                await self._event(item, replay=False)
                self.cursor = item.seq
            elif isinstance(item, protocol.Resume):
                await self._replay(item.last_event_id)
            elif isinstance(item, _Resync):
                await self._catch_up()
            else:
                await self._send(item.text)

    async def _event(self, event: Event, *, replay: bool) -> None:
        await self._send(protocol.event_frame(event, replay=replay))
        metrics.EVENTS_DELIVERED.labels("status").inc()

    async def _catch_up(self) -> None:
        while True:
            missed = await self._read_after(self.cursor)
            for event in missed:
                if event.seq > self.cursor:
                    await self._event(event, replay=False)
                    self.cursor = event.seq
            if len(missed) < 1000:
                return

    async def _replay(self, after: int) -> None:
        """Send the events in (after, floor] in order: the client says it did not get them, and this socket has
        not carried them (what it carried, the client gets or has got; sending it again would repeat it)."""
        upto = self.floor
        self.floor = min(self.floor, after)
        while after < upto:
            events = [e for e in await self._read_after(after) if e.seq <= upto]
            if not events:
                return
            for event in events:
                await self._event(event, replay=True)
            after = events[-1].seq
