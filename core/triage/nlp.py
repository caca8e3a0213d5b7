"""Reading a patient's words: a spaCy pipeline that needs no downloaded model (``spacy.blank`` + sentencizer +
an entity ruler over the lexicon + negspacy's NegEx with Hindi negation words), and regular expressions for the
numbers people give: temperature, blood pressure, sugar, oxygen, duration, age, pregnancy, severity."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import spacy
from negspacy.negation import Negex  # noqa: F401 - registers the "negex" factory
from negspacy.termsets import termset

from core.triage.lexicon import CONCEPTS, NEGATIONS_AFTER, NEGATIONS_BEFORE

MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Mention:
    concept: str
    text: str
    negated: bool


@dataclass
class Findings:
    mentions: list[Mention] = field(default_factory=list)
    temp_f: float | None = None
    bp: tuple[int, int] | None = None
    sugar: int | None = None
    spo2: int | None = None
    days: float | None = None
    age: float | None = None
    pregnant: bool = False
    severe: bool = False

    def has(self, *concepts: str) -> list[str]:
        """The words (not negated) that named any of ``concepts``."""
        return [m.text for m in self.mentions if m.concept in concepts and not m.negated]

    def negated(self) -> list[str]:
        return [m.text for m in self.mentions if m.negated]


@lru_cache(maxsize=1)
def pipeline() -> Any:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler: Any = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns([{"label": "SYMPTOM", "pattern": p, "id": c} for c, words in CONCEPTS.items() for p in words])
    terms: Any = termset("en_clinical")  # type: ignore[no-untyped-call]
    terms.add_patterns(
        {
            "preceding_negations": list(NEGATIONS_BEFORE),
            "following_negations": list(NEGATIONS_AFTER),
            "termination": [",", ";", "but", "however", "lekin", "magar", "par", "लेकिन", "पर"],
        }
    )
    nlp.add_pipe("negex", config={"neg_termset": terms.get_patterns(), "ent_types": ["SYMPTOM"]})
    return nlp


_NUM_WORDS = {
    "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10,
    "ek": 1, "do": 2, "teen": 3, "char": 4, "chaar": 4, "paanch": 5, "panch": 5, "saat": 7,
    "एक": 1, "दो": 2, "तीन": 3, "चार": 4, "पांच": 5, "पाँच": 5, "सात": 7,
}  # fmt: skip
_UNIT_DAYS = {
    "hour": 1 / 24, "hours": 1 / 24, "ghante": 1 / 24, "ghanta": 1 / 24, "घंटे": 1 / 24,
    "day": 1, "days": 1, "din": 1, "दिन": 1,
    "week": 7, "weeks": 7, "hafte": 7, "hafta": 7, "हफ्ते": 7, "हफ़्ते": 7,
    "month": 30, "months": 30, "mahine": 30, "mahina": 30, "महीने": 30,
}  # fmt: skip
_DURATION = re.compile(
    r"(?<![\w\u0900-\u097f])(\d{1,3}|one|a|an|two|three|four|five|six|seven|ten|ek|do|teen|chaar|char|paanch|panch"
    r"|saat|एक|दो|तीन|चार|पांच|पाँच|सात)\s*"
    r"(hours?|ghante|ghanta|days?|din|weeks?|hafte|hafta|months?|mahine|mahina|घंटे|दिन|हफ्ते|हफ़्ते|महीने)"
    r"(?![\w\u0900-\u097f])(?!\s*(?:-\s*)?(?:old|ka\b|ki\b|ke\b|baby|pregnant|ki garbh|की|का))"
)
_TEMP = re.compile(
    r"(?:temp(?:erature)?|fever|bukhar|bukhaar|बुखार|ताप)\D{0,12}?(\d{2,3}(?:\.\d)?)|"
    r"\b(\d{2,3}(?:\.\d)?)\s*(?:°\s*[fc]?|deg(?:rees?)?\b|degree\b|f\b|fahrenheit\b)"
)
_BP = re.compile(r"(?:\bbp\b|blood pressure|pressure)\D{0,12}?(\d{2,3})\s*/\s*(\d{2,3})")
_SUGAR = re.compile(r"(?:sugar|glucose|\brbs\b|\bfbs\b|शुगर)\D{0,12}?(\d{2,3})")
_SPO2 = re.compile(r"(?:spo2|sp02|oxygen|saturation|\bo2\b)\D{0,12}?(\d{2,3})")
_AGE_YEARS = re.compile(r"\b(\d{1,3})\s*(?:-|\s)?(?:years?|yrs?|saal|sal|y/o|yo)\b")
_AGE_MONTHS = re.compile(r"\b(\d{1,2})\s*(?:-|\s)?(?:months?|mahine|mahina)\s*(?:old|ka|ki|baby|ke)\b")
_AGE_WEEKS = re.compile(r"\b(\d{1,2})\s*(?:-|\s)?(?:weeks?|days?|din)\s*(?:old|ka|ki)\b")
_PREGNANT = re.compile(r"pregnan|garbh|गर्भ|expecting a baby|months? pregnant|pet se hu|pet se hoon")
_SEVERE = re.compile(r"\bsevere|very bad|unbearable|worst|excruciating|bahut tez|bahut zyada|बहुत तेज|असहनीय")


def _days(text: str) -> float | None:
    """The longest duration said ('3 days', 'teen din', 'तीन दिन', 'a week'); an age ('2 month old') is not one."""
    spans = []
    for number, unit in _DURATION.findall(text):
        n = int(number) if number.isdigit() else _NUM_WORDS.get(number)
        if n is not None:
            spans.append(n * _UNIT_DAYS[unit])
    if spans:
        return max(spans)
    if "since yesterday" in text or "kal se" in text or "कल से" in text:
        return 1
    if "since morning" in text or "since today" in text or "aaj se" in text or "subah se" in text:
        return 0.5
    return None


def _temperature(text: str) -> float | None:
    for m in _TEMP.finditer(text):
        value = float(m.group(1) or m.group(2))
        if 94 <= value <= 110:
            return value
        if 34 <= value <= 43:
            return round(value * 9 / 5 + 32, 1)
    return None


def _age(text: str) -> float | None:
    if m := _AGE_WEEKS.search(text):
        return int(m.group(1)) / 52
    if m := _AGE_MONTHS.search(text):
        return int(m.group(1)) / 12
    if m := _AGE_YEARS.search(text):
        value = int(m.group(1))
        return float(value) if value <= 120 else None
    if re.search(r"newborn|new born|navjaat|नवजात", text):
        return 0.05
    return None


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("।", ". ").replace("\u200d", "")).strip()


def read(text: str) -> Findings:
    """Everything the text says, in order of mention; negated findings are kept, marked."""
    clean = normalize(text)[:MAX_CHARS]
    low = clean.lower()
    doc = pipeline()(clean)
    found = Findings(mentions=[Mention(e.ent_id_, e.text, bool(e._.negex)) for e in doc.ents])
    found.temp_f = _temperature(low)
    if bp := _BP.search(low):
        found.bp = (int(bp.group(1)), int(bp.group(2)))
    if sugar := _SUGAR.search(low):
        found.sugar = int(sugar.group(1))
    if spo2 := _SPO2.search(low):
        value = int(spo2.group(1))
        found.spo2 = value if 50 <= value <= 100 else None
    found.days = _days(low)
    found.age = _age(low)
    found.pregnant = bool(_PREGNANT.search(low)) and not re.search(r"not pregnant|pregnant nahi|गर्भवती नहीं", low)
    found.severe = bool(_SEVERE.search(low))
    return found
