"""Live teleconsults: what joins a participant's signalling socket to the media relay, the transcript and the SOAP
draft. The portal's WebSocket endpoint only authenticates and passes frames here.

Per consult, while anyone is in it: the room (consult/room.py), each side's socket, each side's audio tap, and the
transcript so far. A tap transcribes only while both sides consent (the gate is read for every utterance, so a
withdrawal stops it at once); each line is stored encrypted through core, then sent to the doctor with a fresh SOAP
draft (drafting runs in a thread: it is CPU work). The patient never receives the transcript or the draft.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

import asyncpg
from aiortc import RTCIceServer
from aiortc.mediastreams import MediaStreamTrack

from consult import signalling
from consult.audio_tap import AudioTap
from consult.owners import RoomOwners
from consult.room import Room, RoomRegistry
from consult.transcribe import Line, Transcriber
from core.notes import soap
from core.notes.sex import Sex
from core.teleconsult import labs, transcript
from core.teleconsult.service import JoinGrant, patient_sex
from core.vault import Vault

log = logging.getLogger("labpulse.consult")

Send = Callable[[str], Awaitable[None]]
OTHER = {"doctor": "patient", "patient": "doctor"}


@dataclass(eq=False)
class _Consult:
    room: Room
    sockets: dict[str, Send] = field(default_factory=dict)
    taps: dict[str, AudioTap] = field(default_factory=dict)
    consent: dict[str, bool] = field(default_factory=lambda: {"doctor": False, "patient": False})
    lines: list[soap.Line] = field(default_factory=list)
    labs: list[soap.LabResult] = field(default_factory=list)
    sex: Sex | None = None  # the record's, for the draft's he or she
    draft_task: asyncio.Task[None] | None = None
    redraft: asyncio.Event = field(default_factory=asyncio.Event)

    def consented(self) -> bool:
        return all(self.consent.values())


class LiveConsults:
    """Every live consult of this server process (a consult lives on one process: its peer connections do)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        vault: Vault,
        transcriber: Callable[[], Transcriber],
        *,
        ice_servers: list[RTCIceServer],
        owners: RoomOwners | None = None,
    ) -> None:
        self.owners = owners  # which process owns each room (several web processes); None: this one owns all
        self._pool = pool
        self._vault = vault
        self._make_transcriber = transcriber
        self._transcriber: Transcriber | None = None
        self._loading = asyncio.Lock()
        self._rooms = RoomRegistry(ice_servers=ice_servers)
        self._live: dict[str, _Consult] = {}

    def __len__(self) -> int:
        return len(self._live)

    def ids(self) -> list[str]:
        return list(self._live)

    async def owner(self, consult_id: str) -> str | None:
        """None when this process serves the room (it has claimed it, or there is one process); else the node that
        owns it, to which the participant is sent."""
        if self.owners is None:
            return None
        node = await self.owners.claim(consult_id)
        return None if node == self.owners.node else node

    async def connect(self, grant: JoinGrant, send: Send) -> None:
        """A participant's socket is open: tell them who is here and where consent stands."""
        consult_id = grant.consult.id
        live = self._live.get(consult_id)
        if live is None:
            room = self._rooms.get_or_create(
                consult_id,
                on_audio=partial(self._on_audio, consult_id),
                on_presence=partial(self._on_presence, consult_id),
                on_empty=self._on_empty,
            )
            live = self._live[consult_id] = _Consult(room)
            async with self._pool.acquire() as conn:
                live.consent = await transcript.consents(conn, consult_id)
            live.draft_task = asyncio.create_task(self._drafts(consult_id, live), name=f"soap-{consult_id[:8]}")
        previous = live.sockets.get(grant.side)
        live.sockets[grant.side] = send
        if previous is not None:  # the same side opened the room again (a reload): the old page is told
            with contextlib.suppress(Exception):
                await previous(signalling.dump("ended", reason="opened elsewhere"))
        if grant.side == "doctor":
            await self._load_for_doctor(grant, live)
        for side, given in live.consent.items():
            await send(signalling.dump("consent", side=side, given=given))
        if OTHER[grant.side] in live.room.present:
            await send(signalling.dump("peer_joined", side=OTHER[grant.side]))

    async def _load_for_doctor(self, grant: JoinGrant, live: _Consult) -> None:
        """The doctor's view starts with the transcript so far, the draft and the patient's recent results."""
        async with self._pool.acquire() as conn:
            recent = await labs.recent(conn, grant.consult, actor=grant.actor())
            live.sex = await patient_sex(conn, grant.consult, actor=grant.actor())
            lines = await transcript.read(conn, self._vault, grant.consult, actor=grant.actor())
        live.labs = [soap.LabResult(r.test, r.value, r.unit, r.flag, r.reported_on) for r in recent]
        await live.sockets["doctor"](signalling.dump("labs", results=[r.to_json() for r in recent]))
        live.lines = [soap.Line(line.seq, line.speaker, line.text) for line in lines]  # type: ignore[arg-type]
        send = live.sockets["doctor"]
        for line in lines:
            await send(signalling.dump("transcript", id=line.seq, speaker=line.speaker,
                                       started_at=line.started_ms / 1000, ended_at=line.ended_ms / 1000,
                                       text=line.text))  # fmt: skip
        live.redraft.set()

    async def receive(self, grant: JoinGrant, raw: str | bytes) -> None:
        """One frame from a participant. A bad frame is answered with an error frame; the socket stays open."""
        live = self._live.get(grant.consult.id)
        send = live.sockets.get(grant.side) if live else None
        if live is None or send is None:
            return
        try:
            message = signalling.parse(raw)
            if isinstance(message, signalling.Offer):
                answer = await live.room.accept_offer(grant.side, message.sdp)
                await send(signalling.dump("answer", sdp=answer))
            elif isinstance(message, signalling.Candidate):
                await live.room.add_candidate(grant.side, message)
            elif isinstance(message, signalling.Consent):
                await self._consent(grant, live, message.given)
            elif isinstance(message, signalling.Mute):
                await self._tell(live, OTHER[grant.side], "mute", side=grant.side, audio=message.audio,
                                 video=message.video)  # fmt: skip
            elif isinstance(message, signalling.Leave):
                await live.room.leave(grant.side)
            elif isinstance(message, signalling.Ping):
                await send(signalling.dump("pong"))
                quality = await live.room.quality(grant.side)
                if quality is not None:
                    await send(signalling.dump("quality", rtt_ms=quality.rtt_ms, loss=quality.loss,
                                               jitter_ms=quality.jitter_ms))  # fmt: skip
        except signalling.SignallingError as exc:
            await send(signalling.dump("error", code=exc.code, message=exc.message))

    async def disconnect(self, grant: JoinGrant, send: Send) -> None:
        """The socket closed: the participant has left the call (they can rejoin with the same link)."""
        live = self._live.get(grant.consult.id)
        if live is None or live.sockets.get(grant.side) is not send:
            return  # a newer socket of the same side took over
        del live.sockets[grant.side]
        await live.room.leave(grant.side)
        if not live.sockets and live.room.empty:  # nobody here (some never connected media): release it all
            await self._end(grant.consult.id)

    async def _consent(self, grant: JoinGrant, live: _Consult, given: bool) -> None:
        async with self._pool.acquire() as conn:
            live.consent = await transcript.set_consent(conn, grant.consult, grant.side, given, actor=grant.actor())
        for side in live.sockets:
            await self._tell(live, side, "consent", side=grant.side, given=given)

    async def _tell(self, live: _Consult, to: str, kind: str, **fields: object) -> None:
        send = live.sockets.get(to)
        if send is not None:
            try:
                await send(signalling.dump(kind, **fields))
            except Exception:  # noqa: BLE001 - a socket closing under us: its own handler cleans up
                log.debug("could not send %s to %s", kind, to)

    # --- room hooks ---------------------------------------------------------------------------------------------

    async def transcriber(self) -> Transcriber:
        """Whisper is loaded on the first call that needs it (in a thread: it takes a moment), then shared."""
        async with self._loading:
            if self._transcriber is None:
                self._transcriber = await asyncio.get_running_loop().run_in_executor(None, self._make_transcriber)
            return self._transcriber

    async def _on_audio(self, consult_id: str, side: str, track: MediaStreamTrack) -> None:
        live = self._live.get(consult_id)
        if live is None:
            track.stop()
            return
        old = live.taps.pop(side, None)
        if old is not None:
            await old.stop()
        transcriber = await self.transcriber()
        tap = AudioTap(track, side, partial(self._on_line, consult_id), transcriber,  # type: ignore[arg-type]
                       gate=live.consented)  # fmt: skip
        live.taps[side] = tap.start()

    async def _on_line(self, consult_id: str, line: Line) -> None:
        live = self._live.get(consult_id)
        if live is None or not live.consented():
            return
        async with self._pool.acquire() as conn:
            stored = await transcript.add_line(
                conn, self._vault, consult_id, line.speaker, int(line.started_at * 1000), int(line.ended_at * 1000),
                line.text,
            )  # fmt: skip
        if stored is None:
            return  # consent was withdrawn meanwhile: nothing kept
        live.lines.append(soap.Line(stored.seq, stored.speaker, stored.text))  # type: ignore[arg-type]
        await self._tell(live, "doctor", "transcript", id=stored.seq, speaker=stored.speaker,
                         started_at=stored.started_ms / 1000, ended_at=stored.ended_ms / 1000,
                         text=stored.text)  # fmt: skip
        live.redraft.set()

    async def _drafts(self, consult_id: str, live: _Consult) -> None:
        """Redraft after new lines, at most one draft at a time; the doctor gets each new draft."""
        while True:
            await live.redraft.wait()
            live.redraft.clear()
            if "doctor" not in live.sockets:
                continue
            lines, results = list(live.lines), list(live.labs)
            try:
                draft = await asyncio.get_running_loop().run_in_executor(None, soap.draft, lines, results, live.sex)
            except Exception:
                log.exception("SOAP drafting failed for a consult")
                continue
            await self._tell(live, "doctor", "soap_draft", draft=draft.to_json())

    def _on_presence(self, consult_id: str, side: str, present: bool) -> None:
        live = self._live.get(consult_id)
        if live is not None:
            kind = "peer_joined" if present else "peer_left"
            asyncio.get_running_loop().create_task(self._tell(live, OTHER[side], kind, side=side))

    async def _on_empty(self, room: Room) -> None:
        """Both have left: close the room and release everything it held."""
        live = self._live.get(room.consult_id)
        if live is not None and not live.sockets:
            await self._end(room.consult_id)

    async def _end(self, consult_id: str) -> None:
        live = self._live.pop(consult_id, None)
        if live is None:
            return
        if self.owners is not None:
            await self.owners.release(consult_id)
        for tap in live.taps.values():
            await tap.stop()
        if live.draft_task is not None:
            live.draft_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await live.draft_task
        await live.room.close()

    async def close(self) -> None:
        """Server shutdown: tell everyone, then release every peer connection, tap and task."""
        for consult_id, live in list(self._live.items()):
            for side in list(live.sockets):
                await self._tell(live, side, "ended", reason="server restarting")
            await self._end(consult_id)
        await self._rooms.close_all()
        if self._transcriber is not None:
            await self._transcriber.aclose()
