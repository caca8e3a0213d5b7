"""He or she in the draft: the patient's sex as the record gives it, else as the consult shows it.

Owned here: reading the consult for it: how the doctor speaks of the patient ("a 58-year-old male", "Mrs. Shah",
"she"), and the first name the doctor greets the patient by ("hey Linda, good to see you"), looked up in
``models/names.json`` (first names given to one sex in at least nine of ten cases, built by core.notes.train from
the nomquamgender name data, MIT licence). When neither says, the draft writes "the patient".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from typing import Literal, Protocol

from core.notes.linear import MODELS

Sex = Literal["male", "female"]
NAMES = MODELS / "names.json"

_AGE = r"\d+\s*-?\s*year\s*-?\s*old"
_MALE = re.compile(rf"\b(?:{_AGE} (?:male|man|gentleman|boy)|mr|sir|he|his|him)\b")
_FEMALE = re.compile(rf"\b(?:{_AGE} (?:female|woman|lady|girl)|mrs|ms|miss|ma'am|she|her)\b")
_STRONG = re.compile(r"year\s*-?\s*old|\bmrs?\b|\bms\b")
# "hey linda, good to see you", "okay hi andrea", "so anna …": the name a greeting opens with.
_GREETING = re.compile(
    r"^(?:(?:hi|hey|hello|good (?:morning|afternoon|evening)|so|okay|ok|alright|all right|well|now|and|welcome)"
    r"[,.!]?\s+)+(?P<title>(?:mr|mrs|ms|miss)\.?\s+)?(?P<name>[a-z]+)\b"
)
# "brian is a 58-year-old male …": the doctor's summary for the record opens with the name.
_SUMMARY = re.compile(rf"^(?:(?:so|okay|and|now)[,]?\s+)*(?P<name>[a-z]+)(?:\s+[a-z]+)? is an? {_AGE}")
# Words a greeting opens with that are not the patient's name, though some are names too ("will", "may").
_NOT_A_NAME = frozenset(
    "how are you there everyone again guys sir ma'am maam doctor dr dax dragon nice good welcome thanks thank it i "
    "so well okay let me will may the this that what we is it's its today great come in please yes".split()
)
NAME_WEIGHT = 4  # a greeting's name counts almost as much as "a 58-year-old male" (5), more than one pronoun (1)
GREETING_LINES = 3  # the doctor's first lines, where a greeting is


class _Said(Protocol):
    @property
    def speaker(self) -> str: ...

    @property
    def text(self) -> str: ...


@cache
def _names() -> dict[str, Sex]:
    raw = json.loads(NAMES.read_text(encoding="utf-8"))
    table: dict[str, Sex] = dict.fromkeys(raw["male"].split(), "male")
    table.update(dict.fromkeys(raw["female"].split(), "female"))
    return table


def name_sex(name: str) -> Sex | None:
    """The sex a first name is given to (in nine of ten cases or more); None for a name given to both, or unknown."""
    return _names().get(name.lower()) if name.lower() not in _NOT_A_NAME else None


def _greeted(doctor_lines: list[str]) -> Sex | None:
    for low in doctor_lines[:GREETING_LINES]:
        for pattern in (_GREETING, _SUMMARY):
            m = pattern.match(low)
            if m is None or (pattern is _GREETING and m.group("title")):
                continue  # after "Mrs." comes a surname, which says nothing (the title already counts)
            if sex := name_sex(m.group("name")):
                return sex
    return None


def patient_sex(lines: Iterable[_Said]) -> Sex | None:
    """He or she, from how the doctor speaks of the patient and the name they greet them by; None when the consult
    does not say."""
    doctor = [line.text.lower() for line in lines if line.speaker == "doctor"]
    score = 0
    for low in doctor:
        for m in _MALE.finditer(low):
            score += 5 if _STRONG.search(m.group(0)) else 1
        for m in _FEMALE.finditer(low):
            score -= 5 if _STRONG.search(m.group(0)) else 1
    greeted = _greeted(doctor)
    score += NAME_WEIGHT if greeted == "male" else -NAME_WEIGHT if greeted == "female" else 0
    return "male" if score >= 2 else "female" if score <= -2 else None
