"""What the relay sends a participant: a `SwitchableTrack` per kind that relays the other side's frames while
there are any, and filler (silence, a black picture) paced in real time while not, so a connection never needs
renegotiating when the other side joins, drops or rejoins."""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction
from typing import Final

from aiortc.mediastreams import VIDEO_TIME_BASE, MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

AUDIO_RATE: Final = 48_000  # what aiortc's Opus decoder hands us, so filler silence matches relayed audio exactly
AUDIO_SAMPLES: Final = 960  # 20 ms
AUDIO_GAP_S: Final = 0.1  # relayed audio this far behind the wall clock is a gap (a stall), not network jitter
BLANK_SIZE: Final = (320, 240)
BLANK_FPS: Final = 5  # a picture that never changes needs few frames, and each one costs a VP8 encode


class SwitchableTrack(MediaStreamTrack):
    """An outgoing track that relays `source` while there is one, and filler (silence, a black picture) when not.

    Frames leave with our own timestamps: a rejoining participant's track starts again at 0, and a receiver
    would take a jump back in RTP time for stale packets. Audio keeps a sample count that jumps ahead to the wall
    clock after a stall; video is stamped from the wall clock. Relayed audio frames are copied before being
    re-stamped (the transcription tap reads the same frame objects); video frames are re-stamped in place, since
    this track is the only reader of relayed video.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind not in ("audio", "video"):
            raise ValueError(f"no switchable track for {kind!r}")
        self.kind = kind
        self._source: MediaStreamTrack | None = None
        self.origin: MediaStreamTrack | None = None  # the incoming track `_source` subscribes to
        self._start = time.monotonic()  # the clock of our timestamps (the first frames jump ahead to "now")
        self._samples = 0  # audio: 48 kHz samples sent so far
        self._video_pts = -1
        self._next_blank = 0.0

    @property
    def relaying(self) -> bool:
        return self._source is not None

    def switch_to(self, source: MediaStreamTrack, origin: MediaStreamTrack | None = None) -> None:
        """Relay `source` from the next frame. The previous source is not stopped here: a `recv` may be waiting
        on it, and a stopped relay subscription never wakes up; it ends with its track, or is stopped below."""
        self._source = source
        self.origin = origin

    def stop(self) -> None:
        if self._source is not None:
            self._source.stop()
            self._source = None
            self.origin = None
        super().stop()

    async def recv(self) -> AudioFrame | VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        while (source := self._source) is not None:
            try:
                frame = await source.recv()
            except MediaStreamError:  # the other side left: back to filler
                if self._source is source:
                    self._source = None
                    self.origin = None
                continue
            if self._source is not source:  # switched while we waited: this frame is from the old source
                source.stop()
                continue
            if isinstance(frame, AudioFrame) and self.kind == "audio":
                return self._stamp_audio(frame)
            if isinstance(frame, VideoFrame) and self.kind == "video":
                return self._stamp_video(frame)
        if self.readyState != "live":
            raise MediaStreamError
        return await (self._silence() if self.kind == "audio" else self._blank())

    def _elapsed(self) -> float:
        return time.monotonic() - self._start

    def _catch_up(self) -> None:
        wall = int(self._elapsed() * AUDIO_RATE)
        if wall - self._samples > AUDIO_GAP_S * AUDIO_RATE:
            self._samples = wall

    def _stamp_audio(self, frame: AudioFrame) -> AudioFrame:
        self._catch_up()
        rate = frame.sample_rate
        out = AudioFrame.from_ndarray(frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name)
        out.sample_rate = rate
        out.time_base = Fraction(1, rate)
        out.pts = self._samples * rate // AUDIO_RATE
        self._samples += frame.samples * AUDIO_RATE // rate
        return out

    def _stamp_video(self, frame: VideoFrame) -> VideoFrame:
        self._video_pts = max(self._video_pts + 1, int(self._elapsed() * 90_000))
        frame.pts = self._video_pts
        frame.time_base = VIDEO_TIME_BASE
        return frame

    async def _silence(self) -> AudioFrame:
        self._catch_up()
        await _sleep_until(self._samples / AUDIO_RATE - self._elapsed())
        frame = AudioFrame(format="s16", layout="stereo", samples=AUDIO_SAMPLES)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = AUDIO_RATE
        frame.time_base = Fraction(1, AUDIO_RATE)
        frame.pts = self._samples
        self._samples += AUDIO_SAMPLES
        return frame

    async def _blank(self) -> VideoFrame:
        if self._next_blank < self._elapsed() - 1:  # after relaying: restart the filler clock now
            self._next_blank = self._elapsed()
        await _sleep_until(self._next_blank - self._elapsed())
        self._next_blank += 1 / BLANK_FPS
        frame = VideoFrame(width=BLANK_SIZE[0], height=BLANK_SIZE[1], format="yuv420p")
        for plane, level in zip(frame.planes, (16, 128, 128), strict=True):  # video black: Y 16, U = V = 128
            plane.update(bytes([level]) * plane.buffer_size)
        return self._stamp_video(frame)


async def _sleep_until(delay: float) -> None:
    if delay > 0:
        await asyncio.sleep(delay)
