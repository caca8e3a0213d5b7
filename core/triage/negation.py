"""Which findings a text says are absent, and which belong to the past: NegEx's trigger words (negspacy's clinical
English termset, with ours in Hindi and lay English) read with a scope that follows lists, as clinicians write
them ("denies fever, chills, nausea or vomiting", "no A, B, or C", "na bukhar hai na khansi", "bukhar, khansi ya
ulti nahi"), and ConText's historical triggers ("past history of", "previous", "family history of").

A negation stretched too far hides a real symptom, which is the dangerous error, so the scope is narrow wherever
the words are ambiguous:

- before the first finding, at most five words (classic NegEx), never across a comma, a full stop or a clause word
  ("but", "has", "now" …);
- after a finding, the list goes on only through a separator: a comma, "or", "nor", "/", and "and" only inside a
  list that already had a comma ("A, B and C": "no fever and chest pain" keeps the chest pain);
- an item reached through a bare comma must itself end at a separator or the sentence's end ("no fever, chest is
  paining since morning" keeps the chest pain), unless "or"/"and" marks it as the list's last;
- a trigger inside a finding is part of it ("can't breathe" is breathlessness, and negates nothing after it);
- "went away", "resolved", "settled" after a red flag do not undo it: a chest pain or a weakness that came and went
  still counts (a TIA is an emergency too).

This module owns the scope; the trigger words live in the lexicon."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from negspacy.termsets import termset
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from core.triage.lexicon import (
    HISTORY_BEFORE,
    LAY_TRIGGERS,
    NEGATIONS_AFTER,
    NEGATIONS_BEFORE,
    PSEUDO_NEGATIONS,
    RED_FLAGS,
    RESOLVED_AFTER,
    STILL_COUNTS_WHEN_RESOLVED,
)

WINDOW = 5  # words a trigger may stand before the first finding it negates (classic NegEx)
GAP = 4  # words an item of a list may take ("or *any* vomiting", "numbness *in the saddle area*", "worst HA of life")
SEPARATORS = {",", "or", "nor", "/", "ya", "या", "and", "aur", "और", "&"}
_AND = {"and", "aur", "और", "&"}
# An item that is a statement ("chest hurts", "head is paining") starts a new sentence, not a list's next item.
_VERBS = {"hurts", "hurt", "hurting", "paining", "pains", "aching", "aches", "feels", "feel", "is", "are", "was",
          "has", "have", "started", "hai", "ho", "raha", "rahi", "है", "हो"}  # fmt: skip
_PERSONAL = {"my", "his", "her", "their", "our", "i", "he", "she", "it", "we", "they", "you", "mujhe", "meri", "mera",
             "mere", "उसे", "मुझे", "मेरी", "मेरा"}  # fmt: skip
_FINAL = {"or", "nor", "ya", "या", *_AND}
_SENTENCE_END = {".", ";", ":", "?", "!", "।", "\n"}
# Words that start a new clause: a negation does not reach past them.
CLAUSE = {
    "but", "however", "although", "though", "except", "apart", "aside", "yet", "which", "who", "that", "because",
    "while", "whereas", "still", "now", "then", "also", "plus", "just", "only", "has", "have", "had", "is", "are",
    "was", "were", "reports", "reported", "complains", "presents", "presented", "developed", "noticed", "feels",
    "started", "with", "lekin", "magar", "par", "ab", "sirf", "bas", "लेकिन", "मगर", "पर", "अब", "सिर्फ", "बस",
    "since", "for", "after", "when",
}  # fmt: skip
_NOW_AFTER_HISTORY = {
    "a",
    "an",
    "one",
    "two",
    "three",
    "few",
    "couple",
    "hour",
    "hours",
    "night",
    "day",
    "days",
    "week",
    "weeks",
    "evening",
    "morning",
    "healthy",
    "well",
    "fit",
    "normal",
    "24",
    "48",
}
_CONTRAST = {"but", "however", "although", "though", "except", "yet", "which", "who", "because", "whereas", "lekin",
             "magar", "par", "लेकिन", "मगर", "पर"}  # fmt: skip
_RECENT = re.compile(
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|few|several|a)\s*-?\s*"
    r"(?:/7|/52|/12|hours?|hrs?|days?|weeks?|wks?|months?)\b|\bsince\b|yesterday|today|this morning|\bago\b|"
    r"\bx\s*\d|\bhours?\b|\bdays?\b"
)


def _terms() -> dict[str, list[str]]:
    clinical = termset("en_clinical").get_patterns()  # type: ignore[no-untyped-call]
    # "chest pain was not relieved", "fever wasn't coming down": these describe the finding, they do not deny it
    unsafe = {
        "doubt",
        "versus",
        "evaluate for",
        "symptoms atypical",
        "rule out",
        "r/o",
        "ro",
        "free",
        "was not",
        "were not",
        "wasn't",
        "wasnt",
        "weren't",
        "werent",
        "declined",
    }
    return {
        "before": sorted({*clinical["preceding_negations"], *NEGATIONS_BEFORE} - unsafe),
        "after": sorted({*clinical["following_negations"], *NEGATIONS_AFTER} - unsafe),
        "pseudo": sorted({*clinical["pseudo_negations"], *PSEUDO_NEGATIONS}),
        "clause": list(clinical["termination"]),
        "history": list(HISTORY_BEFORE),
    }


class Context:
    """The spaCy component: marks each entity ``_.negex`` (absent) and ``_.past`` (history, not now)."""

    def __init__(self, nlp: Language) -> None:
        for name in ("negex", "past", "resolved"):
            if not Span.has_extension(name):
                Span.set_extension(name, default=False)
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for key, phrases in _terms().items():
            self.matcher.add(key, [nlp.make_doc(p) for p in phrases])

    def __call__(self, doc: Doc) -> Doc:
        ents = list(doc.ents)
        inside = {i for e in ents for i in range(e.start, e.end)}
        starts = {e.start: e for e in ents}
        ends = {e.end: e for e in ents}
        found = [(doc.vocab.strings[k], s, e) for k, s, e in self.matcher(doc)]
        pseudo = [(s, e) for kind, s, e in found if kind == "pseudo"]
        clause = {i for kind, s, e in found if kind == "clause" for i in range(s, e)}
        for kind, s, e in found:
            if kind in ("pseudo", "clause") or s in inside or any(ps < e and s < pe for ps, pe in pseudo):
                continue
            if kind == "before":
                lay = doc[s:e].text.lower() in LAY_TRIGGERS
                for ent in _forward(doc, e, starts, clause, lay):
                    ent._.negex = True
            elif kind == "history" and not _presenting(doc, s, e):
                for ent in _forward(doc, e, starts, clause, False):
                    ent._.past = True
            elif kind == "after":
                resolved = doc[s:e].text.lower() in RESOLVED_AFTER
                for ent in _backward(doc, s, ends, loose=resolved):
                    if not (resolved and ent.id_ in STILL_COUNTS_WHEN_RESOLVED):
                        ent._.negex = True
                    elif resolved:
                        ent._.resolved = True
        return doc


def _presenting(doc: Doc, s: int, e: int) -> bool:
    """'history of 2 days of fever', 'previous 3 days', 'h/o fever since yesterday' tell the present illness."""
    if e < len(doc) and (doc[e].like_num or doc[e].lower_ in _NOW_AFTER_HISTORY):
        return True  # "previous 3 days", "in the past hour", "previously healthy", "previous night"
    if doc[s:e].text.lower() in ("history of", "h/o", "hx of", "hx"):
        return bool(_RECENT.search(doc[s].sent.text.lower()))
    return False


def _ends_sentence(doc: Doc, i: int) -> bool:
    return i >= len(doc) or doc[i].is_sent_start or doc[i].text in _SENTENCE_END


def _stops(doc: Doc, i: int, clause: set[int], first: bool) -> bool:
    """Before the first finding only a sentence's end or a contrast stops ("doesn't *have* any fever")."""
    word = doc[i].lower_
    return _ends_sentence(doc, i) or i in clause or word in _CONTRAST or (not first and word in CLAUSE)


def _qualifier_end(doc: Doc, i: int) -> int:
    """Where a list item's qualifier ends ("numbness *in the groin* or …"): up to GAP plain words that lead to a
    separator; otherwise the item ends where it is."""
    for j in range(i, min(i + GAP + 1, len(doc))):
        word = doc[j].lower_
        if word in SEPARATORS:
            return j
        if _ends_sentence(doc, j) or word in CLAUSE or word in _CONTRAST or word in _PERSONAL or word in _VERBS:
            return i
    return i


def _closes_with_or(doc: Doc, i: int) -> bool:
    """Whether the list from ``i`` closes with "or"/"nor" before its sentence ends: "no nausea, sweating or
    breathlessness" denies all three; "no fever, chest pain and sweating" does not."""
    for j in range(i, len(doc)):
        if _ends_sentence(doc, j) or doc[j].lower_ in CLAUSE or doc[j].lower_ in _CONTRAST:
            return False
        if doc[j].lower_ in ("or", "nor", "ya", "या"):
            return True
    return False


def _separators(doc: Doc, i: int) -> tuple[int, set[str]]:
    """The separators from ``i`` on ("," "or" ", and" …): where they end and which they were."""
    seen: set[str] = set()
    while i < len(doc) and doc[i].lower_ in SEPARATORS:
        seen.add(doc[i].lower_)
        i += 1
    return i, seen


def _forward(doc: Doc, i: int, starts: dict[int, Span], clause: set[int], lay: bool) -> Iterable[Span]:
    """The findings a preceding trigger ending at ``i`` negates: the first within WINDOW words, then a list. After
    a lay "no"/"not"/"na", a red flag reached through a bare comma starts a new statement ("no fever, chest pain
    and sweating" keeps both); a clinician's "denies"/"without" lists go on."""
    budget, via, had_comma, first, begin = WINDOW, "trigger", False, True, i
    if i < len(doc) and doc[i].text in (":", "-"):
        i = begin = i + 1  # "Denies: vomiting, fever …"
    while i < len(doc):
        if i in starts:
            ent = starts[i]
            # a bare item, or one with a word or two before the next separator ("hives *elsewhere*, wheeze")
            after = _qualifier_end(doc, ent.end)
            bare = _ends_sentence(doc, ent.end) or (after < len(doc) and doc[after].lower_ in SEPARATORS)
            said = ent.label_ == "COMBO" or any(t.lower_ in _VERBS for t in ent)
            if via == "comma" and (not bare or said or (lay and ent.id_ in RED_FLAGS and not _closes_with_or(doc, i))):
                return
            yield ent
            i, seen = _separators(doc, _qualifier_end(doc, ent.end) if via != "comma" else ent.end)
        elif first and doc[i].lower_ in ("any", "a", "the", "recent", "significant", "known", "other"):
            i += 1
            continue
        elif _stops(doc, i, clause, first) or (i == begin and doc[i].lower_ in SEPARATORS):
            return
        elif not first and via == "comma" and doc[i].lower_ in _PERSONAL:
            return  # "no fever, my chest hurts": a new statement, not a list item
        elif doc[i].lower_ in SEPARATORS:  # an item we do not know ("night sweats"): the list goes on past it
            if first and doc[i].lower_ in (",", *_AND):
                return  # "took Eno, didn't help, chest pain …": before its first finding a comma ends the scope
            i, seen = _separators(doc, i)
        else:
            budget -= not (doc[i].is_punct or doc[i].is_space)  # "self-harm" is one word; Devanagari words count
            if budget < 0:
                return
            i += 1
            continue
        if not seen or (seen & _AND and not (had_comma or "," in seen) and not seen & {"or", "nor", "ya", "या"}):
            return
        had_comma = had_comma or "," in seen
        via = "final" if seen & _FINAL else "comma"
        budget, first = GAP, False


def _backward(doc: Doc, s: int, ends: dict[int, Span], *, loose: bool = False) -> list[Span]:
    """The findings a following trigger at ``s`` negates ("bukhar nahi hai", "fever, cough ya ulti nahi"): the one
    just before it (a word or two may sit between), then a list leftwards through separators, with "and" only in
    a list that has a comma. ``loose`` (for "… which resolved") also steps over "which", "fully" and a comma, and
    follows "and": marking a red flag as come-and-gone never hides it."""
    i = s
    for _ in range(3 if loose else 2):
        if i in ends or i == 0 or doc[i - 1].text in _SENTENCE_END:
            break
        if doc[i - 1].lower_ in SEPARATORS and not (loose and doc[i - 1].lower_ == ","):
            break
        i -= 1
    chain: list[Span] = []
    joins: list[set[str]] = []
    while i in ends:
        ent = ends[i]
        chain.append(ent)
        j, seen = ent.start, set()
        while j > 0 and doc[j - 1].lower_ in SEPARATORS:
            seen.add(doc[j - 1].lower_)
            j -= 1
        if not seen or j not in ends:
            break
        joins.append(seen)
        i = j
    if loose:
        return chain
    # "bukhar, khansi ya ulti nahi": a list that closes with "or"/"ya" next to the trigger; "seene mein dard, bukhar
    # nahi" is two statements, and a red flag is never denied from a distance
    kept = chain[:1]
    if joins and joins[0] & {"or", "nor", "ya", "या"}:
        for ent in chain[1:]:
            if ent.id_ in RED_FLAGS:
                break
            kept.append(ent)
    return kept


@Language.factory("labpulse_context")
def make_context(nlp: Language, name: str) -> Any:
    return Context(nlp)
