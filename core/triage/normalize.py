"""Token normalisation for the lexicon: lower case, contractions spelt out, a misspelling corrected when it is
one letter (two, for long words) away from exactly one lexicon word, then the Snowball stem. The lexicon's own
words go through the same function, so "vomitting", "vomited" and "vomits" all meet "vomiting".

The corrector only knows the lexicon's vocabulary, so it never guesses: words shorter than six letters, stop
words, real English words (pyspellchecker's English dictionary: "bilateral" is not "unilateral", "vesicles" not
"testicles", "consumed" not "confused") and ``KNOWN`` ordinary words are left alone, and a word close to two
different lexicon words is not changed.
A symmetric-delete index (as in SymSpell) keeps it to a few dictionary lookups per word."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]
from spacy.lang.en.stop_words import STOP_WORDS
from spellchecker import SpellChecker

from core.triage.lexicon import COMBOS, CONCEPTS, KNOWN

_STEM = snowballstemmer.stemmer("english")
_SPELLED = {
    "n't": "not", "nt": "not", "ca": "can", "wo": "will", "swollen": "swell",
    "bitten": "bite", "bit": "bite", "stung": "sting", "fell": "fall", "pian": "pain", "paining": "pain",
    "breathe": "breath", "tummy": "stomach", "belly": "stomach", "vomitting": "vomiting", "diarrea": "diarrhea",
    "feaver": "fever", "fevar": "fever", "hedache": "headache", "headach": "headache", "breth": "breath",
    "stomch": "stomach",
    "chst": "chest",
    "brething": "breathing", "sweling": "swelling", "vomting": "vomiting", "fevr": "fever",
}  # fmt: skip
_WORD = re.compile(r"[a-z]+")
_SIDES = {"R": "right", "L": "left", "Rt": "right", "Lt": "left"}
_LITERAL = {
    "fits",
    "fitting",
    "boiling",
    "boiled",
    "spotting",
}  # "he had fits" is a seizure, "I feel fit" is not; "boiling water" is no boil; purple "spots" are no "spotting"


def _vocabulary() -> set[str]:
    phrases: Iterable[str] = (p for words in CONCEPTS.values() for p in words)
    combo_words = (w for combos in COMBOS.values() for combo in combos for group in combo for w in group)
    words = {w for p in phrases for w in _WORD.findall(p.lower())} | {w.lower() for w in combo_words}
    return {w for w in words if w.isascii() and w.isalpha()}


def _deletes(word: str, depth: int) -> Iterator[str]:
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        yield from frontier


def _distance(a: str, b: str) -> int:
    """Damerau–Levenshtein (optimal string alignment): a swapped pair of letters is one edit."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


class _Corrector:
    def __init__(self, vocabulary: set[str]) -> None:
        self.vocabulary = vocabulary
        _english()  # loaded with the pipeline, not on the first request that needs it
        self.index: dict[str, set[str]] = {}
        for word in vocabulary:
            if len(word) >= 6:
                for d in {word, *_deletes(word, 2 if len(word) >= 8 else 1)}:
                    self.index.setdefault(d, set()).add(word)

    def __call__(self, word: str) -> str:
        if not 6 <= len(word) <= 20 or word in self.vocabulary or word in STOP_WORDS or word in KNOWN or (
                word in _english()):  # fmt: skip
            return word
        allowed = 2 if len(word) >= 8 else 1
        candidates = {c for d in {word, *_deletes(word, allowed)} for c in self.index.get(d, ())}
        scored = sorted((_distance(word, c), c) for c in candidates)
        scored = [(d, c) for d, c in scored if d <= allowed]
        if not scored or (
            len(scored) > 1 and scored[1][0] == scored[0][0] and _stem(scored[1][1]) != _stem(scored[0][1])
        ):
            return word
        return scored[0][1]


@lru_cache(maxsize=1)
def _english() -> SpellChecker:
    return SpellChecker(language="en")


@lru_cache(maxsize=1)
def _corrector() -> _Corrector:
    return _Corrector(_vocabulary())


def _stem(word: str) -> str:
    return str(_STEM.stemWord(word))


# Hindi inflects by suffix ("अकड़" stiff, "अकड़ी", "अकड़ा"; "गोली", "गोलियाँ"): a light stemmer strips the
# commonest ones, longest first, as in Ramanathan & Rao's lightweight Hindi stemmer, keeping at least two letters.
_HINDI_SUFFIXES = sorted(
    ("ियाँ", "ियां", "ियों", "ाएँ", "ाएं", "ाओं", "ाने", "ाना", "ाती", "ाते", "ाता", "ें", "ों", "ी", "ा", "े", "ो",
     "ि", "ु", "ू", "ं", "ँ"),
    key=len,
    reverse=True,
)  # fmt: skip


# Marathi's genitive ("of"), the one case ending common in symptom messages that Hindi's suffixes above miss.
_MARATHI_GENITIVE = ("ाच्या", "ाची", "ाचा", "ाचे", "च्या")


def _hindi_stem(word: str) -> str:
    # no nukta, and the candrabindu written as the anusvara ("दाँत" and "दांत" are one word)
    word = unicodedata.normalize(
        "NFC", unicodedata.normalize("NFD", word).replace("\u093c", "").replace("\u0901", "\u0902")
    )
    if len(word) > 4 and word[-1] == "च" and word[-2] != "\u094d":
        word = word[:-1]  # Marathi's emphatic "च" ("श्वासच घेता येत नाही": breath *at all*) is the word itself
    for suffix in _MARATHI_GENITIVE:  # "कीटकनाशकाची बाटली": the pesticide's bottle
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if len(word) > 2 and word[-1] == "\u0902" and "\u093e" <= word[-2] <= "\u094c":
        word = word[:-1]  # a nasal ending is often left off: "नही" and "नहीं", "हैं" and "है" meet
    for suffix in _HINDI_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=8192)
def norm(token: str) -> str:
    """The form a token is matched on."""
    if token in _SIDES:
        return _SIDES[token]  # notes write "R iliac fossa", "L calf"
    word = _SPELLED.get(token.lower(), token.lower())
    if word in _LITERAL:
        return word
    if not (word.isascii() and word.isalpha()):
        word = _SPELLED.get(word, word)
        return _hindi_stem(word) if any("\u0900" <= ch <= "\u097f" for ch in word) else word
    corrected = _corrector()(word)
    word = _SPELLED.get(corrected, corrected)
    return _stem(word)
