"""A SOAP note drafted from a teleconsult transcript, each sentence carrying the ids of the lines it came from,
so the doctor can check any sentence against what was said and nothing in the draft is unexplained.

Each turn is cleaned and cut into sentence units (core.notes.units: unpunctuated speech too); a linear model
fitted on public consult notes (core.notes.train → core/notes/models/section.json) decides whether a unit belongs
in the note and where, from its words, who said it, the unit before and the phase of the consult; word patterns
tell Assessment from Plan (core.notes.sections). A kept sentence is rewritten into note style (core.notes.rewrite),
and a doctor's yes/no question is folded with the patient's answer ("any chest pain?" + "no" → "Denies chest
pain."). Measured against ACI-BENCH and MTS-Dialog by bench/soap.py. Deterministic, no download, no network."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.notes import linear, rewrite, units
from core.notes.fold import content, fold, patient_text, symptoms
from core.notes.heads import (
    CHIEF_COMPLAINT,
    HISTORY,
    PARTS,
    RESULTS_PART,
    SYSTEMS,
    chief_complaint,
    part_of,
    problem_heads,
)
from core.notes.orders import tests_named
from core.notes.rewrite import Person
from core.notes.sections import (
    ASSESS,
    DIRECTIVE,
    INSTRUCTION,
    Phase,
    Section,
    assessment_or_plan,
    is_question,
    next_phase,
    strong_section,
    unit_features,
)
from core.notes.sex import Sex, patient_sex
from core.notes.units import Speaker, Unit

TITLES: dict[Section, str] = {"S": "Subjective", "O": "Objective", "A": "Assessment", "P": "Plan"}


@dataclass(frozen=True, slots=True)
class Line:
    id: int
    speaker: Speaker
    text: str


@dataclass(frozen=True, slots=True)
class LabResult:
    test: str
    value: str
    unit: str
    flag: str | None
    reported_on: date


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of the draft. ``sources`` are transcript line ids; a sentence from a lab result has none
    (it came from the record, not the talk). ``part`` is its sub-heading within Subjective or Objective (one of
    PARTS), empty in Assessment and Plan."""

    text: str
    sources: tuple[int, ...]
    part: str = ""


@dataclass(frozen=True, slots=True)
class OrderedTest:
    """A lab test the Plan orders: the portal books it in one click (``code`` is the catalogue code, if any)."""

    name: str
    code: str | None
    sources: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Draft:
    subjective: tuple[Sentence, ...] = ()
    objective: tuple[Sentence, ...] = ()
    assessment: tuple[Sentence, ...] = ()
    plan: tuple[Sentence, ...] = ()
    tests: tuple[OrderedTest, ...] = ()

    def sections(self) -> list[tuple[str, tuple[Sentence, ...]]]:
        return [
            (TITLES["S"], self.subjective),
            (TITLES["O"], self.objective),
            (TITLES["A"], self.assessment),
            (TITLES["P"], self.plan),
        ]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            title.lower(): [{"text": s.text, "sources": list(s.sources), "part": s.part} for s in sentences]
            for title, sentences in self.sections()
        }
        out["tests"] = [{"name": t.name, "code": t.code, "sources": list(t.sources)} for t in self.tests]
        return out

    def as_text(self) -> str:
        """Headed sections with their parts, one sentence a line (how ROUGE-Lsum reads a note, and how a doctor
        scans one)."""
        return "\n\n".join(f"{title.upper()}\n" + "\n".join(_with_parts(s)) for title, s in self.sections() if s)


def _with_parts(sentences: Sequence[Sentence]) -> list[str]:
    """The sentences one a line, each part's heading before its first sentence."""
    out: list[str] = []
    part = ""
    for sentence in sentences:
        if sentence.part and sentence.part != part:
            out.append(f"{sentence.part}:")
        part = sentence.part
        out.append(sentence.text)
    return out


# Greetings and thanks: said in every consult, written in no note.
_PLEASANTRY = re.compile(
    r"^(?:to see you|nice to meet|good to see|(?:it is|it was) (?:good|nice|great|a pleasure) to (?:see|meet)|"
    r"thank|thanks|good (?:morning|afternoon|evening)|hi|hello|hey|bye|see you|you too|no problem|sorry|"
    r"sounds good|sounds like a plan|that sounds|i am (?:good|fine|doing (?:good|well|fine|okay))|"
    r"i am (?:good|fine|well|okay)|not bad|doing (?:good|well|fine|okay)|how are you|same here|of course|cannot wait)\b"
)
_DOCTOR_STYLE = [
    # "I see that you hurt your wrist": the doctor relaying the history; the note states it.
    (
        re.compile(
            r"^(?:so )?(?:i (?:see|understand|know|heard|noticed|saw|read)|it looks like|looks like|it seems)"
            r"(?: here)?(?: that)?\s+(?=\w+\s+\w)"
        ),
        "",
    ),
    (re.compile(r"\b(i|we) am going to\b|\b(i|we) are going to\b"), r"\1\2 will"),
    (re.compile(r"\b(i|we) would like to\b"), r"\1 will"),
    (re.compile(r"\blet us\b"), "we will"),
    (re.compile(r"\bgo ahead and\s+"), ""),
]


def _pleasantry(text: str) -> bool:
    return bool(_PLEASANTRY.match(text)) and len(text.split()) < 10


# Words of speech that a written note leaves out, meaning unchanged: "he just feels tired", "it is kind of sore".
_HEDGES = re.compile(
    r"(?<!not )(?<!never )\b(?:just(?! (?:had|started|got|came|finished|began|been)\b)|really)\s+(?=\w)"
    r"|\b(?:kind of|sort of|you know,?|kinda|pretty much)\s+(?=\w)"
)  # "not just the knee", "never really", "he just had surgery" keep their word


class _Builder:
    """The sections as they are drafted, the same sentence said twice kept once with both sources."""

    def __init__(self) -> None:
        self.sections: dict[Section, list[Sentence]] = {"S": [], "O": [], "A": [], "P": []}
        self._seen: dict[tuple[Section, str], int] = {}

    def add(self, section: Section, text: str, sources: Sequence[int], part: str = "") -> None:
        text = rewrite.sentence_case(_HEDGES.sub("", text))
        if not text or not re.search(r"[A-Za-z0-9]", text):
            return
        key = (section, text.lower())
        if key in self._seen:
            i = self._seen[key]
            old = self.sections[section][i]
            merged = tuple(sorted(set(old.sources) | set(sources)))
            self.sections[section][i] = Sentence(old.text, merged, old.part)
            return
        self._seen[key] = len(self.sections[section])
        self.sections[section].append(Sentence(text, tuple(sorted(set(sources))), part))

    def in_parts(self) -> None:
        """Subjective and Objective ordered by part (PARTS), sentences in their spoken order within each."""
        for section in ("S", "O"):
            self.sections[section].sort(key=lambda s: PARTS.index(s.part) if s.part in PARTS else len(PARTS))


# What the doctor says to the room, the record system or the assistant, not about the patient: "show me the
# x-ray", "we will look at his labs", "I will do a quick exam", "I am Dr. …".
_PROCESS = re.compile(
    r"^(?:show me|pull up|bring up|open (?:up )?the|go to|(?:i|we) will (?:look|review|go|take a look|do a quick|"
    r"talk|check (?:you|him|her) out|tell (?:a little (?:bit )?)?about)|let us (?:look|review|go|take|talk)|"
    r"(?:i|we) am going to (?:look|review|examine)|(?:let|lem) me (?:just )?(?:take a (?:quick )?look|look|check|"
    r"examine|see|feel|listen|press|tell|go over|pull|show)|i am (?:dr|doctor)|my name is)\b"
)
# A greeting's name alone, once its "hello" is trimmed: "Mrs. Reddy."
_ADDRESS = re.compile(r"^(?:mr|mrs|ms|miss|dr|doctor)\.? [a-z]+\.?$")
# Commands to the record system, not to or about the patient: "finalize the note", "order the medications and
# procedures discussed" (the orders themselves are drafted where they were said).
_TO_THE_SYSTEM = re.compile(
    r"\b(?:finali[sz]e (?:the |this )?(?:note|report|recording|visit)|(?:order|place) the (?:medications?|"
    r"procedures?|orders?|tests?|labs?)(?: and (?:the )?\w+)? (?:discussed|we discussed|mentioned)|(?:end|stop|pause) "
    r"(?:of )?(?:the )?recording|use (?:my|the) [a-z ]{0,30}template)\b"
)
# The doctor's own senses as findings: "I do not feel any tenderness" → "no tenderness", "I appreciate a murmur"
# → "there is a murmur".
_SENSED = [
    (re.compile(r"\bi (?:do |can )?not (?:see|hear|feel|appreciate|note|notice|detect)\s+(?:any\s+)?"), "no "),
    (re.compile(r"\bi (?:do |can |also )?(?:see|hear|feel|appreciate|note|notice|detect)\s+"), "there is "),
]


def _doctor_text(sentence: str, person: Person) -> str:
    for pattern, repl in [*_DOCTOR_STYLE, *_SENSED]:
        sentence = pattern.sub(repl, sentence)
    return rewrite.second_to_third(sentence, person)


def _lab_sentence(lab: LabResult) -> str:
    flag = {"H": "high", "L": "low", "HH": "critically high", "LL": "critically low", "A": "abnormal"}.get(
        (lab.flag or "").upper(), lab.flag or ""
    )
    value = f"{lab.value} {lab.unit}".strip()
    return f"{lab.test}: {value}" + (f" ({flag})" if flag else "") + f", reported {lab.reported_on.isoformat()}."


def units_of(lines: Sequence[Line]) -> list[Unit]:
    return [Unit(line.id, line.speaker, u) for line in lines for u in units.units(rewrite.clean(line.text))]


def features_of(found: Sequence[Unit]) -> list[list[str]]:
    """The section model's features for each unit, in order (core.notes.sections.unit_features)."""
    phase: Phase = "history"
    out = []
    for k, unit in enumerate(found):
        if unit.speaker == "doctor":
            phase = next_phase(phase, unit.text)
        before = (found[k - 1].speaker, found[k - 1].text) if k else None
        out.append(unit_features(unit.speaker, unit.text, before, k / max(1, len(found)), phase))
    return out


KEEP_BELOW = 0.8  # a unit is drafted when the model's probability that it is in no section is below this


# Where the patient goes after the visit: "I am going home with my son", "we will discharge her tomorrow".
_DISPOSITION = re.compile(
    r"\b(?:go(?:ing)? (?:back )?home (?:today|tomorrow|now|with)|discharg(?:ed|ing) (?:you|him|her|the patient|home|"
    r"today|tomorrow)|(?:will|can|to) discharge (?:you|him|her|the patient)|ready (?:for|to go) home|going home with|"
    r"transfer(?:red)? to|admit(?:ted|ting)? (?:you|him|her|the patient)|rehab(?:ilitation)? (?:facility|center|"
    r"centre)|nursing home)\b"
)


# The doctor giving an impression in so many words: "I think this is most likely a viral fever".
_IMPRESSION = re.compile(
    r"\b(?:i think (?:this|it|that|you|she|he) (?:is|has|have) (?:most )?(?:likely|probably|consistent)|"
    r"most likely (?:a |an )?\w+|(?:is|are|looks|seems|findings are) consistent with|suggestive of|"
    r"my (?:impression|diagnosis) is|"
    r"(?:this|it) (?:is|looks like|sounds like) (?:a |an )?(?:\w+ )?(?:sprain|strain|infection|fracture|"
    r"tendinitis|tendonitis|arthritis|flare|exacerbation|reaction))\b"
)


def _place(unit: Unit, probabilities: dict[str, float]) -> Section | None:
    """The model decides whether a unit is in the note and whether it is history, findings or assessment and plan.
    Plan sentences are few in the training notes (they are rewritten most), so Assessment and Plan are told apart
    by what the sentence does (core.notes.sections.assessment_or_plan), and a doctor's unmistakable order or
    reading is kept even when the model doubts it."""
    doctor = unit.speaker == "doctor"
    if doctor and INSTRUCTION.match(unit.text):
        return None
    strong = strong_section(unit.text) if doctor else None
    if strong is not None:
        return strong
    if _DISPOSITION.search(unit.text) and not is_question(unit.text):
        return "P"  # where the patient goes from here, whoever says it
    if doctor and _IMPRESSION.search(unit.text) and not is_question(unit.text):
        return "A"  # the doctor's impression, said as one
    if probabilities["none"] >= KEEP_BELOW:
        return None
    history, findings = probabilities["S"], probabilities["O"]
    plan = probabilities["A"] + probabilities["P"]
    if plan > max(history, findings):
        return assessment_or_plan(unit.text, probabilities["A"] >= probabilities["P"])
    if doctor and ASSESS.search(unit.text) and len(unit.text.split()) >= 3:
        return "A"  # the doctor's judgement is the assessment, wherever in the consult it is said
    if history >= findings:
        # The doctor telling the patient what to do is the plan, wherever in the consult it is said.
        return "P" if doctor and DIRECTIVE.search(unit.text) else "S"
    return "O"


def sections_of(found: Sequence[Unit]) -> list[Section | None]:
    """Where each unit goes (core/notes/models/section.json and _place); None: not in the note."""
    model = linear.load("section")
    return [_place(unit, model.probabilities(feats)) for unit, feats in zip(found, features_of(found), strict=True)]


_ONE_LINER = re.compile(r"\b\d+[- ]year[- ]old\b")


def _assessment_heads(out: _Builder, found: Sequence[Unit]) -> None:
    """The assessment headed as notes head it: the one-line summary of who the patient is and why they came (said
    in the history, repeated here), then the problems (core.notes.heads.problem_heads)."""
    summary = next((s for s in out.sections["S"] if _ONE_LINER.search(s.text)), None)
    heads = problem_heads(found)
    if summary is None and not heads:
        return
    made = _Builder()
    if summary is not None:
        made.add("A", summary.text, summary.sources)
    for name, line in heads:
        made.add("A", name, (line,))
    for sentence in out.sections["A"]:
        made.add("A", sentence.text, sentence.sources)
    out.sections["A"] = made.sections["A"]


def _named_first(text: str, said: str, person: Person) -> str:
    """A sentence the patient said of themselves ("I have had fever …") or the doctor said to them ("you have …")
    opens with "The patient", as notes write it; the pronoun stays inside the sentence. Any other sentence that
    opens with he or she is about someone else and is left as it is."""
    opener = f"{person.subject} "
    if person.subject == "the patient" or not re.match(r"(?:i|you) ", said) or not text.startswith(opener):
        return text
    return "the patient " + text[len(opener) :]


def draft(lines: Sequence[Line], labs: Sequence[LabResult] = (), sex: Sex | None = None) -> Draft:
    """The SOAP draft for a consult; an empty transcript gives an empty draft (with the labs, if any). ``sex`` is
    the record's, when known; else the consult's words decide he, she or "the patient" (core.notes.sex)."""
    person = Person.of(sex or patient_sex(lines))
    out = _Builder()
    found = units_of(lines)
    placed = sections_of(found)
    answered: dict[int, str] = {}  # unit index → what is left of an answer once folded with its question
    for k, unit in enumerate(found):
        section = placed[k]
        if unit.speaker == "doctor":
            if is_question(unit.text):
                after = found[k + 1] if k + 1 < len(found) else None
                if after is not None and after.speaker == "patient" and (section is not None or symptoms(unit.text)):
                    folded, rest = fold(unit.text, after.text, person)
                    if folded is not None:
                        part = SYSTEMS if symptoms(unit.text) else HISTORY
                        out.add("S", folded, (unit.line, after.line), part)
                    answered[k + 1] = rest  # without its yes or no, which alone says nothing
            elif (
                section is None
                or _TO_THE_SYSTEM.search(unit.text)
                or _pleasantry(unit.text)
                or _ADDRESS.match(unit.text)
            ):
                pass
            elif not (section in "SO" and _PROCESS.match(unit.text)):
                said = _named_first(_doctor_text(unit.text, person), unit.text, person)
                out.add(section, said, (unit.line,), part_of(section, unit.text))
            continue
        text = answered.get(k, unit.text)
        if section is None or not text or is_question(text) or content(text) < 2:
            continue
        if _pleasantry(text):
            continue
        out.add(section, _named_first(patient_text(text, person), text, person), (unit.line,), part_of(section, text))
    for lab in labs:
        out.add("O", _lab_sentence(lab), (), RESULTS_PART)
    if (complaint := chief_complaint(found)) is not None:
        out.add("S", complaint[0], (complaint[1],), CHIEF_COMPLAINT)
    out.in_parts()
    _assessment_heads(out, found)
    tests: dict[str, OrderedTest] = {}
    for planned in out.sections["P"]:
        for name, code in tests_named(planned.text):
            old = tests.get(name)
            sources = tuple(sorted(set(planned.sources) | set(old.sources if old else ())))
            tests[name] = OrderedTest(name, code, sources)
    s = out.sections
    return Draft(tuple(s["S"]), tuple(s["O"]), tuple(s["A"]), tuple(s["P"]), tuple(tests.values()))
