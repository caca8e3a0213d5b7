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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from negspacy.negation import Negex  # noqa: F401 - registers the "negex" factory

from core.notes import linear, rewrite, units
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
from core.triage import nlp

Speaker = Literal["doctor", "patient"]
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
    (it came from the record, not the talk)."""

    text: str
    sources: tuple[int, ...]


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
            title.lower(): [{"text": s.text, "sources": list(s.sources)} for s in sentences]
            for title, sentences in self.sections()
        }
        out["tests"] = [{"name": t.name, "code": t.code, "sources": list(t.sources)} for t in self.tests]
        return out

    def as_text(self) -> str:
        """Headed sections, one sentence a line (how ROUGE-Lsum reads a note, and how a doctor scans one)."""
        blocks = [f"{title.upper()}\n" + "\n".join(s.text for s in sentences) for title, sentences in self.sections()]
        return "\n\n".join(b for b, (_, sentences) in zip(blocks, self.sections(), strict=True) if sentences)


_MALE = re.compile(r"\b(?:\d+[- ]year[- ]old (?:male|man|gentleman|boy)|mr|sir|he|his|him)\b")
_FEMALE = re.compile(r"\b(?:\d+[- ]year[- ]old (?:female|woman|lady|girl)|mrs|ms|miss|ma'am|she|her)\b")
_STRONG = re.compile(r"year[- ]old|\bmrs?\b|\bms\b")


def patient_sex(lines: Iterable[Line]) -> str | None:
    """He or she, from how the doctor speaks of the patient ("a 58-year-old male", "Mrs. Shah"); None when the
    consult does not say, and the draft then writes "the patient"."""
    score = 0
    for line in lines:
        if line.speaker != "doctor":
            continue
        low = line.text.lower()
        for m in _MALE.finditer(low):
            score += 5 if _STRONG.search(m.group(0)) else 1
        for m in _FEMALE.finditer(low):
            score -= 5 if _STRONG.search(m.group(0)) else 1
    return "male" if score >= 2 else "female" if score <= -2 else None


_NO = re.compile(
    r"^(?:no|nope|nah|not really|not at all|never|none|negative|(?:i do|i have|i did) not(?=[,.!]|$))\b[,.!]?\s*"
)
_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|yes ma'am|yes sir|(?:i do|i have|i did|i am)(?=[,.!]|$)|correct|right|sometimes|"
    r"a little|a bit|definitely|absolutely|uh-huh|mm-hmm)\b[,.!]?\s*"
)
_PATIENT_DENIES = re.compile(
    r"^(?:i )?(?:do|did|have|has|had) not (?:have|had|get|got|gotten|notice|noticed|feel|felt|experience|"
    r"experienced|been having)\s+(?:any\s+)?(?P<t>[^,.;]+)[.]?$|^no (?P<n>[a-z][^,.;]+)[.]?$"
)
_STOP = frozenset(
    "a an the and or but so to of in on at for with is are was were be been it this that i you he she we they my "
    "your me him her them not no yes yeah okay ok just like really very do did does have has had well oh um uh "
    "know think right sure good great fine all what how when there here then too also about as if".split()
)
# Greetings and thanks: said in every consult, written in no note.
_PLEASANTRY = re.compile(
    r"^(?:to see you|nice to meet|good to see|thank|thanks|good (?:morning|afternoon|evening)|hi|hello|hey|bye|"
    r"see you|you too|no problem|sounds good|that sounds|i am (?:good|fine|doing (?:good|well|fine|okay))|"
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


def _content(text: str) -> int:
    return sum(1 for w in re.findall(r"[a-z0-9/.]+", text.lower()) if w not in _STOP)


class _Builder:
    """The sections as they are drafted, the same sentence said twice kept once with both sources."""

    def __init__(self) -> None:
        self.sections: dict[Section, list[Sentence]] = {"S": [], "O": [], "A": [], "P": []}
        self._seen: dict[tuple[Section, str], int] = {}

    def add(self, section: Section, text: str, sources: Sequence[int]) -> None:
        text = rewrite.sentence_case(text)
        if not text or not re.search(r"[A-Za-z0-9]", text):
            return
        key = (section, text.lower())
        if key in self._seen:
            i = self._seen[key]
            old = self.sections[section][i]
            merged = tuple(sorted(set(old.sources) | set(sources)))
            self.sections[section][i] = Sentence(old.text, merged)
            return
        self._seen[key] = len(self.sections[section])
        self.sections[section].append(Sentence(text, tuple(sorted(set(sources)))))


# What the doctor says to the room, the record system or the assistant, not about the patient: "show me the
# x-ray", "we will look at his labs", "I will do a quick exam", "I am Dr. …".
_PROCESS = re.compile(
    r"^(?:show me|pull up|bring up|open (?:up )?the|go to|(?:i|we) will (?:look|review|go|take a look|do a quick|"
    r"talk|check (?:you|him|her) out)|let us (?:look|review|go|take|talk)|(?:i|we) am going to (?:look|review|"
    r"examine)|i am (?:dr|doctor)|my name is)\b"
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


# What a denial's object must not hold: a pronoun or a verb makes it a statement ("no, I love McDonald's", "no,
# that is great"), not the thing denied.
_NOT_A_THING = re.compile(
    r"\b(?:i|me|my|you|your|he|she|it|we|they|them|his|her|their|that|this|there|is|am|are|was|were|do|does|did|"
    r"have|has|had|will|would|can|could|love|like|eat|think|know|want|said|say|mom|dad|mother|father)\b"
)


def denied(thing: str) -> str | None:
    """What a patient's "no X" or "I have not had X" denies, when X is a thing (at most six words, no pronoun or
    verb); None for a statement that only starts with "no"."""
    thing = thing.strip(" ,.")
    return thing if thing and len(thing.split()) <= 6 and not _NOT_A_THING.search(thing) else None


# "no cough, no runny nose": a list of things denied one by one.
_NO_LIST = re.compile(r"^no [^,.;]+(?:,? (?:and |or )?no [^,.;]+)+[.]?$")
_NO_ITEM = re.compile(r",? (?:and |or )?no ")
# A "no" that answers and is followed by a statement of its own: "no, I actually love running".
_NO_THEN = re.compile(r"^no,? (?=(?:i|it|that|we|he|she|they|but|actually|not|never)\b)")


def _denied_list(sentence: str) -> str | None:
    """ "no cough, no runny nose" → "denies cough, runny nose"; None unless every item is a thing denied."""
    if not _NO_LIST.match(sentence):
        return None
    things = [denied(t) for t in _NO_ITEM.split(sentence.rstrip(".")[3:])]
    return "denies " + ", ".join(t for t in things if t) if all(things) else None


def _patient_text(sentence: str, person: Person) -> str:
    if (m := _PATIENT_DENIES.match(sentence.removeprefix("i "))) and (thing := denied(m.group("t") or m.group("n"))):
        return "denies " + thing
    if listed := _denied_list(sentence):
        return listed
    return rewrite.third_person(_NO_THEN.sub("", sentence), person)


def symptom_pipeline() -> Any:
    """The triage reader's spaCy pipeline (core/triage/nlp.py), loaded on first use: call it at start-up to pay
    the half second then."""
    return nlp.pipeline()


def _negated_mentions(text: str) -> tuple[list[str], list[str]]:
    """Symptoms named in ``text``, read as triage reads them (lexicon, misspellings, NegEx): (affirmed, negated),
    each in the words used."""
    mentions = nlp.read(text[:2000]).mentions
    return [m.text for m in mentions if not m.negated], [m.text for m in mentions if m.negated]


_OPEN_QUESTION = re.compile(r"^(?:how|what|when|where|why|which|who)\b(?! about)")
_NO_AGAIN = re.compile(r"^(?:none of (?:that|those|them|these)|nothing like that|not at all|never|no,? no)\b")
_FAMILY = re.compile(
    r"\b(?:(?:in )?(?:your|his|her|the) family|family|mother|mom|father|dad|parents?|brothers?|sisters?|siblings?|"
    r"grand(?:mother|father|parents?|ma|pa)|relatives?|anyone in (?:your|the) family|aunts?|uncles?)\b"
)


def _symptoms(text: str) -> bool:
    """Whether a question names a symptom (the triage reader's lexicon): its answer belongs in the history."""
    affirmed, negated = _negated_mentions(text)
    return bool(affirmed or negated)


def _fold(question: str, answer: str, person: Person) -> tuple[str | None, str]:
    """A doctor's yes/no question and the first sentence of the answer as one statement ("Denies chest pain.")
    and what is left of the answer to draft on its own; (None, answer) when they do not fold."""
    if listed := _denied_list(answer):
        return listed, ""  # "no cough, no runny nose"
    no, yes = _NO.match(answer), _YES.match(answer)
    m = no or yes
    if m is None:
        return None, answer
    rest = answer[m.end() :].strip(" ,.")
    if _OPEN_QUESTION.match(question):
        return None, rest  # "how was the trip?" - "no, …" answers nothing a yes or no could fold
    about = rewrite.topic(question, person)
    if about is None:
        affirmed, negated = _negated_mentions(question)
        about = rewrite.second_to_third(" or ".join(affirmed + negated), person) or None
    if about is None:
        return None, rest
    if _FAMILY.search(question) and "family" not in about:
        about = f"family history of {_FAMILY.sub('', about).strip()}"  # the relatives' history, not the patient's
    if no:
        # "no, I do not have chest pain", "no, none of that": the rest only says the no again.
        again = rest.split(" ", 1)[0].strip(",") in about.split()  # "no, cough no…": the denied thing said again
        if _PATIENT_DENIES.match(rest.removeprefix("i ")) or _content(rest) <= 1 or _NO_AGAIN.match(rest) or again:
            return f"denies {about}", ""
        # "no, but my mom had breast cancer": a qualified no is drafted as said, not as a denial.
        return (None, rest) if _content(rest) >= 3 else (f"denies {about}", rest)
    if _content(rest) >= 3 or "," in about or " or " in about:
        return None, rest  # a yes to a list of symptoms does not say which one
    negated = _negated_mentions(rest)[1] if rest else []
    return (None, rest) if negated else (f"reports {about}", "")


def _lab_sentence(lab: LabResult) -> str:
    flag = {"H": "high", "L": "low", "HH": "critically high", "LL": "critically low", "A": "abnormal"}.get(
        (lab.flag or "").upper(), lab.flag or ""
    )
    value = f"{lab.value} {lab.unit}".strip()
    return f"{lab.test}: {value}" + (f" ({flag})" if flag else "") + f", reported {lab.reported_on.isoformat()}."


@dataclass(frozen=True, slots=True)
class Unit:
    """A sentence unit of the transcript, cleaned (core.notes.rewrite.clean) and split (core.notes.units)."""

    line: int
    speaker: Speaker
    text: str


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


KEEP_BELOW = 0.85  # a unit is drafted when the model's probability that it is in no section is below this


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


# "For your first problem, your congestive heart failure, …", "In terms of his diabetes, …": the doctor naming
# the problem the assessment and plan is about.
_PROBLEM = re.compile(
    r"^(?:so |now |and |okay )*(?:for|regarding|in terms of|with regards? to|as (?:for|far as)|moving on to|"
    r"let us talk about|talking about) (?:your|his|her|the patient's|the) (?:(?:first|second|third|next|last|other) )?"
    r"(?:problem|issue)?,? ?(?:of |is )?(?:your |his |her )?(?P<p>[a-z][a-z0-9' -]{2,50}?)"
    r"(?=,| i | we | you | it | he | she | that | which | so |$)"
)
_NOT_A_PROBLEM = re.compile(
    r"^(?:most|part|problem|issue|number|sake|now|today|moment|time|rest|record|next|first|second|third|last|other|"
    r"plan|question|purposes?|reason|way|case|most part|meantime|future|visit|results?|exam)\b"
)
_ONE_LINER = re.compile(r"\b\d+[- ]year[- ]old\b")


def _assessment_heads(out: _Builder, found: Sequence[Unit]) -> None:
    """The assessment headed as notes head it: the one-line summary of who the patient is and why they came (said
    in the history, repeated here), then each problem the doctor named while giving the plan."""
    heads: list[tuple[str, int]] = []
    summary = next((s for s in out.sections["S"] if _ONE_LINER.search(s.text)), None)
    for k, unit in enumerate(found):
        if unit.speaker != "doctor" or k < len(found) // 3:
            continue
        if (m := _PROBLEM.match(unit.text)) and (problem := denied(m.group("p"))):
            problem = re.sub(r"^(?:the|a|an|your|his|her)\s+", "", problem)
            if not _NOT_A_PROBLEM.match(problem) and re.search(r"[a-z]{4}", problem):
                heads.append((problem, unit.line))
    if summary is None and not heads:
        return
    made = _Builder()
    if summary is not None:
        made.add("A", summary.text, summary.sources)
    for problem, line in heads:
        made.add("A", problem, (line,))
    for sentence in out.sections["A"]:
        made.add("A", sentence.text, sentence.sources)
    out.sections["A"] = made.sections["A"]


def draft(lines: Sequence[Line], labs: Sequence[LabResult] = ()) -> Draft:
    """The SOAP draft for a consult; an empty transcript gives an empty draft (with the labs, if any)."""
    person = Person.of(patient_sex(lines))
    out = _Builder()
    found = units_of(lines)
    placed = sections_of(found)
    answered: dict[int, str] = {}  # unit index → what is left of an answer once folded with its question
    for k, unit in enumerate(found):
        section = placed[k]
        if unit.speaker == "doctor":
            if is_question(unit.text):
                after = found[k + 1] if k + 1 < len(found) else None
                if after is not None and after.speaker == "patient" and (section is not None or _symptoms(unit.text)):
                    folded, rest = _fold(unit.text, after.text, person)
                    if folded is not None:
                        out.add("S", folded, (unit.line, after.line))
                    answered[k + 1] = rest  # without its yes or no, which alone says nothing
            elif section is not None and not (section in "SO" and _PROCESS.match(unit.text)):
                out.add(section, _doctor_text(unit.text, person), (unit.line,))
            continue
        text = answered.get(k, unit.text)
        if section is None or not text or is_question(text) or _content(text) < 2:
            continue
        if _PLEASANTRY.match(text) and len(text.split()) < 10:
            continue
        out.add(section, _patient_text(text, person), (unit.line,))
    for lab in labs:
        out.add("O", _lab_sentence(lab), ())
    _assessment_heads(out, found)
    tests: dict[str, OrderedTest] = {}
    for planned in out.sections["P"]:
        for name, code in tests_named(planned.text):
            old = tests.get(name)
            sources = tuple(sorted(set(planned.sources) | set(old.sources if old else ())))
            tests[name] = OrderedTest(name, code, sources)
    s = out.sections
    return Draft(tuple(s["S"]), tuple(s["O"]), tuple(s["A"]), tuple(s["P"]), tuple(tests.values()))
