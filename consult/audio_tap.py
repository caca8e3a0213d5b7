"""Listen to one participant's WebRTC audio track and turn it into transcript lines attributed to them.

The relay holds each participant's track separately, so who said a line is known from the track, not guessed
from the voice. Two tasks per track: a reader (frames -> 16 kHz mono -> utterance cutter) that never waits for
Whisper, so frames never pile up behind a transcription, and a writer that transcribes utterances in order and
calls back with each `Line`. Both end when the track ends (`MediaStreamError`) after the last utterance is
written, or at once on `stop()`, which awaits them: no task outlives the tap.

Time in a line is the track's own time (seconds from its first frame, from the frames' pts), not wall-clock:
when frames stop coming (a muted microphone, Opus DTX, a stalled network) the speech in progress is cut after
`idle_flush_s` instead of waiting for more audio, and a gap in pts is accounted as silence when frames resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from fractions import Fraction
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from consult.transcribe import CONTEXT_LINES, Line, Speaker, Transcriber
from consult.vad import RATE, Utterance, UtteranceCutter

log = logging.getLogger("labpulse.consult")

LineCallback = Callable[[Line], Awaitable[None]]

_MAX_FILLED_GAP_S = 2.0  # a longer gap in pts is skipped over (the clock moves, no silence is scanned)


class AudioTap:
    """Transcribe `track` as `speaker`, awaiting `on_line(line)` for each non-empty line, in order."""

    def __init__(
        self,
        track: MediaStreamTrack,
        speaker: Speaker,
        on_line: LineCallback,
        transcriber: Transcriber,
        *,
        cutter: UtteranceCutter | None = None,
        idle_flush_s: float = 0.7,
        gate: Callable[[], bool] | None = None,
    ) -> None:
        if track.kind != "audio":
            raise ValueError(f"an audio track is needed, got {track.kind}")
        self.track = track
        self.speaker = speaker
        self._on_line = on_line
        self._transcriber = transcriber
        self._cutter = cutter or UtteranceCutter()
        self._idle = idle_flush_s
        self._gate = gate  # consent: an utterance is transcribed only while this says yes; otherwise it is dropped
        self._utterances: asyncio.Queue[Utterance | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._recent: list[str] = []  # this speaker's last lines: the context of the next (consult.transcribe)

    def start(self) -> AudioTap:
        if self._tasks:
            raise RuntimeError("the tap is already started")
        self._tasks = [
            asyncio.create_task(self._read(), name=f"audio-tap-read-{self.speaker}"),
            asyncio.create_task(self._write(), name=f"audio-tap-write-{self.speaker}"),
        ]
        return self

    async def wait(self) -> None:
        """Until the track has ended and its last line is written (re-raises what went wrong in either task)."""
        try:
            await asyncio.gather(*self._tasks)
        finally:
            if not all(task.done() for task in self._tasks):  # one failed (or we were cancelled): end the other
                await self.stop()

    async def stop(self) -> None:
        """Stop now, dropping untranscribed audio, and wait until both tasks are gone."""
        for task in self._tasks:
            task.cancel()
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.warning("audio tap for %s failed: %r", self.speaker, result)

    async def __aenter__(self) -> AudioTap:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _read(self) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        recv: asyncio.Future[Any] | None = None
        first_pts: Fraction | None = None
        fed = 0  # samples given to the cutter, to find gaps in pts
        try:
            while True:
                if recv is None:
                    recv = asyncio.ensure_future(self.track.recv())
                done, _ = await asyncio.wait({recv}, timeout=self._idle)
                if not done:  # no audio for a while: whoever was speaking has stopped
                    self._queue(self._cutter.flush())
                    continue
                frame, recv = recv.result(), None
                if not isinstance(frame, av.AudioFrame):
                    continue
                if frame.pts is not None and frame.time_base is not None:
                    at = frame.pts * frame.time_base
                    first_pts = at if first_pts is None else first_pts
                    fed = self._fill_gap(float(at - first_pts), fed)
                for out in resampler.resample(frame):
                    pcm = out.to_ndarray().reshape(-1)
                    fed += pcm.size
                    self._queue(self._cutter.feed(pcm))
        except MediaStreamError:
            for out in resampler.resample(None):
                self._queue(self._cutter.feed(out.to_ndarray().reshape(-1)))
            self._queue(self._cutter.flush())
        finally:
            if recv is not None:
                recv.cancel()
                with contextlib.suppress(asyncio.CancelledError, MediaStreamError):
                    await recv
            self._utterances.put_nowait(None)

    def _fill_gap(self, at_s: float, fed: int) -> int:
        """Frames missing before this one (pts ahead of what we fed) count as silence."""
        missing = int(at_s * RATE) - fed
        if missing < RATE // 50:  # less than one 20 ms frame: resampler delay, rounding
            return fed
        if missing <= _MAX_FILLED_GAP_S * RATE:
            self._queue(self._cutter.feed(np.zeros(missing, dtype=np.int16)))
        else:
            self._queue(self._cutter.advance(missing))
        return fed + missing

    def _queue(self, utterances: list[Utterance]) -> None:
        for utterance in utterances:
            self._utterances.put_nowait(utterance)

    async def _write(self) -> None:
        while (utterance := await self._utterances.get()) is not None:
            if self._gate is not None and not self._gate():
                continue  # no consent now: the audio is never transcribed, kept or sent anywhere
            text = await self._transcriber.transcribe(utterance.samples, " ".join(self._recent))
            if text:
                self._recent = [*self._recent, text][-CONTEXT_LINES:]
                await self._on_line(Line(self.speaker, round(utterance.start, 2), round(utterance.end, 2), text))
