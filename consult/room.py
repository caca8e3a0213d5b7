"""A teleconsult room: the server end of the doctor's and the patient's WebRTC connections, relaying each one's
audio and video to the other and handing each one's audio to the transcript.

One RTCPeerConnection per participant, with the server. What the server sends a participant is a
`SwitchableTrack` per kind: the other side's relayed frames while the other side is connected, silence or a blank
picture (paced in real time) while not. So every answer is sendrecv from the start and nothing is renegotiated
when the other side joins, drops or rejoins: the track just switches source. A rejoin is simply a new offer for
the same side: a new peer connection replaces the old one (built first, so a bad offer leaves the old one up).

Frames travel through one `MediaRelay` per room. Each incoming track is drained from the moment it arrives (a
task reading an unbuffered subscription): aiortc decodes everything it receives into the track's queue, and a
track nobody reads (the patient waiting alone in the room) would hoard decoded video without bound.

A side that leaves has its incoming tracks ended, which ends every relay subscription to them: the other side's
switchable tracks fall back to filler by themselves and the transcription tap sees the end of its track.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias, TypeVar

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.sdp import SessionDescription, candidate_from_sdp

from consult.quality import Quality, connection_quality
from consult.signalling import Candidate, SignallingError
from consult.tracks import SwitchableTrack

log = logging.getLogger("labpulse.consult")

Side: TypeAlias = Literal["doctor", "patient"]
SIDES: Final[tuple[Side, Side]] = ("doctor", "patient")
_OTHER: Final[dict[str, Side]] = {"doctor": "patient", "patient": "doctor"}

_T = TypeVar("_T")
# Hooks may be plain functions or coroutine functions; an awaitable result is run as a task the room owns.
AudioHook: TypeAlias = Callable[[str, MediaStreamTrack], Awaitable[None] | None]
PresenceHook: TypeAlias = Callable[[str, bool], Awaitable[None] | None]
RoomHook: TypeAlias = Callable[["Room"], Awaitable[None] | None]


@dataclass(eq=False)
class _Leg:
    """One participant's peer connection with what it sends us (`incoming`) and what we send it (`outgoing`)."""

    pc: RTCPeerConnection
    outgoing: dict[str, SwitchableTrack] = field(default_factory=dict)
    incoming: dict[str, MediaStreamTrack] = field(default_factory=dict)


def _offered_kinds(sdp: str) -> list[str]:
    """Read the offer before touching any connection: one audio and/or one video section, nothing else."""
    try:
        media = SessionDescription.parse(sdp).media
    except Exception:  # noqa: BLE001 - aiortc's parser fails with whatever the bad line provokes
        raise SignallingError("bad_offer", "The offer could not be read as a session description.") from None
    kinds = [m.kind for m in media]
    if not kinds or any(k not in ("audio", "video") for k in kinds) or len(set(kinds)) != len(kinds):
        raise SignallingError("bad_offer", "An offer must have one audio and/or one video section, and nothing else.")
    return kinds


def _end(track: MediaStreamTrack) -> None:
    """End an incoming track the way aiortc's decoder does when its receiver stops (a None in its queue). aiortc
    only does that for a receiver that started, and a track that never ends keeps the relay reading forever."""
    if isinstance(track, RemoteStreamTrack) and track.readyState == "live":
        track._queue.put_nowait(None)


class Room:
    """The two sides of one teleconsult. Methods for a side are serialised per side; all run on one event loop.

    Hooks: `on_audio(side, track)` gets a relay subscription to each incoming audio track (a rejoin calls it
    again with the new track; the old one ends); the subscription buffers every frame once read, so the hook must
    keep reading it to its end or `stop()` it; `on_presence(side, present)` after a side connects (every
    accepted offer) or goes (left, or its connection failed); `on_empty(room)` when the last side present goes;
    `on_close(room)` when `close()` has finished. A hook may be a coroutine function: the room runs the coroutine
    as its own task, and `close()` gives those tasks `close_grace_s` to finish before cancelling them.
    """

    def __init__(
        self,
        consult_id: str,
        *,
        ice_servers: list[RTCIceServer],
        on_audio: AudioHook | None = None,
        on_presence: PresenceHook | None = None,
        on_empty: RoomHook | None = None,
        on_close: RoomHook | None = None,
        close_grace_s: float = 2.0,
    ) -> None:
        self.consult_id = consult_id
        self._ice_servers = list(ice_servers)
        self._on_audio = on_audio
        self._on_presence = on_presence
        self._on_empty = on_empty
        self._on_close = on_close
        self._close_grace_s = close_grace_s
        self._relay = MediaRelay()
        self._legs: dict[str, _Leg] = {}
        self._locks = {side: asyncio.Lock() for side in SIDES}
        self._tasks: set[asyncio.Future[Any]] = set()
        self._closing = False
        self._closed = asyncio.Event()

    @property
    def present(self) -> set[str]:
        return set(self._legs)

    @property
    def empty(self) -> bool:
        return not self._legs

    @property
    def closed(self) -> bool:
        """True from the moment `close()` starts: a closing room takes no more offers."""
        return self._closing

    def peer_connection(self, side: str) -> RTCPeerConnection | None:
        leg = self._legs.get(_side(side))
        return leg.pc if leg else None

    async def quality(self, side: str) -> Quality | None:
        pc = self.peer_connection(side)
        return await connection_quality(pc) if pc else None

    async def accept_offer(self, side: str, sdp: str) -> str:
        """Answer `side`'s offer with a new peer connection, replacing the side's previous one (a rejoin)."""
        side = _side(side)
        self._check_open()
        kinds = _offered_kinds(sdp)
        async with self._locks[side]:
            self._check_open()
            leg = await self._negotiate(side, sdp, kinds)
            old = self._legs.get(side)
            self._legs[side] = leg
            self._activate(side, leg)
            if old is not None:
                await self._dispose(old)
            self._notify(self._on_presence, side, True)
            answer = leg.pc.localDescription
            return answer.sdp

    async def _negotiate(self, side: Side, sdp: str, kinds: list[str]) -> _Leg:
        leg = _Leg(RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers)))

        def on_track(track: MediaStreamTrack) -> None:  # fires inside setRemoteDescription, once per section
            leg.incoming.setdefault(track.kind, track)

        def on_state() -> None:
            if leg.pc.connectionState == "failed":
                log.info("teleconsult %s: %s connection failed", self.consult_id, side)
                self._spawn(self._remove(side, leg), f"room-{self.consult_id}-drop-{side}")

        leg.pc.on("track", on_track)
        leg.pc.on("connectionstatechange", on_state)
        try:
            await leg.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            for kind in kinds:
                leg.outgoing[kind] = SwitchableTrack(kind)
                leg.pc.addTrack(leg.outgoing[kind])
            await leg.pc.setLocalDescription(await leg.pc.createAnswer())
        except Exception as exc:  # noqa: BLE001 - aiortc rejects offers with assorted exception types
            log.info("teleconsult %s: %s offer rejected: %r", self.consult_id, side, exc)
            await self._dispose(leg)
            detail = str(exc).rstrip(".") or "it does not describe a connection we can make"
            raise SignallingError("bad_offer", f"The offer could not be accepted: {detail}.") from None
        return leg

    def _activate(self, side: Side, leg: _Leg) -> None:
        for kind, track in leg.incoming.items():
            self._spawn(self._drain(track), f"room-{self.consult_id}-drain-{side}-{kind}")
            if kind == "audio" and self._on_audio is not None:
                self._notify(self._on_audio, side, self._relay.subscribe(track))
        self._rewire()

    def _rewire(self) -> None:
        """Point every outgoing track at the other side's current incoming track of its kind (idempotent)."""
        for side, leg in self._legs.items():
            other = self._legs.get(_OTHER[side])
            for kind, out in leg.outgoing.items():
                origin = other.incoming.get(kind) if other else None
                if origin is not None and origin.readyState == "live" and out.origin is not origin:
                    out.switch_to(self._relay.subscribe(origin, buffered=kind == "audio"), origin)

    async def _drain(self, track: MediaStreamTrack) -> None:
        """Keep the relay reading `track` (see the module docstring); ends when the track ends."""
        sink = self._relay.subscribe(track, buffered=False)
        try:
            while True:
                await sink.recv()
        except MediaStreamError:
            pass
        finally:
            sink.stop()

    async def add_candidate(self, side: str, candidate: Candidate) -> None:
        """Add a trickled candidate to the side's current connection; one for a connection already replaced or
        closed is dropped (candidates race with rejoins)."""
        side = _side(side)
        async with self._locks[side]:
            leg = self._legs.get(side)
            if leg is None:
                return
            try:  # aiortc reads the line itself; whatever it cannot read is the sender's error, never a crash
                if candidate.end_of_candidates:
                    rtc = None
                else:
                    rtc = candidate_from_sdp(candidate.candidate.removeprefix("candidate:"))
                    rtc.sdpMid = candidate.sdp_mid
                    rtc.sdpMLineIndex = candidate.sdp_mline_index
                await leg.pc.addIceCandidate(rtc)
            except (ValueError, IndexError, TypeError) as exc:
                raise SignallingError("bad_candidate", f"This ICE candidate cannot be used: {exc}.") from None

    async def leave(self, side: str) -> None:
        """The side hangs up (or its socket closed): close its connection; the other side gets filler."""
        await self._remove(_side(side), None)

    async def _remove(self, side: Side, expected: _Leg | None) -> None:
        async with self._locks[side]:
            leg = self._legs.get(side)
            if leg is None or (expected is not None and leg is not expected):
                return
            del self._legs[side]
            now_empty = not self._legs
            await self._dispose(leg)
        if not self._closing:
            self._notify(self._on_presence, side, False)
            if now_empty:
                self._notify(self._on_empty, self)

    async def _dispose(self, leg: _Leg) -> None:
        try:
            await leg.pc.close()
        except Exception:  # a connection that fails to close must not keep its tracks alive
            log.exception("teleconsult %s: closing a peer connection failed", self.consult_id)
        for track in leg.incoming.values():
            _end(track)
        for out in leg.outgoing.values():
            out.stop()

    async def close(self) -> None:
        """Close both connections, stop every track, and end every task the room started (hooks included)."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        for side in SIDES:
            async with self._locks[side]:
                leg = self._legs.pop(side, None)
                if leg is not None:
                    await self._dispose(leg)
        pending = {task for task in self._tasks if task is not asyncio.current_task()}
        if pending:
            _, pending = await asyncio.wait(pending, timeout=self._close_grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._closed.set()
        if self._on_close is not None:
            result = self._on_close(self)
            if inspect.isawaitable(result):
                await result

    def _check_open(self) -> None:
        if self._closing:
            raise SignallingError("room_closed", "This consultation room has closed.")

    def _notify(self, hook: Callable[..., Awaitable[None] | None] | None, *args: Any) -> None:
        if hook is None:
            return
        try:
            result = hook(*args)
        except Exception:  # a hook's failure must not break the media path
            log.exception("teleconsult %s: hook %r failed", self.consult_id, hook)
            return
        if inspect.isawaitable(result):
            self._spawn(result, f"room-{self.consult_id}-hook")

    def _spawn(self, awaitable: Awaitable[_T] | Coroutine[Any, Any, _T], name: str) -> None:
        task = asyncio.ensure_future(awaitable)
        if isinstance(task, asyncio.Task):
            task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("teleconsult %s: task failed", self.consult_id, exc_info=task.exception())


def _side(side: str) -> Side:
    if side == "doctor":
        return "doctor"
    if side == "patient":
        return "patient"
    raise ValueError(f"a room has a doctor side and a patient side, not {side!r}")


class RoomRegistry:
    """The open rooms of this process, by consult id. A room leaves the registry when it closes."""

    def __init__(self, *, ice_servers: list[RTCIceServer]) -> None:
        self._ice_servers = list(ice_servers)
        self._rooms: dict[str, Room] = {}

    def __len__(self) -> int:
        return len(self._rooms)

    def get(self, consult_id: str) -> Room | None:
        room = self._rooms.get(consult_id)
        return room if room is not None and not room.closed else None

    def get_or_create(
        self,
        consult_id: str,
        *,
        on_audio: AudioHook | None = None,
        on_presence: PresenceHook | None = None,
        on_empty: RoomHook | None = None,
    ) -> Room:
        """The open room for `consult_id`, or a new one with these hooks (hooks are ignored for an existing room)."""
        room = self.get(consult_id)
        if room is None:
            room = Room(
                consult_id,
                ice_servers=self._ice_servers,
                on_audio=on_audio,
                on_presence=on_presence,
                on_empty=on_empty,
                on_close=self._forget,
            )
            self._rooms[consult_id] = room
        return room

    def _forget(self, room: Room) -> None:
        if self._rooms.get(room.consult_id) is room:
            del self._rooms[room.consult_id]

    async def close_all(self) -> None:
        """Server shutdown: close every room (concurrently; each waits for its own hooks)."""
        await asyncio.gather(*(room.close() for room in list(self._rooms.values())))
