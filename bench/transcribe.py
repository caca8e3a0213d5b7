"""Live teleconsult transcription on a spoken script (espeak-ng + sox, tests/support/speech.py): real-time factor,
word error rate and speech-to-screen latency, with the real Whisper weights (bundled tiny.en by default).

    .venv/bin/python bench/transcribe.py [--script tests/data/consult/fever_consult.json] [--beam 5] [--threads 2]
                                         [--model DIR]
                                         [--compute int8] [--skip-live] [--prompt] [--full-window]

1. Offline: each speaker's track is cut by the streaming VAD (fed 20 ms at a time) and every utterance is
   transcribed one after the other, with the speaker's recent lines as context (as live). Then the baseline:
   the same model run plainly over each speaker's whole file with beam 5. Real-time factor = transcription wall
   time / audio duration (the whole recording, silences included; per second of speech too), and CPU seconds
   per audio second. WER against the script with jiwer after normalisation (lower case, punctuation stripped,
   numbers as spoken).
2. Live: each speaker's WAV is played by aiortc's MediaPlayer, which paces 20 ms frames of 48 kHz stereo at real
   time on the wall clock (as a remote track delivers them), into one AudioTap per speaker sharing one
   Transcriber. Latency = wall time the line is emitted - wall time at which the line's last spoken sample was
   delivered (the stream's time zero is taken from the first frame's pts as it arrives).

--prompt: Whisper is given consult.transcribe.CLINICAL_PROMPT (general clinical vocabulary) before each utterance.
--full-window: the 30 s encoder window faster-whisper always uses, instead of one fitted to the utterance.

The machine's load average is printed: on a shared 2-core machine, other work inflates every figure here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import jiwer
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamTrack
from common import ROOT, pct

from consult.audio_tap import AudioTap
from consult.transcribe import CLINICAL_PROMPT, CONTEXT_LINES, Line, Transcriber
from consult.vad import RATE, UtteranceCutter

sys.path.insert(0, str(ROOT))  # tests.support.speech: the same spoken script as the tests
from tests.support.speech import SpokenLine, load_script, normalise, read_wav, render


class Clocked(MediaStreamTrack):
    """Passes a track's frames through, noting the wall-clock time of the stream's time zero."""

    kind = "audio"

    def __init__(self, inner: MediaStreamTrack) -> None:
        super().__init__()
        self.inner = inner
        self.zero: float | None = None

    async def recv(self) -> Any:
        frame = await self.inner.recv()
        if self.zero is None and frame.pts is not None and frame.time_base is not None:
            self.zero = time.perf_counter() - float(frame.pts * Fraction(frame.time_base))
        return frame


def match(line: Line, spoken: list[SpokenLine]) -> SpokenLine:
    return min((s for s in spoken if s.speaker == line.speaker), key=lambda s: abs(s.end - line.ended_at))


def offline(
    transcriber: Transcriber, spoken: list[SpokenLine], per_speaker: dict[str, Path], duration: float, context: bool
) -> None:
    """Each speaker's track cut by the streaming VAD (fed 20 ms at a time) and transcribed one utterance after the
    other with that speaker's recent lines as context, as the live path does, but as fast as the CPU allows."""
    cut: list[tuple[str, Any]] = []
    t = time.perf_counter()
    for speaker, path in per_speaker.items():
        samples, cutter = read_wav(path), UtteranceCutter()
        for i in range(0, samples.size, RATE // 50):
            cut += [(speaker, u) for u in cutter.feed(samples[i : i + RATE // 50])]
        cut += [(speaker, u) for u in cutter.flush()]
    vad_s = time.perf_counter() - t
    transcriber.transcribe_sync(cut[0][1].samples)  # warm up
    full_before = transcriber.full_windows
    lines: list[tuple[float, str, str]] = []
    recent: dict[str, list[str]] = {speaker: [] for speaker in per_speaker}
    wall = cpu = 0.0
    for speaker, u in sorted(cut, key=lambda c: c[1].start):
        t, c = time.perf_counter(), time.process_time()
        text = transcriber.transcribe_sync(u.samples, " ".join(recent[speaker]) if context else "")
        wall += time.perf_counter() - t
        cpu += time.process_time() - c
        if text:
            recent[speaker] = [*recent[speaker], text][-CONTEXT_LINES:]
            lines.append((u.start, speaker, text))
    speech = sum(u.duration for _, u in cut)
    ref = " ".join(normalise(s.text) for s in spoken)
    hyp = " ".join(normalise(x) for _, _, x in sorted(lines))
    out = jiwer.process_words(ref, hyp)
    print(f"offline: {len(cut)} utterances for {len(spoken)} script lines, {duration:.1f} s audio "
          f"({speech:.1f} s speech); VAD {vad_s:.2f} s ({vad_s / duration * 100:.1f} % of real time)")  # fmt: skip
    print(f"  RTF {wall / duration:.3f} (wall {wall:.2f} s / {duration:.1f} s audio, both speakers), "
          f"{wall / speech:.3f} per s of speech; CPU {cpu / duration:.3f} s per audio s")  # fmt: skip
    print(f"  {transcriber.full_windows - full_before} of {len(cut)} utterances on the 30 s window")
    print(f"  WER {out.wer:.1%} ({out.substitutions} sub, {out.deletions} del, {out.insertions} ins / "
          f"{len(ref.split())} words)")  # fmt: skip
    for _, speaker, x in sorted(lines):
        print(f"    {speaker:7} {x}")


def plain(transcriber: Transcriber, spoken: list[SpokenLine], per_speaker: dict[str, Path], beam: int) -> None:
    """The baseline the live path is held to: the same model run plainly over each speaker's whole file
    (faster-whisper's own 30 s windows, conditioned on the previous text, beam `beam`)."""
    model = transcriber._model  # the same loaded weights, run the standard way
    lines: list[tuple[float, str]] = []
    t = time.perf_counter()
    for path in per_speaker.values():
        segments, _ = model.transcribe(read_wav(path).astype("float32") / 32768, language="en", beam_size=beam)
        lines += [(seg.start, seg.text) for seg in segments]
    wall = time.perf_counter() - t
    ref = " ".join(normalise(s.text) for s in spoken)
    hyp = " ".join(normalise(x) for _, x in sorted(lines))
    out = jiwer.process_words(ref, hyp)
    print(f"plain (each speaker's whole file, beam {beam}): WER {out.wer:.1%} ({out.substitutions} sub, "
          f"{out.deletions} del, {out.insertions} ins); {wall:.1f} s")  # fmt: skip


async def live(transcriber: Transcriber, rendered_paths: dict[str, Path], spoken: list[SpokenLine]) -> None:
    emitted: list[tuple[float, Line]] = []

    async def on_line(line: Line) -> None:
        emitted.append((time.perf_counter(), line))

    players = {speaker: MediaPlayer(str(path)) for speaker, path in rendered_paths.items()}
    tracks = {speaker: Clocked(p.audio) for speaker, p in players.items()}  # type: ignore[arg-type]
    taps = [AudioTap(track, speaker, on_line, transcriber).start() for speaker, track in tracks.items()]  # type: ignore[arg-type]
    await asyncio.gather(*(tap.wait() for tap in taps))
    latencies = []
    for at, line in emitted:
        zero = tracks[line.speaker].zero
        assert zero is not None
        latencies.append(at - (zero + match(line, spoken).end))
    ref = " ".join(normalise(s.text) for s in spoken)
    hyp = " ".join(normalise(line.text) for _, line in sorted(emitted, key=lambda e: e[1].started_at))
    print(f"live (real-time paced MediaPlayer tracks, {len(tracks)} taps, one Transcriber): {len(emitted)} lines")
    print(f"  speech-to-screen latency p50 {pct(latencies, 50):.2f} s  p95 {pct(latencies, 95):.2f} s  "
          f"max {max(latencies):.2f} s (of which 0.6 s is the end-of-utterance silence)")  # fmt: skip
    print(f"  WER {jiwer.wer(ref, hyp):.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--script", default=str(ROOT / "tests" / "data" / "consult" / "fever_consult.json"))
    ap.add_argument("--model", type=Path, help="a CTranslate2 Whisper model directory (default: the bundled tiny.en)")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compute", default="int8")
    ap.add_argument("--skip-live", action="store_true")
    ap.add_argument("--prompt", action="store_true", help="initial prompt: general clinical vocabulary")
    ap.add_argument("--full-window", action="store_true", help="always encode Whisper's 30 s window")
    ap.add_argument(
        "--no-context", action="store_true", help="offline: each utterance without its speaker's last lines"
    )
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        rendered = render(load_script(Path(args.script)), Path(tmp))
        t = time.perf_counter()
        transcriber = Transcriber(
            args.model,
            threads=args.threads,
            compute_type=args.compute,
            beam_size=args.beam,
            initial_prompt=CLINICAL_PROMPT if args.prompt else None,
            short_window=not args.full_window,
        )
        print(f"model {transcriber.model_path} ({args.compute}, {args.threads} threads, beam {args.beam}, "
              f"{'30 s' if args.full_window else 'fitted'} window, prompt {'on' if args.prompt else 'off'}) "
              f"loaded in {time.perf_counter() - t:.2f} s")  # fmt: skip
        offline(transcriber, rendered.lines, rendered.per_speaker, rendered.duration, not args.no_context)
        plain(transcriber, rendered.lines, rendered.per_speaker, 5)
        if not args.skip_live:
            asyncio.run(live(transcriber, rendered.per_speaker, rendered.lines))
        asyncio.run(transcriber.aclose())
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
