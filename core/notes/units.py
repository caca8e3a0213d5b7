"""Sentence units of a cleaned turn. Punctuation splits first; what is left longer than a sentence usually is
(speech recognisers and some transcripts give none: one subset of ACI-BENCH is 600-word turns without a full
stop) is split where a fitted boundary model (core/notes/models/boundary.json, from punctuated dialogue) puts a
sentence end, reading the words around each gap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.notes import linear, rewrite

Speaker = Literal["doctor", "patient"]

# A unit this long is split by the model: a turn without sentence punctuation, or a punctuated one so long that
# its punctuation cannot be trusted.
LONG = 14
LONG_PUNCTUATED = 40
# The boundary model's probability of a sentence end above which a long stretch is cut (sentence ends are one gap
# in twelve, so the model is shy of them; an overlong unit costs the draft more than a cut one).
CUT_AT = 0.3


def words_of(text: str) -> list[str]:
    """A cleaned sentence's words as the boundary model reads them: no commas or end marks."""
    return [w for w in (t.strip(',.?!;:"()') for t in text.split()) if w]


def _bucket(n: int) -> str:
    return str(n) if n <= 3 else "4-6" if n <= 6 else "7-10" if n <= 10 else "11-15" if n <= 15 else "16+"


def gap_features(words: list[str], i: int, since: int) -> list[str]:
    """What the model reads at the gap after ``words[i]``: the words either side, their pairs, and how many
    words the sentence has so far."""

    def at(k: int) -> str:
        return words[k] if 0 <= k < len(words) else "<end>" if k >= len(words) else "<start>"

    a0, a1, b0, b1 = at(i), at(i - 1), at(i + 1), at(i + 2)
    return [
        f"a={a0}", f"a1={a1}", f"b={b0}", f"b1={b1}", f"a1a={a1}_{a0}", f"ab={a0}_{b0}", f"bb={b0}_{b1}",
        f"since={_bucket(since)}", f"left={_bucket(len(words) - i - 1)}",
    ]  # fmt: skip


def split_long(sentence: str, longest: int = LONG) -> list[str]:
    """One sentence, or the sentences the boundary model finds in it when it is longer than ``longest`` words."""
    tokens = sentence.split()
    if len(tokens) <= longest:
        return [sentence]
    model = linear.load("boundary")
    words = [t.strip(',.?!;:"()') or t for t in tokens]
    out: list[str] = []
    start = 0
    for i in range(len(tokens) - 1):
        since = i - start + 1
        if since < 3 or len(tokens) - i - 1 < 3:
            continue
        if model.probabilities(gap_features(words, i, since))["end"] > CUT_AT:
            out.append(" ".join(tokens[start : i + 1]).rstrip(","))
            start = i + 1
    out.append(" ".join(tokens[start:]))
    return [s for s in out if s]


def units(cleaned: str) -> list[str]:
    """A cleaned turn (core.notes.rewrite.clean) as sentence units: split at its punctuation, the long parts
    split by the model, each without the words that open a sentence and say nothing."""
    parts = rewrite.punctuated(cleaned)
    longest = LONG_PUNCTUATED if len(parts) > 1 or cleaned.endswith((".", "?", "!")) else LONG
    out: list[str] = []
    for part in parts:
        out.extend(t for t in map(rewrite.trimmed, split_long(part, longest)) if t)
    return out


@dataclass(frozen=True, slots=True)
class Unit:
    """A sentence unit of the transcript, cleaned (core.notes.rewrite.clean) and split (core.notes.units)."""

    line: int
    speaker: Speaker
    text: str
