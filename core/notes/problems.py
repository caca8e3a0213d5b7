"""The problems a consult names: the conditions said as the patient's own ("she suffers from bipolar disorder",
"your hypertension is well controlled", "I have had asthma since I was a kid"), for the Assessment's problem list.

Owned here: what reads as a condition name (medical word forms such as -itis and -emia, the heads of condition
phrases such as "disease" or "fracture", and the common conditions named in one word) and which mentions count
(not asked, not denied, not a relative's). ``core.notes.soap`` decides where the list goes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Conditions named in one word or a fixed phrase.
_NAMED = (
    r"hypertension|hypotension|diabetes|prediabetes|asthma|copd|emphysema|depression|anxiety|obesity|gout|migraines?|"
    r"eczema|psoriasis|glaucoma|cataracts?|afib|a-?fib|atrial fibrillation|angina|epilepsy|seizures?|dementia|"
    r"osteoporosis|osteoarthritis|arthritis|insomnia|hypothyroidism|hyperthyroidism|hyperlipidemia|"
    r"high cholesterol|high blood pressure|heart attack|stroke|reflux|gerd|heartburn|constipation|vertigo|"
    r"concussion|pneumonia|covid|flu|influenza|shingles|sciatica|scoliosis|autism|adhd|schizophrenia|"
    r"ptsd|acne|rosacea|hernia|hemorrhoids|anemia|neuropathy|tinnitus|cellulitis|bronchitis|sinusitis|"
    r"urinary tract infection|uti|sleep apnea|kidney stones?|gallstones?|cancer|tumou?r|melanoma|lymphoma|leukemia"
)
# Words that end a condition's name when something comes before them ("carpal tunnel syndrome").
_HEADS = (
    r"disease|disorder|syndrome|failure|infection|fracture|sprain|strain|tear|deficiency|insufficiency|injury|"
    r"stones?|nodules?|cyst|mass|lesion|ulcer|contusion|dislocation|exacerbation|pain|effusion"
)
# Medical word forms: inflammation, condition, blood, growth, disease of, surgery.
_FORMS = (
    r"(?!(?:dia|pro)gnosis|academia|diploma|aroma)[a-z]{2,}(?:itis|osis|iasis|emia|aemia|oma|pathy|algia|ectomy|plasty)"
)
_STOP = frozenset(
    "a an the and or but so to of in on at for with is are was were be been it this that i you he she we they my "
    "your his her our their me him them have has had having do does did get got some any no not also just really "
    "very still from about like as if what which who suffers suffer suffering diagnosed history known with "
    "because think see looks probably likely possible maybe called is call s been being doing more little bit "
    "much lot lots new old other same kind sort due worst worse specific future potential significant obvious "
    "intense mention mentioned where there well defined diagnosis diagnose possibly definitely "
    "sharp dull typical surgery include includes".split()
)
_NEGATION = re.compile(r"\b(?:no|not|never|without|denies|deny|negative|nothing|rule out|ruled out)\b")
# Said after the name, these make it not (or not yet) the patient's: "pneumonia is unlikely", "diabetes is ruled
# out", "the covid test was negative".
_NEGATED_AFTER = re.compile(r"^\W*(?:\w+\W+){0,4}?(?:unlikely|ruled out|negative|excluded|not likely)\b")
# Said just before a name, these make it something looked for, not found: "rule out a fracture", "screen you for
# colon cancer", "a risk of stroke"; and, from the patient, a fear: "I am worried it might be cancer".
_LOOKED_FOR = re.compile(
    r"\b(?:rule out|ruling out|screen\w*(?: \w+)? for|test(?:ed|ing)?(?: \w+)? for|check(?:ing)?(?: \w+)? for|"
    r"look(?:ing)? for|risk of|prevent\w*|vaccin\w* (?:against|for))\b"
)
_FEARED = re.compile(r"\b(?:worried|worry|afraid|scared|might be|could be|may be|what if)\b")
# Said just after a name, these make it a test or a vaccine: "my flu shot", "the covid test".
_NOT_THE_CONDITION = re.compile(r"^\W*(?:shots?|vaccines?|jabs?|tests?|screening|swab)\b")
_RELATIVE = re.compile(
    r"\b(?:family|mother|mom|mum|mummy|mama|father|dad|papa|parents?|brothers?|sisters?|siblings?|grand\w+|aunts?|"
    r"uncles?|cousins?|in-laws?|nani|nana|dadi|dada|amma|appa|"
    r"son|daughter|wife|husband|relatives?)\b"
)
_CONDITION = re.compile(rf"\b(?:(?P<named>{_NAMED})|(?P<form>{_FORMS})|(?P<head>{_HEADS}))\b")
MAX_WORDS_BEFORE = 3
MAX_PROBLEMS = 6


@dataclass(frozen=True, slots=True)
class Problem:
    name: str
    line: int


def _name(words: list[str], head: str, needs_qualifier: bool) -> str | None:
    """The condition's name: its head and the qualifying words said just before it ("iron deficiency anemia"),
    up to a word that is not part of a name. A generic head ("pain", "fracture") needs at least one qualifier."""
    before: list[str] = []
    for word in reversed(words[-MAX_WORDS_BEFORE:]):
        if word in _STOP or not re.fullmatch(r"[a-z0-9][a-z0-9'-]*", word):
            break
        before.insert(0, word)
    if needs_qualifier and not before:
        return None
    return " ".join([*before, head])


def mentions(text: str, patient: bool = False) -> list[str]:
    """The conditions one sentence names as present: none when it is a relative's, none that a negation just
    before or a verdict just after denies, none looked for (a test, a screen, a vaccine) and, from the patient
    (``patient``), none feared ("worried it might be cancer"); the doctor's "this could be angina" is an
    impression and counts."""
    low = text.lower()
    if _RELATIVE.search(low):
        return []
    found: list[str] = []
    last_end = -1
    for m in _CONDITION.finditer(low):
        if found and low[last_end : m.start()].isspace():
            found.pop()  # "iron deficiency" then "anemia": one name, "iron deficiency anemia"
        last_end = m.end()
        words = re.findall(r"[a-z0-9][a-z0-9'-]*", low[: m.start()])
        before, after = " ".join(words[-6:]), low[m.end() :]
        if _NEGATION.search(" ".join(words[-4:])) or _NEGATED_AFTER.match(after) or _NOT_THE_CONDITION.match(after):
            continue
        if _LOOKED_FOR.search(before) or (patient and _FEARED.search(before)):
            continue
        # A name does not run across a comma or a sentence end: "diabetes type 2, hypertension" is two.
        clause = re.findall(r"[a-z0-9][a-z0-9'-]*", re.split(r"[,.;:!?]", low[: m.start()])[-1])
        name = _name(clause, m.group(0), needs_qualifier=m.group("head") is not None)
        if name is not None:
            found.append(name)
    return found


def problems(said: Iterable[tuple[int, str, bool]]) -> list[Problem]:
    """The problem list: each condition once, where it was first said, in order, at most MAX_PROBLEMS; a shorter
    name inside a longer one ("anemia" in "iron deficiency anemia") is the same problem. ``said``: (line, text,
    whether the patient said it)."""
    out: list[Problem] = []
    for line, text, patient in said:
        for name in mentions(text, patient):
            same = next((k for k, p in enumerate(out) if name in p.name or p.name in name), None)
            if same is None:
                out.append(Problem(name, line))
            elif len(name) > len(out[same].name):
                out[same] = Problem(name, out[same].line)
    return out[:MAX_PROBLEMS]
