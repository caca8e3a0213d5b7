"""A Room with real aiortc peers: two client peer connections on this machine join as doctor and patient.

aioice leaves 127.0.0.1 out of host candidates, so the peers meet on the machine's own non-loopback address
(no STUN: `iceServers=[]`). Each client sends a tone at its own frequency, so "the doctor hears the patient" is
checked by the frequency that arrives, not just by frames arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import re
import time
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack, VideoStreamTrack
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from av import AudioFrame, VideoFrame

from consult.quality import Quality
from consult.room import Room, RoomRegistry
from consult.signalling import Candidate, SignallingError
from consult.tracks import AUDIO_RATE, SwitchableTrack

DOCTOR_HZ, PATIENT_HZ, PATIENT2_HZ = 440.0, 880.0, 660.0


class Tone(AudioStreamTrack):
    """A sine at `hz`, 48 kHz mono, 20 ms frames paced in real time."""

    def __init__(self, hz: float) -> None:
        super().__init__()
        self.hz = hz
        self._sent = 0
        self._t0 = time.monotonic()

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        delay = self._t0 + self._sent / AUDIO_RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(960) + self._sent) / AUDIO_RATE
        samples = (np.sin(2 * np.pi * self.hz * t) * 8000).astype(np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        frame.pts = self._sent
        self._sent += 960
        return frame


class SmallVideo(VideoStreamTrack):
    """A 160x120 grey picture: real VP8 both ways at little CPU."""

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(np.full((120, 160, 3), 90, dtype=np.uint8), format="rgb24")
        frame.pts = pts
        frame.time_base = time_base
        return frame


def analyse(chunks: list[np.ndarray]) -> tuple[float, float]:
    """(RMS, dominant frequency in Hz) of 48 kHz mono samples."""
    samples = np.concatenate(chunks).astype(np.float64)
    if not samples.size:
        return 0.0, 0.0
    rms = float(np.sqrt(np.mean(samples**2)))
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return rms, float(np.argmax(spectrum) * AUDIO_RATE / samples.size)


class Client:
    """A participant's browser, played by an aiortc peer connection sending a tone (and a small video)."""

    def __init__(self, hz: float, *, video: bool = True) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTrack(Tone(hz))
        if video:
            self.pc.addTrack(SmallVideo())
        self.audio: list[np.ndarray] = []  # left channel of each received frame
        self.video_frames = 0
        self._readers: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._readers.append(asyncio.create_task(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, AudioFrame):
                    self.audio.append(frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0].copy())
                else:
                    self.video_frames += 1

    async def join(self, room: Room, side: str) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await room.accept_offer(side, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        return answer

    async def hears(self, hz: float | None, timeout: float = 8.0) -> tuple[float, float]:
        """Wait until the last 0.2 s received is a tone at `hz` (or silence for None); return (RMS, Hz)."""
        deadline = time.monotonic() + timeout
        rms, peak = 0.0, 0.0
        while time.monotonic() < deadline:
            recent = self.audio[-10:]
            if len(recent) == 10:
                rms, peak = analyse(recent)
                if (hz is None and rms < 50) or (hz is not None and rms > 1000 and abs(peak - hz) < 25):
                    return rms, peak
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {hz} Hz, last 0.2 s was {peak:.0f} Hz at RMS {rms:.0f}")

    async def close(self) -> None:
        await self.pc.close()
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


class Taps:
    """An `on_audio` hook standing in for the transcription tap: reads each track to its end."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.loudest: dict[str, float] = {}
        self.ended: list[str] = []

    async def __call__(self, side: str, track: MediaStreamTrack) -> None:
        self.calls.append(side)
        try:
            while True:
                frame = await track.recv()
                assert isinstance(frame, AudioFrame)
                rms, _ = analyse([frame.to_ndarray().ravel()])
                self.loudest[side] = max(self.loudest.get(side, 0.0), rms)
        except MediaStreamError:
            self.ended.append(side)


@pytest.fixture
async def no_leftover_tasks() -> AsyncIterator[None]:
    before = asyncio.all_tasks()
    yield
    for _ in range(50):  # aiortc's own shutdown tasks finish within a few loop turns
        leftover = [t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()]
        if not leftover:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"tasks still pending: {leftover}")


def pc_of(room: Room, side: str) -> RTCPeerConnection:
    pc = room.peer_connection(side)
    assert pc is not None
    return pc


@contextlib.contextmanager
def raises(code: str) -> Iterator[None]:
    with pytest.raises(SignallingError) as info:
        yield
    assert info.value.code == code, info.value
    assert info.value.message.endswith(".")


async def test_doctor_and_patient_hear_each_other_and_the_patient_rejoins(no_leftover_tasks: None) -> None:
    taps = Taps()
    presence: list[tuple[str, bool]] = []
    emptied: list[Room] = []
    room = Room(
        "c-1",
        ice_servers=[],
        on_audio=taps,
        on_presence=lambda side, present: presence.append((side, present)),
        on_empty=emptied.append,
    )
    doctor, patient = Client(DOCTOR_HZ), Client(PATIENT_HZ)
    patient2 = Client(PATIENT2_HZ, video=False)  # rejoins from a device without a camera
    pcs: list[RTCPeerConnection] = []
    try:
        answer = await doctor.join(room, "doctor")
        assert answer.count("a=sendrecv") == 2  # sendrecv from the start: nothing to renegotiate later
        pcs.append(pc_of(room, "doctor"))
        assert room.present == {"doctor"} and not room.empty
        await doctor.hears(None)  # alone in the room: real-time silence, not nothing
        await asyncio.sleep(0.3)
        # Nobody relays the doctor's video yet, but the room reads it anyway: decoded frames do not pile up.
        for receiver in pcs[0].getReceivers():
            assert isinstance(receiver.track, RemoteStreamTrack)
            assert receiver.track._queue.qsize() <= 3, receiver.track.kind

        await patient.join(room, "patient")
        pcs.append(pc_of(room, "patient"))
        assert room.present == {"doctor", "patient"}
        await doctor.hears(PATIENT_HZ)
        await patient.hears(DOCTOR_HZ)
        assert patient.video_frames > 0 and doctor.video_frames > 0

        # A trickled candidate (here: one the patient already put in its offer) and end-of-candidates are taken.
        found = re.search(r"a=(candidate:[^\r\n]+)", patient.pc.localDescription.sdp)
        assert found is not None
        await room.add_candidate("patient", Candidate(found.group(1), "0", 0))
        await room.add_candidate("patient", Candidate("", None, None))
        await room.add_candidate("patient", Candidate(found.group(1), "0", 0))  # after the end: ignored

        # A broken offer is refused clearly, and the call in progress carries on.
        with raises("bad_offer"):
            await room.accept_offer("patient", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio\r\n")
        with raises("bad_offer"):
            await room.accept_offer("patient", _strip_ice(patient.pc.localDescription.sdp))
        assert room.peer_connection("patient") is pcs[1]
        doctor.audio.clear()
        await doctor.hears(PATIENT_HZ)

        quality = await room.quality("patient")
        assert isinstance(quality, Quality)
        assert quality.jitter_ms is not None and quality.loss is not None and quality.loss < 0.5

        await patient.close()
        await room.leave("patient")
        assert room.present == {"doctor"}
        assert await room.quality("patient") is None
        await doctor.hears(None)  # the doctor's outgoing tracks fell back to filler by themselves

        await patient2.join(room, "patient")
        pcs.append(pc_of(room, "patient"))
        await doctor.hears(PATIENT2_HZ)
        await patient2.hears(DOCTOR_HZ)

        assert taps.calls == ["doctor", "patient", "patient"]
        assert taps.ended == ["patient"]  # the first patient's tap saw its track end
        assert min(taps.loudest.values()) > 1000  # the taps got the tones, not silence
        assert ("patient", False) in presence and presence[-1] == ("patient", True)

        await room.leave("patient")
        assert not emptied
        await room.leave("doctor")
        assert emptied == [room] and room.empty
        assert sorted(taps.ended) == ["doctor", "patient", "patient"]
    finally:
        await room.close()
        for client in (doctor, patient, patient2):
            await client.close()
    assert room.closed and all(pc.connectionState == "closed" for pc in pcs)
    with raises("room_closed"):
        await room.accept_offer("doctor", doctor.pc.localDescription.sdp)


async def test_a_dropped_patient_rejoins_with_a_new_offer_and_close_ends_everything(
    no_leftover_tasks: None,
) -> None:
    taps = Taps()
    room = Room("c-2", ice_servers=[], on_audio=taps)
    doctor, patient, again = Client(DOCTOR_HZ, video=False), Client(PATIENT_HZ), Client(PATIENT2_HZ)
    try:
        await doctor.join(room, "doctor")
        await patient.join(room, "patient")
        await doctor.hears(PATIENT_HZ)
        first = room.peer_connection("patient")
        # No leave: the patient's page reloaded and sent a fresh offer for the same side.
        await again.join(room, "patient")
        assert first is not None and first.connectionState == "closed"
        await doctor.hears(PATIENT2_HZ)
        await again.hears(DOCTOR_HZ)
        pcs = [room.peer_connection("doctor"), room.peer_connection("patient")]
    finally:
        await room.close()  # with both present: close() alone must end everything
        for client in (doctor, patient, again):
            await client.close()
    assert all(pc is not None and pc.connectionState == "closed" for pc in pcs)
    assert room.empty and sorted(taps.ended) == ["doctor", "patient", "patient"]


async def test_a_participant_who_never_connects_leaves_nothing_behind(no_leftover_tasks: None) -> None:
    taps = Taps()
    room = Room("c-4", ice_servers=[], on_audio=taps)
    client = Client(PATIENT_HZ)
    try:
        await client.pc.setLocalDescription(await client.pc.createOffer())
        await room.accept_offer("patient", client.pc.localDescription.sdp)  # the tab closes before the answer
        started = time.monotonic()
        await room.close()
        assert time.monotonic() - started < 1.0  # nothing was left waiting for the grace period
        assert taps.ended == ["patient"]
    finally:
        await client.close()


def _strip_ice(sdp: str) -> str:
    """A syntactically fine offer that aiortc refuses: no ICE credentials."""
    return "".join(line for line in sdp.splitlines(keepends=True) if not line.startswith("a=ice-"))


@pytest.mark.parametrize(
    "sdp",
    [
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\n",
    ],
)
async def test_offers_the_room_does_not_take(sdp: str) -> None:
    room = Room("c-3", ice_servers=[])
    with raises("bad_offer"):
        await room.accept_offer("doctor", sdp)
    assert room.empty
    with pytest.raises(ValueError, match="doctor side and a patient side"):
        await room.accept_offer("nurse", sdp)
    await room.close()


async def test_switchable_track_fills_gaps_and_keeps_time_moving_forward() -> None:
    track = SwitchableTrack("audio")
    started = time.monotonic()
    pts = []
    for _ in range(5):
        frame = await track.recv()
        pts.append(frame.pts)
        assert not frame.to_ndarray().any()  # silence
    assert time.monotonic() - started > 0.06  # paced in real time, not as fast as asked

    tone = Tone(DOCTOR_HZ)
    track.switch_to(tone)
    assert track.relaying
    for _ in range(5):
        frame = await track.recv()
        pts.append(frame.pts)
        assert frame.to_ndarray().any()
    tone.stop()  # the source ends (the other side left): back to silence without a gap in time
    frame = await track.recv()
    pts.append(frame.pts)
    assert not track.relaying and not frame.to_ndarray().any()
    assert pts == sorted(set(pts))

    video = SwitchableTrack("video")
    blank = await video.recv()
    assert (blank.width, blank.height) == (320, 240)
    track.stop()
    video.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_registry_keeps_one_room_per_consult_until_it_closes() -> None:
    registry = RoomRegistry(ice_servers=[])
    room = registry.get_or_create("c-9")
    assert registry.get_or_create("c-9") is room and registry.get("c-9") is room and len(registry) == 1
    await room.close()
    assert registry.get("c-9") is None and len(registry) == 0
    fresh = registry.get_or_create("c-9")
    assert fresh is not room
    other = registry.get_or_create("c-10")
    await registry.close_all()
    assert fresh.closed and other.closed and len(registry) == 0
