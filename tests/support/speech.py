"""Spoken test consultations: a script of (speaker, sentence) lines rendered to 16 kHz mono 16-bit WAV files with
espeak-ng then sox (installed by apt; nothing is downloaded). Real audio, so the voice-activity detector and
Whisper are tested on speech, not on tones.

One WAV per speaker (the other speaker's turns are silence, as each WebRTC track carries one voice) and a
combined one, all the same length, plus where each line's speech actually starts and ends in that timeline:
the ground truth for utterance counts, speaker attribution, times and speech-to-screen latency.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16_000
# Two distinguishable espeak-ng voices (the "+f3" variant is a female voice on the same American English rules).
VOICES = {"doctor": "en-us", "patient": "en-us+f3"}
LEAD_IN_S = 0.5  # silence before the first line
TURN_GAP_S = 1.0  # silence between lines: longer than the cutter's end-of-utterance silence (0.6 s)
_LOUD = 200  # |sample| above this is speech when finding where espeak's own leading/trailing silence ends


@dataclass(frozen=True)
class SpokenLine:
    speaker: str
    text: str
    start: float  # seconds in the rendered timeline where the speech starts
    end: float  # and where it ends (espeak's trailing silence excluded)


@dataclass(frozen=True)
class Rendered:
    combined: Path
    per_speaker: dict[str, Path]
    lines: list[SpokenLine]
    duration: float


def load_script(path: Path) -> list[tuple[str, str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(line["speaker"], line["text"]) for line in data["lines"]]


def have_tools() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def read_wav(path: Path) -> np.ndarray:
    """16-bit mono WAV to int16 samples."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype(np.int16).tobytes())


def speak(text: str, voice: str, workdir: Path, name: str) -> np.ndarray:
    """One sentence through espeak-ng (-s 160 words per minute) and sox (to 16 kHz mono 16-bit), trimmed to its
    speech."""
    txt, raw, out = workdir / f"{name}.txt", workdir / f"{name}.raw.wav", workdir / f"{name}.wav"
    txt.write_text(text, encoding="utf-8")
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-f", str(txt), "-w", str(raw)], check=True)
    subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out)], check=True)
    samples = read_wav(out)
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > _LOUD)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples[:0]


def render(
    script: list[tuple[str, str]], outdir: Path, gap_s: float = TURN_GAP_S, voices: dict[str, str] | None = None
) -> Rendered:
    """Speak the script into ``outdir``: combined.wav and <speaker>.wav, all the same length."""
    outdir.mkdir(parents=True, exist_ok=True)
    parts = [
        (speaker, text, speak(text, (voices or VOICES)[speaker], outdir, f"line{i:02d}"))
        for i, (speaker, text) in enumerate(script)
    ]
    gap = int(gap_s * RATE)
    cursor = int(LEAD_IN_S * RATE)
    placed: list[tuple[str, str, int, np.ndarray]] = []
    for speaker, text, samples in parts:
        placed.append((speaker, text, cursor, samples))
        cursor += samples.size + gap
    total = cursor - gap + int(LEAD_IN_S * RATE)
    combined = np.zeros(total, dtype=np.int16)
    tracks = {speaker: np.zeros(total, dtype=np.int16) for speaker in VOICES}
    lines = []
    for speaker, text, at, samples in placed:
        combined[at : at + samples.size] = samples
        tracks[speaker][at : at + samples.size] = samples
        lines.append(SpokenLine(speaker, text, at / RATE, (at + samples.size) / RATE))
    write_wav(outdir / "combined.wav", combined)
    per_speaker = {}
    for speaker, samples in tracks.items():
        write_wav(outdir / f"{speaker}.wav", samples)
        per_speaker[speaker] = outdir / f"{speaker}.wav"
    return Rendered(outdir / "combined.wav", per_speaker, lines, total / RATE)


_ONES = (
    "zero one two three four five six seven eight nine ten "
    "eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """0-999999 as spoken, without "and" ("101" -> "one hundred one"), so digits and spelled-out numbers meet."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_words(n % 100))
    if n < 1_000_000:
        return number_words(n // 1000) + " thousand" + ("" if n % 1000 == 0 else " " + number_words(n % 1000))
    return " ".join(_ONES[int(d)] for d in str(n))


def normalise(text: str) -> str:
    """Lower case, punctuation stripped, numbers as spoken ("NS1" -> "ns one", "4" -> "four"), the "and" inside a
    spoken number dropped, hyphens as spaces, whitespace collapsed: how a transcript is compared with its script."""
    text = text.lower().replace("-", " ").replace("%", " percent")
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text)  # "ns1" -> "ns 1"
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # "1,000" -> "1000"
    text = re.sub(r"\d+", lambda m: " " + number_words(int(m.group())) + " ", text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text).replace("'", "")
    text = re.sub(r"\b(hundred|thousand) and\b", r"\1", text)
    return " ".join(text.split())
